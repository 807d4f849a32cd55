"""Benchmark of the node's HTTP API: ``POST /screen`` and ``POST /decide`` under load, on a demo node.

A demo node (``vigichem.demo.build_demo_node``: a simulated year of a national supply chain, all data fake,
captured through the real capture path, detection run) is built once, in ``--node-dir`` or a temporary
directory. The server is uvicorn in a **subprocess** serving ``vigichem.api.create_app`` on loopback (one
worker, access log off); the load comes from this process with ``httpx`` over keep-alive connections,
authenticated by a bearer API token of the demo shop's clerk (scopes ``screen`` and ``decide``).

The requests (the same list for every mode, cycled):

* ``/screen``: names, CAS numbers, SMILES and mixtures of real chemicals, with and without a jurisdiction;
* ``/decide``: sales at the demo shop of the node's registered products, to buyers that have a history at
  that shop (so that the history rules read the ledger), timed on the last simulated day.

Figures, each the median over ``--repeat`` runs (latencies in milliseconds):

* ``in_process``: the same calls without HTTP (``vigichem.chem.screen``, ``Decider.decide``), one at a time:
  the floor that shows what HTTP, JSON and authentication add;
* ``asgi``: the same requests (and ``GET /health``) handed straight to the ASGI application in this process,
  one at a time, no network and no server: what the application adds per request (routing, dependencies,
  authentication, JSON), wall clock and the process's CPU time;
* ``fixed_rate``: an open loop offering ``--rate`` requests/s for ``--duration`` seconds. Each request is
  sent at its scheduled moment whatever happened to earlier ones, and its latency is counted **from that
  moment** (so a server that falls behind shows it; no coordinated omission);
* ``closed_loop``: ``--concurrency`` clients each sending its next request as soon as the previous answer
  arrives, for ``--duration`` seconds: the maximum throughput and its latencies.

The target of issue 5 is ``/decide`` p99 under 50 ms at 100 requests/s on SQLite (``target`` in the output).
Client and server share the machine: on 2 cores each takes about one. Wall-clock figures depend on the
machine and on other load; compare figures from the same run.

Usage: ``python benchmarks/bench_api.py [--days 365] [--duration 10] [--rate 100] [--concurrency 8]
[--repeat 3] [--node-dir DIR] [--quick] [--output FILE]``. ``--quick``: 60 days, 3 s, one repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import httpx

TARGET_P99_MS = 50.0
SCREEN_QUERIES: tuple[dict[str, Any], ...] = (
    {"query": "hydrogen peroxide 30%; water 70%", "jurisdiction": "EU"},
    {"query": "7722-84-1"},
    {"query": "acetone", "jurisdiction": "EU"},
    {"query": "CCN(CC)CCCl.Cl"},
    {"query": "ammonium nitrate 98.6%", "jurisdiction": "FR"},
    {"query": "CCO"},
    {"query": "111-48-8", "quantity": "2 t"},
    {"query": "potassium permanganate", "jurisdiction": "FR"},
    {"query": "nitric acid 65%; water 35%", "jurisdiction": "EU"},
    {"query": "sulfuric acid"},
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _summary(latencies: list[float], elapsed: float, errors: int) -> dict[str, Any]:
    """Milliseconds at p50/p99 and requests per second of one run."""
    if not latencies:
        return {"requests": 0, "errors": errors, "per_s": 0.0, "p50_ms": None, "p99_ms": None}
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * _percentile(latencies, 0.50), 2),
        "p99_ms": round(1000 * _percentile(latencies, 0.99), 2),
    }


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric figure as the median over the runs (errors: the sum)."""
    merged: dict[str, Any] = {}
    for key in runs[0]:
        values = [run[key] for run in runs if run[key] is not None]
        if key == "errors":
            merged[key] = sum(values)
        elif values and all(isinstance(value, int | float) for value in values):
            merged[key] = round(statistics.median(values), 2)
        else:
            merged[key] = runs[0][key]
    merged["repeats"] = len(runs)
    return merged


# ---- the node -------------------------------------------------------------------------------------------


