"""CLI command ``vigichem serve``: the node's API and web interface on uvicorn.

The settings are read from the environment (``VIGICHEM_*``); outside development mode they refuse the default
secret, which ends the command with exit code 2 and the reason, before anything listens.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigichem.cli.common import fail
from vigichem.errors import VigichemError

if TYPE_CHECKING:
    from vigichem.settings import Settings

__all__ = ["check_port", "register", "run_server", "serving_settings"]

HostOption = Annotated[str, typer.Option(help="interface to listen on")]
PortOption = Annotated[int, typer.Option(help="TCP port", min=1, max=65535)]


def serving_settings(data_dir: Path | None) -> Settings:
    """The environment's settings (``data_dir`` replacing the data directory); a refusal exits with 2."""
    from vigichem.settings import Settings

    try:
        # Not the cached get_settings(): a serve (or a test) must see the environment as it is now.
        settings = Settings()
    except VigichemError as error:
        raise fail(error.message) from None
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def check_port(host: str, port: int) -> None:
    """Exit with 2 now if ``host:port`` cannot be listened on (in use, or not an address of this machine)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind((host, port))
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def run_server(settings: Settings, host: str, port: int) -> None:
    """Serve the node of ``settings`` until interrupted; a missing or broken node exits with 2 first."""
    import uvicorn

    from vigichem.api import create_app
    from vigichem.ledger.node import load_node

    try:
        # Opened once here so that a wrong data directory is a clean error, not a 500 on the first request.
        load_node(settings, require_key=False).close()
    except VigichemError as error:
        raise fail(error.message) from None
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def serve_command(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="node data directory (default: VIGICHEM_DATA_DIR)")
    ] = None,
) -> None:
    """Serve the node's API (OpenAPI at /docs) and web interface until Ctrl-C."""
    settings = serving_settings(data_dir)
    check_port(host, port)
    typer.echo(f"serving the node in {settings.data_dir} on http://{host}:{port} ({settings.mode} mode)")
    run_server(settings, host, port)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``vigichem`` app."""
    app.command("serve")(serve_command)
