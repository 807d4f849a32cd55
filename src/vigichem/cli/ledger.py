"""CLI commands of the custody ledger: init, capture, verify, events, checkpoint, proof.

The node is the one the settings name (``VIGICHEM_DATA_DIR``, ``VIGICHEM_DATABASE_URL``).

Exit codes: 0 success; 1 when ``verify`` finds a discrepancy or a proof does not hold; 2 when input is
unusable (a rejected capture file, a bad option, no node).
"""

from __future__ import annotations

import base64
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from vigichem.cli.common import EXIT_FAILED, EXIT_UNUSABLE, FormatOption, OutputFormat, fail, opened_node
from vigichem.errors import InputTooLarge, InvalidInput, ProofError, VigichemError
from vigichem.ledger import merkle, service
from vigichem.ledger.checkpoints import signature_valid
from vigichem.ledger.models import CaptureResult, Checkpoint
from vigichem.ledger.node import Node, init_node
from vigichem.ledger.pipeline import capture_many, default_workers
from vigichem.ledger.query import EventQuery, event_for_output, query_document, run_query
from vigichem.ledger.store import LedgerStore
from vigichem.settings import get_settings

__all__ = ["register"]

PROGRESS_FROM_FILES = 10  # below this many files a progress bar is noise


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def init_command(
    name: Annotated[str, typer.Option(help="Name of this node (organisation or authority).")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code, e.g. MA.")],
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default: VIGICHEM_DATA_DIR).")
    ] = None,
) -> None:
    """Create a node: data directory, database, Ed25519 key and identity."""
    settings = get_settings()
    try:
        node = init_node(data_dir or settings.data_dir, name, country, database_url=settings.database_url)
    except VigichemError as error:
        raise fail(error.message) from None
    typer.echo(f"node {node.identity.name!r} ({node.identity.country}) created in {node.data_dir}")
    typer.echo(f"key {node.identity.key_id}, public key {_b64(node.identity.public_key)}")
    node.close()


def _read_document(path: Path, limit: int) -> bytes | VigichemError:
    """The file's bytes, or the error that rejects it before parsing (unreadable, above the limit)."""
    try:
        size = path.stat().st_size
        if size > limit:  # refuse before reading a huge file into memory
            return InputTooLarge(
                f"{path} is {size} bytes, above the limit of {limit} (VIGICHEM_MAX_DOCUMENT_BYTES)",
                details={"size_bytes": size, "limit_bytes": limit},
            )
        return path.read_bytes()
    except OSError as error:
        return InvalidInput(f"cannot read {path}: {error.strerror}")


def _capture_reports(node: Node, files: list[Path], limit: int, workers: int) -> Iterator[dict[str, Any]]:
    """One report per file, in file order; documents are prepared in ``workers`` processes."""
    # Files rejected before parsing wait in ``order`` so that reports come out in the files' order.
    order: deque[tuple[Path, VigichemError | None]] = deque()

    def readable() -> Iterator[bytes]:
        for path in files:
            content = _read_document(path, limit)
            if isinstance(content, VigichemError):
                order.append((path, content))
            else:
                order.append((path, None))
                yield content

    def report(path: Path, outcome: CaptureResult | VigichemError) -> dict[str, Any]:
        if isinstance(outcome, VigichemError):
            return {"file": str(path), "error": outcome.to_dict()}
        return {"file": str(path), **outcome.to_dict()}

    for outcome in capture_many(node.store, readable(), signer=node.signer, max_bytes=limit, workers=workers):
        while order and order[0][1] is not None:
            path, error = order.popleft()
            assert error is not None
            yield report(path, error)
        path, _ = order.popleft()
        yield report(path, outcome)
    while order:
        path, error = order.popleft()
        assert error is not None
        yield report(path, error)