def prepare_node(node_dir: Path, days: int, seed: int) -> dict[str, Any]:
    """Build the demo node; return what the load needs: token, payloads, figures of the node."""
    from sqlalchemy import select

    from vigichem.accounts import issue_token, list_users
    from vigichem.accounts import tables as account_tables
    from vigichem.demo import build_demo_node
    from vigichem.ledger.db import events
    from vigichem.ledger.masterdata import MasterData
    from vigichem.ledger.node import load_node

    started = time.perf_counter()
    demo = build_demo_node(node_dir, seed=seed, days=days)
    build_seconds = time.perf_counter() - started
    node = load_node(demo.settings, require_key=False)
    try:
        clerk = list_users(node.engine, account_tables.users.c.username == "clerk")[0]
        _, secret = issue_token(node.engine, clerk, "bench_api", ["screen", "decide"])
        masterdata = MasterData(node.engine)
        site = next(s for s in masterdata.sites() if s["organisation_id"] == demo.shop)
        products = masterdata.products()
        with node.engine.connect() as connection:
            buyers = connection.scalars(
                select(events.c.party_ref)
                .where(events.c.biz_location == site["location_uri"], events.c.party_ref.is_not(None))
                .distinct()
                .order_by(events.c.party_ref)
                .limit(40)
            ).all()
    finally:
        node.close()
    last_day = dt.date.fromisoformat(demo.manifest.start) + dt.timedelta(days=days - 1)
    moment = dt.datetime.combine(last_day, dt.time(15, 0), tzinfo=dt.UTC)
    sales = []
    for index in range(60):
        product = products[index % len(products)]
        unit = product.net_content.uom if product.net_content is not None else "KGM"
        sales.append(
            {
                "product": product.id,
                "quantity": 1 + index % 3,
                "unit": unit if unit in ("KGM", "LTR", "GRM", "MLT") else "KGM",
                "customer_type": "private",
                "party_ref": buyers[index % len(buyers)] if buyers else None,
                "payment": ("card", "cash", "bank_transfer")[index % 3],
                "site": site["id"],
                "time": (moment - dt.timedelta(minutes=7 * index)).isoformat(),
                "jurisdiction": "FR",
            }
        )
    return {
        "settings": demo.settings,
        "token": secret,
        "site_location": site["location_uri"],
        "sales": sales,
        "node": {
            "days": days,
            "seed": seed,
            "events": demo.events_captured,
            "alerts": demo.alerts,
            "cases": demo.cases_opened,
            "build_seconds": round(build_seconds, 1),
            "build_steps": {t.step: round(t.seconds, 2) for t in demo.timings},
            "products": len(products),
            "buyers_with_history": len(buyers),
        },
    }


# ---- in process -----------------------------------------------------------------------------------------


def in_process(prepared: dict[str, Any], duration: float) -> dict[str, dict[str, Any]]:
    """Latency and throughput of the same calls without HTTP, one at a time, for ``duration`` s each."""
    from vigichem.chem import screen
    from vigichem.detect.decide import Decider, parse_proposed_sale
    from vigichem.ledger.node import load_node

    node = load_node(prepared["settings"], require_key=False)
    try:
        decider = Decider(node.engine)
        sales = [
            parse_proposed_sale({**sale, "site": prepared["site_location"]}) for sale in prepared["sales"]
        ]

        def screen_one(index: int) -> None:
            query = SCREEN_QUERIES[index % len(SCREEN_QUERIES)]
            screen(query["query"], query.get("jurisdiction"), None, query.get("quantity"))

        def decide_one(index: int) -> None:
            decider.decide(sales[index % len(sales)]).to_dict()

        figures = {}
        for name, call in (("screen", screen_one), ("decide", decide_one)):
            for index in range(20):  # warm caches (knowledge base, catalogue) as the server's are
                call(index)
            figures[name] = _timed_loop(call, duration)
        return figures
    finally:
        node.close()


