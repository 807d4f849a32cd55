"""``vigichem demo --no-serve`` and ``vigichem serve``: logins printed, refusals, a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from vigichem.cli import app
from vigichem.demo import LOGINS_FILE
from vigichem.ledger.node import init_node
from vigichem.settings import get_settings

VIGICHEM = Path(sys.executable).parent / "vigichem"


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("VIGICHEM_DATABASE_URL", "VIGICHEM_MODE", "VIGICHEM_SECRET_KEY", "VIGICHEM_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def test_demo_no_serve_builds_and_prints_every_login(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = _run("demo", "--data-dir", str(target), "--days", "20", "--no-serve")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ALL DATA IS FAKE" in out
    assert f"vigichem serve --data-dir {target}" in out
    logins = [
        line.split("\t")
        for line in (target / LOGINS_FILE).read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    assert {row[2] for row in logins} == {
        "operator_clerk",
        "operator_compliance",
        "authority_analyst",
        "authority_admin",
        "node_admin",
    }
    for username, password, role, *_ in logins:
        assert username in out and password in out and role in out


def test_demo_refuses_a_directory_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious", encoding="utf-8")
    result = _run("demo", "--data-dir", str(tmp_path), "--days", "20", "--no-serve")
    assert result.exit_code == 2
    assert "not empty and is not a demo node" in result.output
    assert (tmp_path / "thesis.tex").read_text(encoding="utf-8") == "precious"


def test_demo_refuses_a_bad_start_date(tmp_path: Path) -> None:
    result = _run("demo", "--data-dir", str(tmp_path / "d"), "--start", "2023-13-01", "--no-serve")
    assert result.exit_code == 2 and "--start '2023-13-01' is not a date" in result.output
    assert not (tmp_path / "d").exists()


def test_serve_refuses_the_default_secret_in_production(tmp_path: Path) -> None:
    init_node(tmp_path / "node", "Test node", "FR").close()
    result = _run(
        "serve", "--data-dir", str(tmp_path / "node"), "--port", "1", env={"VIGICHEM_MODE": "production"}
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: VIGICHEM_SECRET_KEY must be set to a non-default value outside development mode"
    )


def test_serve_refuses_a_directory_without_a_node(tmp_path: Path) -> None:
    result = _run("serve", "--data-dir", str(tmp_path / "missing"), "--port", "1")
    assert result.exit_code == 2
    assert "error: " in result.output and "vigichem init" in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_runs_a_server_process_on_loopback(tmp_path: Path) -> None:
    init_node(tmp_path / "node", "Test node", "FR").close()
    port = _free_port()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("VIGICHEM_")},
        "VIGICHEM_MODE": "production",
        "VIGICHEM_SECRET_KEY": "a-test-secret-for-this-process-only",
    }
    command = [str(VIGICHEM), "serve", "--data-dir", str(tmp_path / "node"), "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health = None
        for _ in range(300):  # up to ~30 s for the interpreter and the app to start on a loaded machine
            if server.poll() is not None:
                break
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            break
        assert health is not None, server.stdout.read().decode() if server.stdout else ""
        assert health.status_code == 200 and health.json()["status"] == "ok"
        document = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert document["info"]["title"] == "vigichem"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal (exit status -15).
    assert server.returncode in (0, -15)
    text = output.decode(errors="replace")
    assert "production mode" in text and "Finished server process" in text


def test_a_port_in_use_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    init_node(tmp_path / "node", "Test node", "FR").close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        demo = _run("demo", "--data-dir", str(tmp_path / "demo"), "--port", port)
        serve = _run("serve", "--data-dir", str(tmp_path / "node"), "--port", port)
    for result in (demo, serve):
        assert result.exit_code == 2
        assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert not (tmp_path / "demo").exists()