def capture_command(
    files: Annotated[list[Path], typer.Argument(help="EPCIS 2.0 JSON/JSON-LD documents.")],
    output: FormatOption = OutputFormat.table,
    workers: Annotated[
        int, typer.Option(help="Processes preparing documents (0: one per spare CPU).", min=0)
    ] = 0,
) -> None:
    """Capture EPCIS documents (each all-or-nothing); exit 2 when any file was rejected."""
    console = Console()
    rejected = 0
    limit = get_settings().max_document_bytes
    # A process pool only pays off over many files.
    count = (workers or default_workers()) if len(files) >= PROGRESS_FROM_FILES else 1
    with (
        opened_node(require_key=True) as node,
        Progress(
            console=Console(stderr=True), transient=True, disable=len(files) < PROGRESS_FROM_FILES
        ) as progress,
    ):
        task = progress.add_task("capturing", total=len(files))
        for report in _capture_reports(node, files, limit, count):
            rejected += "error" in report
            _print_capture(console, report, output)
            progress.advance(task)
    if rejected:
        raise typer.Exit(EXIT_UNUSABLE)


def _print_capture(console: Console, report: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(json.dumps(report))
        return
    error = report.get("error")
    if error is None:
        console.print(
            f"[green]ok[/green] {report['file']}: {len(report['new'])} new, "
            f"{len(report['duplicates'])} duplicate(s), log size {report['treeSize']}",
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(
        f"[red]rejected[/red] {report['file']}: {error['message']}", highlight=False, soft_wrap=True
    )
    for item in (error.get("details") or {}).get("errors", []):
        console.print(f"  {item.get('path', '')}: {item.get('message', '')}", highlight=False, markup=False)


def verify_command(
    output: FormatOption = OutputFormat.table,
    workers: Annotated[
        int, typer.Option(help="Processes checking the ledger in parallel (0: one per CPU).", min=0)
    ] = 0,
) -> None:
    """Recompute the whole ledger from storage; exit 1 naming the first event that does not verify."""
    with opened_node(require_key=False) as node:
        report = service.verify(node.store, node.identity.public_key, workers=workers or None)
    if output is OutputFormat.json:
        typer.echo(json.dumps(report.to_dict()))
    elif report.ok:
        typer.echo(
            f"ok: {report.tree_size} events, root {_b64(report.root)}, "
            f"{report.checkpoints_checked} signed checkpoint(s) checked"
        )
    if not report.ok:
        assert report.discrepancy is not None
        d = report.discrepancy
        if output is OutputFormat.table:
            typer.echo(f"FAILED ({d.kind}): {d.message}", err=True)
            typer.echo(f"  seq: {d.seq}  hash ID: {d.hash_id}", err=True)
        raise typer.Exit(EXIT_FAILED)


def events_command(
    event_type: Annotated[list[str] | None, typer.Option("--type", help="eventType (repeatable).")] = None,
    biz_step: Annotated[str | None, typer.Option(help="EQ_bizStep (bare CBV word or URI).")] = None,
    disposition: Annotated[str | None, typer.Option(help="EQ_disposition.")] = None,
    biz_location: Annotated[str | None, typer.Option(help="EQ_bizLocation.")] = None,
    epc_class: Annotated[str | None, typer.Option(help="MATCH_epcClass (URI or idpat pattern).")] = None,
    since: Annotated[str | None, typer.Option(help="GE_eventTime (ISO 8601 with offset).")] = None,
    until: Annotated[str | None, typer.Option(help="LT_eventTime (ISO 8601 with offset).")] = None,
    param: Annotated[list[str] | None, typer.Option(help="Any EPCIS query parameter, NAME=VALUE.")] = None,
    limit: Annotated[int, typer.Option(help="Most events to print.", min=1)] = 1000,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Query events with EPCIS 2.0 parameters; JSON prints an EPCISQueryDocument."""
    params: dict[str, list[str]] = {"perPage": [str(limit)]}
    for name, value in (
        ("EQ_bizStep", biz_step),
        ("EQ_disposition", disposition),
        ("EQ_bizLocation", biz_location),
        ("MATCH_epcClass", epc_class),
        ("GE_eventTime", since),
        ("LT_eventTime", until),
    ):
        if value is not None:
            params[name] = [value]
    if event_type:
        params["eventType"] = list(event_type)
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise fail(f"--param {item!r} is not NAME=VALUE")
        params.setdefault(name, []).append(value)
    with opened_node(require_key=False) as node:
        try:
            page = run_query(node.store, EventQuery.from_params(params))
        except VigichemError as error:
            raise fail(error.message) from None
    if output is OutputFormat.json:
        typer.echo(json.dumps(query_document(page), ensure_ascii=False))
        return
    table = Table()
    for header in ("seq", "type", "action"):
        table.add_column(header, no_wrap=True)
    for header in ("eventTime", "bizStep", "bizLocation", "quantities", "hash ID"):
        table.add_column(header, overflow="fold")  # wrap long URIs rather than cut them
    for stored in page.events:
        event = event_for_output(stored)
        quantities = "; ".join(
            f"{q.get('quantity', '')} {q.get('uom', '')} {q.get('epcClass', '')}".strip()
            for q in event.get("quantityList", [])
        )
        location = (
            event.get("bizLocation", {}).get("id", "") if isinstance(event.get("bizLocation"), dict) else ""
        )
        table.add_row(
            str(stored.seq),
            str(event.get("type", "")),
            str(event.get("action", "")),
            str(event.get("eventTime", "")),
            str(event.get("bizStep", "")),
            location,
            quantities,
            stored.hash_id,
        )
    Console().print(table)
    if page.next_page_token is not None:
        typer.echo(f"(more events: raise --limit; shown {len(page.events)})", err=True)


def checkpoint_command() -> None:
    """Sign a checkpoint of the log as it is now and print it (JSON)."""
    with opened_node(require_key=True) as node:
        signer = node.signer
        assert signer is not None  # opened_node(require_key=True) guarantees the key
        head = service.checkpoint(node.store, signer)
        typer.echo(json.dumps({"checkpoint": head.to_dict(), "node": node.identity.to_dict()}))


def _checkpoint_from_json(data: dict[str, Any]) -> Checkpoint:
    stamp = str(data["time"]).removesuffix("Z")
    return Checkpoint(
        tree_size=int(data["treeSize"]),
        root=base64.b64decode(data["root"]),
        time=datetime.fromisoformat(stamp),
        signature=base64.b64decode(data["signature"]),
        key_id=str(data["keyId"]),
    )


def _fetch(url: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx ships with the dev extras
        raise fail("fetching proofs from a node needs httpx: pip install httpx") from None
    try:
        # The node's API admits ledger readers only: an API token with ledger:read, from the environment.
        token = os.environ.get("VIGICHEM_API_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(url.rstrip("/") + path, params=params, headers=headers, timeout=30)
    except httpx.HTTPError as error:
        raise fail(f"cannot reach {url}: {error}") from None
    payload: dict[str, Any] = response.json()
    if response.status_code != 200:
        problem = payload.get("error", {})
        raise fail(f"{url}{path}: {problem.get('message', response.text)}")
    return payload


def _trusted_head(url: str | None, public_key: str | None) -> tuple[Checkpoint, bytes]:
    """The signed checkpoint to check proofs against, with its signature verified."""
    if url is None:
        with opened_node(require_key=True) as node:
            signer = node.signer
            assert signer is not None
            latest = node.store.latest_checkpoint()
            size, _root = node.store.log_state()
            head = (
                latest
                if latest is not None and latest.tree_size == size
                else service.checkpoint(node.store, signer)
            )
            key = node.identity.public_key
    else:
        payload = _fetch(url, "/checkpoint", {})
        head = _checkpoint_from_json(payload["checkpoint"])
        key = base64.b64decode(payload["node"]["publicKey"])
    if public_key is not None and base64.b64decode(public_key) != key:
        raise fail("the node's public key is not the one given with --public-key", code=EXIT_FAILED)
    if not signature_valid(head, key):
        raise fail("the checkpoint's signature does not verify", code=EXIT_FAILED)
    return head, key


def _proof_data(
    url: str | None, path: str, params: dict[str, Any], compute: Callable[[LedgerStore], dict[str, Any]]
) -> dict[str, Any]:
    """A proof as JSON: fetched from the node at ``url``, or computed from the local node's store."""
    if url is not None:
        return _fetch(url, path, params)
    with opened_node(require_key=True) as node:
        try:
            return compute(node.store)
        except VigichemError as error:
            raise fail(error.message) from None


UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="A running node's API (default: the local node); an API token with ledger:read goes in "
        "VIGICHEM_API_TOKEN.",
    ),
]
KeyOption = Annotated[str | None, typer.Option(help="Pin the node's Ed25519 public key (base64).")]


def proof_inclusion_command(
    hash_id: Annotated[str, typer.Argument(help="The event's hash ID.")],
    url: UrlOption = None,
    public_key: KeyOption = None,
) -> None:
    """Fetch (or compute) an inclusion proof for the latest signed checkpoint and check it (RFC 9162)."""
    head, _key = _trusted_head(url, public_key)
    data = _proof_data(
        url,
        "/proof/inclusion",
        {"hashId": hash_id, "treeSize": head.tree_size},
        lambda store: service.inclusion_proof(store, hash_id, head.tree_size).to_dict(),
    )
    proof = [base64.b64decode(item) for item in data["proof"]]
    try:
        merkle.verify_inclusion(
            merkle.event_leaf_hash(hash_id), int(data["leafIndex"]), head.tree_size, proof, head.root
        )
    except ProofError as error:
        raise fail(f"inclusion proof does not hold: {error.message}", code=EXIT_FAILED) from None
    typer.echo(
        f"ok: {hash_id} is leaf {data['leafIndex']} of the signed tree of {head.tree_size} "
        f"(root {_b64(head.root)}, {len(proof)} proof hashes)"
    )


def proof_consistency_command(
    size1: Annotated[int, typer.Argument(help="The older tree size.", min=1)],
    old_root: Annotated[str | None, typer.Option(help="The root you recorded at size1 (base64).")] = None,
    url: UrlOption = None,
    public_key: KeyOption = None,
) -> None:
    """Check that the latest signed tree extends the tree of SIZE1 (RFC 9162 consistency proof)."""
    head, _key = _trusted_head(url, public_key)
    data = _proof_data(
        url,
        "/proof/consistency",
        {"size1": size1, "size2": head.tree_size},
        lambda store: service.consistency_proof(store, size1, head.tree_size).to_dict(),
    )
    root1 = base64.b64decode(old_root) if old_root is not None else base64.b64decode(data["root1"])
    proof = [base64.b64decode(item) for item in data["proof"]]
    try:
        merkle.verify_consistency(size1, head.tree_size, proof, root1, head.root)
    except ProofError as error:
        raise fail(f"consistency proof does not hold: {error.message}", code=EXIT_FAILED) from None
    pinned = "" if old_root is not None else " (root at size1 taken from the node; pass --old-root to pin it)"
    typer.echo(f"ok: the signed tree of {head.tree_size} extends the tree of {size1}{pinned}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `vigichem` app."""
    app.command("init")(init_command)
    app.command("capture")(capture_command)
    app.command("verify")(verify_command)
    app.command("events")(events_command)
    app.command("checkpoint")(checkpoint_command)
    proof = typer.Typer(help="RFC 9162 proofs: fetch or compute, then check.", no_args_is_help=True)
    proof.command("inclusion")(proof_inclusion_command)
    proof.command("consistency")(proof_consistency_command)
    app.add_typer(proof, name="proof")