def _timed_loop(call: Callable[[int], None], duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    started = time.perf_counter()
    index = 0
    while time.perf_counter() - started < duration:
        begin = time.perf_counter()
        call(index)
        latencies.append(time.perf_counter() - begin)
        index += 1
    return _summary(latencies, time.perf_counter() - started, 0)


# ---- through ASGI, in process ---------------------------------------------------------------------------


def through_asgi(prepared: dict[str, Any], duration: float) -> dict[str, dict[str, Any]]:
    """Per-request latency and CPU time of the app itself: ASGI calls in this process, one at a time."""
    from vigichem.api import create_app
    from vigichem.ledger.node import load_node

    node = load_node(prepared["settings"], require_key=False)
    app = create_app(prepared["settings"], node)
    authorization = f"Bearer {prepared['token']}".encode()

    async def call(method: str, path: str, body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"bench"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", authorization),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        received = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # never disconnects
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    async def measure() -> dict[str, dict[str, Any]]:
        figures = {}
        cases = (
            ("health", "GET", "/health", [b""]),
            ("screen", "POST", "/screen", [json.dumps(q).encode() for q in SCREEN_QUERIES]),
            ("decide", "POST", "/decide", [json.dumps(sale).encode() for sale in prepared["sales"]]),
        )
        for name, method, path, bodies in cases:
            for body in bodies:  # warm-up; every request must succeed
                if (status := await call(method, path, body)) != 200:
                    raise RuntimeError(f"{path} answered {status} through ASGI")
            latencies: list[float] = []
            started, cpu_started = time.perf_counter(), time.process_time()
            while time.perf_counter() - started < duration:
                begin = time.perf_counter()
                await call(method, path, bodies[len(latencies) % len(bodies)])
                latencies.append(time.perf_counter() - begin)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            figures[name] = _summary(latencies, elapsed, 0)
            figures[name]["cpu_ms"] = round(1000 * cpu / len(latencies), 3)
        return figures

    try:
        return asyncio.run(measure())
    finally:
        node.close()


# ---- over HTTP ------------------------------------------------------------------------------------------


class Server:
    """uvicorn serving the node in a subprocess (this script with ``--serve``)."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("VIGICHEM_")}
        env["VIGICHEM_DATA_DIR"] = str(data_dir)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self._stderr()}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not answer within 60 s")

    def _stderr(self) -> str:
        return self.process.stderr.read().decode(errors="replace")[-2000:] if self.process.stderr else ""

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(port: int) -> None:
    """The server side: the node named by VIGICHEM_DATA_DIR on uvicorn (access log off)."""
    import uvicorn

    from vigichem.api import create_app
    from vigichem.settings import Settings

    # Keep-alive connections wait between the modes; uvicorn's 5 s default would close them under the client.
    uvicorn.run(
        create_app(Settings()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,
    )


async def _send(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> bool:
    """Whether the request got a 200 (a broken connection is a failed request, counted, not a crash)."""
    try:
        response = await client.post(path, json=body)
    except httpx.TransportError:
        return False
    return response.status_code == 200


async def fixed_rate(
    client: httpx.AsyncClient, path: str, bodies: Sequence[dict[str, Any]], rate: float, duration: float
) -> dict[str, Any]:
    """Open loop: request ``i`` leaves at ``start + i / rate``; latency counted from that moment."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0

    async def one(index: int, scheduled: float) -> None:
        nonlocal errors
        ok = await _send(client, path, bodies[index % len(bodies)])
        latencies.append(loop.time() - scheduled)
        errors += not ok

    total = int(rate * duration)
    start = loop.time() + 0.05
    tasks = []
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, scheduled)))
    await asyncio.gather(*tasks)
    result = _summary(latencies, loop.time() - start, errors)
    result["offered_per_s"] = rate
    return result


