"""What every command module of the CLI shares: exit codes, the output format option, errors, the node.

Exit codes: 0 success; 1 a check that ran and failed (``verify``, ``cases audit --verify``); 2 input that
cannot be used (a bad option or file, an unknown object, no node).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigichem.errors import VigichemError

if TYPE_CHECKING:
    from vigichem.ledger.node import Node

EXIT_FAILED = 1
EXIT_UNUSABLE = 2


class OutputFormat(StrEnum):
    """How results are printed."""

    table = "table"
    json = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="table or json")]


def fail(message: str, details: dict[str, Any] | None = None, code: int = EXIT_UNUSABLE) -> typer.Exit:
    """Print ``message`` (and the per-item ``details["errors"]``, if any) on stderr; the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    for item in (details or {}).get("errors", [])[:50]:
        where = item.get("path") or f"line {item.get('line')}, column {item.get('column')}"
        typer.echo(f"  {where}: {item.get('message')}", err=True)
    return typer.Exit(code)


@contextmanager
def opened_node(require_key: bool = False) -> Iterator[Node]:
    """The node the settings name, closed afterwards; a missing or broken node exits with code 2.

    The ledger is imported here, not at module level, so that ``vigichem --help`` stays quick.
    """
    from vigichem.ledger.node import load_node
    from vigichem.settings import get_settings

    try:
        node = load_node(get_settings(), require_key=require_key)
    except VigichemError as error:
        raise fail(error.message) from None
    try:
        yield node
    finally:
        node.close()


__all__ = ["EXIT_FAILED", "EXIT_UNUSABLE", "FormatOption", "OutputFormat", "fail", "opened_node"]