async def closed_loop(
    client: httpx.AsyncClient, path: str, bodies: Sequence[dict[str, Any]], concurrency: int, duration: float
) -> dict[str, Any]:
    """``concurrency`` clients, each sending its next request when the previous answer arrives."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    start = loop.time()
    counter = 0

    async def worker() -> None:
        nonlocal errors, counter
        while loop.time() - start < duration:
            index = counter
            counter += 1
            begin = loop.time()
            ok = await _send(client, path, bodies[index % len(bodies)])
            latencies.append(loop.time() - begin)
            errors += not ok

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result = _summary(latencies, loop.time() - start, errors)
    result["concurrency"] = concurrency
    return result


async def over_http(
    url: str, token: str, sales: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """One run of both modes on both endpoints."""
    limits = httpx.Limits(max_connections=max(args.concurrency, 200), max_keepalive_connections=200)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        figures: dict[str, Any] = {}
        for name, path, bodies in (("screen", "/screen", list(SCREEN_QUERIES)), ("decide", "/decide", sales)):
            for body in bodies:  # warm-up, and every request must succeed before it is timed
                response = await client.post(path, json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:500]}")
            figures[name] = {
                "fixed_rate": await fixed_rate(client, path, bodies, args.rate, args.duration),
                "closed_loop": await closed_loop(client, path, bodies, args.concurrency, args.duration),
            }
        return figures


# ---- main -----------------------------------------------------------------------------------------------


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=365, help="simulated days of history (default 365)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--rate", type=float, default=100.0, help="offered requests/s of the fixed-rate mode")
    parser.add_argument("--concurrency", type=int, default=8, help="clients of the closed-loop mode")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is reported)")
    parser.add_argument("--node-dir", type=Path, default=None, help="build the demo node here (rebuilt)")
    parser.add_argument("--quick", action="store_true", help="60 days, 3 s runs, one repeat")
    parser.add_argument("--output", type=Path, default=None, help="also write the JSON to this file")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.days, args.duration, args.repeat = min(args.days, 60), min(args.duration, 3.0), 1
    if args.duration <= 0 or args.rate <= 0 or args.concurrency < 1 or args.repeat < 1 or args.days < 1:
        parser.error("--duration, --rate, --concurrency, --repeat and --days must be positive")
    return args


def run(args: argparse.Namespace, node_dir: Path) -> dict[str, Any]:
    """Build, measure, and return the figures as one JSON-able object."""
    prepared = prepare_node(node_dir, args.days, args.seed)
    baseline_runs = [in_process(prepared, args.duration) for _ in range(args.repeat)]
    asgi_runs = [through_asgi(prepared, args.duration) for _ in range(args.repeat)]
    server = Server(prepared["settings"].data_dir)
    try:
        http_runs = [
            asyncio.run(over_http(server.url, prepared["token"], prepared["sales"], args))
            for _ in range(args.repeat)
        ]
    finally:
        server.stop()
    result: dict[str, Any] = {
        "benchmark": "api",
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "config": {
            "duration_s": args.duration,
            "rate_per_s": args.rate,
            "concurrency": args.concurrency,
            "repeat": args.repeat,
            "database": "sqlite",
        },
        "node": prepared["node"],
    }
    for name in ("screen", "decide"):
        base = _median_of([run[name] for run in baseline_runs])
        rate = _median_of([run[name]["fixed_rate"] for run in http_runs])
        closed = _median_of([run[name]["closed_loop"] for run in http_runs])
        result[name] = {
            "in_process": base,
            "asgi": _median_of([run[name] for run in asgi_runs]),
            "fixed_rate": rate,
            "closed_loop": closed,
            "http_overhead_p50_ms": round(rate["p50_ms"] - base["p50_ms"], 2),
        }
    result["health"] = {"asgi": _median_of([run["health"] for run in asgi_runs])}
    p99 = result["decide"]["fixed_rate"]["p99_ms"]
    result["target"] = {
        "what": f"/decide p99 at {args.rate:g} requests/s on SQLite",
        "p99_ms": p99,
        "limit_ms": TARGET_P99_MS,
        "met": p99 is not None and p99 < TARGET_P99_MS and result["decide"]["fixed_rate"]["errors"] == 0,
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one JSON object; exit 1 when a request failed."""
    args = _parse(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    if args.node_dir is not None:
        result = run(args, args.node_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-api-") as directory:
            result = run(args, Path(directory) / "node")
    text = json.dumps(result, indent=2)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    errors = sum(
        result[name][mode]["errors"]
        for name in ("screen", "decide")
        for mode in ("fixed_rate", "closed_loop")
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
