"""CLI commands of accounts: ``vigichem users add|list|disable|passwd`` and ``tokens issue|list|revoke``.

They act on the node the settings name, as its operator on the machine (no login: whoever can run them can
read the database anyway). Passwords are read from standard input with ``--password-stdin`` or prompted twice
without echo; a token's secret is printed once and never stored.

Exit codes: 0 success; 2 when input is unusable (an unknown user or token, a taken username, a short
password, a role that does not fit its organisation, a bad date, no node).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from vigichem.cli.common import FormatOption, OutputFormat, fail, opened_node
from vigichem.errors import VigichemError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from vigichem.accounts import User

__all__ = ["register"]

users_app = typer.Typer(
    help="Accounts of the node: add, list, disable, change a password.", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens for machines: issue, list, revoke.", no_args_is_help=True)

PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input (one line)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON (same as --format json)")]


@contextmanager
def _engine() -> Iterator[Engine]:
    """The node's engine; a domain error inside the block exits with 2 and its message."""
    with opened_node() as node:
        try:
            yield node.engine
        except VigichemError as error:
            raise fail(error.message) from None


def _password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or typed twice without echo."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise fail("--password-stdin: standard input held no password")
        return line
    typed: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return typed


def _find_user(engine: Engine, username: str) -> User:
    from vigichem.accounts import list_users
    from vigichem.accounts import tables as t
    from vigichem.errors import NotFound

    found = list_users(engine, t.users.c.username == username.strip().lower())
    if not found:
        raise NotFound(f"no user {username!r}")
    return found[0]


@users_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="login name: 3-64 of a-z 0-9 . _ -")],
    role: Annotated[
        str,
        typer.Option(
            help="operator_clerk, operator_compliance, authority_analyst, authority_admin or node_admin"
        ),
    ],
    organisation: Annotated[
        str | None, typer.Option(help="master-data organisation id (none for node_admin)")
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="name shown in the interface")] = None,
    language: Annotated[str, typer.Option(help="interface language: en or fr")] = "en",
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Create an account."""
    from vigichem.accounts import create_user

    password = _password(password_stdin)
    with _engine() as engine:
        user = create_user(
            engine,
            username,
            password,
            role,
            organisation=organisation,
            display_name=display_name,
            language=language,
        )
    where = f" of {user.organisation}" if user.organisation else ""
    typer.echo(f"user {user.username} created (id {user.id}, {user.role}{where})")


@users_app.command("list")
def list_command(output: FormatOption = OutputFormat.table, as_json: JsonOption = False) -> None:
    """List the accounts, oldest first."""
    from vigichem.accounts import list_users

    with _engine() as engine:
        users = list_users(engine)
    if as_json or output is OutputFormat.json:
        typer.echo(json.dumps([user.to_dict() for user in users], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(users)} users")
    for column in ("id", "username", "role", "organisation", "country", "language", "status"):
        table.add_column(column, overflow="fold")
    for user in users:
        table.add_row(
            str(user.id),
            user.username,
            str(user.role),
            user.organisation or "-",
            user.country or "-",
            user.language,
            "disabled" if user.disabled else "active",
        )
    Console().print(table)


@users_app.command("disable")
def disable_command(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Disable an account: its sessions end and its API tokens are revoked."""
    from vigichem.accounts import change_user

    with _engine() as engine:
        user = change_user(engine, _find_user(engine, username).id, disabled=True)
    typer.echo(f"user {user.username} disabled (sessions ended, tokens revoked)")


@users_app.command("passwd")
def passwd_command(
    username: Annotated[str, typer.Argument(help="login name")], password_stdin: PasswordStdinOption = False
) -> None:
    """Set an account's password: its sessions end and its API tokens are revoked."""
    from vigichem.accounts import change_user

    with _engine() as engine:
        user_id = _find_user(engine, username).id  # an unknown user is refused before the prompt
        user = change_user(engine, user_id, password=_password(password_stdin))
    typer.echo(f"password of {user.username} changed (sessions ended, tokens revoked)")


def _expiry(text: str | None) -> dt.datetime | None:
    """``--expires``: a date (midnight UTC) or an ISO 8601 date-time with offset, in the future."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--expires {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise fail(f"--expires {text!r} needs a time-zone offset")
    if moment <= dt.datetime.now(dt.UTC):
        raise fail(f"--expires {text!r} is in the past: the token would never work")
    return moment


@tokens_app.command("issue")
def issue_command(
    username: Annotated[str, typer.Argument(help="the user the token acts as")],
    name: Annotated[str, typer.Option(help="what uses it, e.g. 'ERP at site 3'")],
    scope: Annotated[
        list[str] | None, typer.Option(help="a permission (repeatable; default: all of the role's)")
    ] = None,
    expires: Annotated[str | None, typer.Option(help="expiry date (YYYY-MM-DD, UTC) or date-time")] = None,
) -> None:
    """Issue an API token; its secret is printed once (on standard output) and never stored."""
    from vigichem.accounts import issue_token

    expires_at = _expiry(expires)
    with _engine() as engine:
        token, secret = issue_token(engine, _find_user(engine, username), name, scope, expires_at=expires_at)
    scopes = " ".join(sorted(str(item) for item in token.scopes))
    typer.echo(f"token {token.id} for {username} ({token.name}); scopes: {scopes}", err=True)
    typer.echo("the secret below is shown this once; store it now:", err=True)
    typer.echo(secret)


def _status(revoked_at: dt.datetime | None, expires_at: dt.datetime | None) -> str:
    if revoked_at is not None:
        return "revoked"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # stored naive, in UTC
    return "expired" if expires_at is not None and expires_at <= now else "active"


@tokens_app.command("list")
def tokens_list_command(
    username: Annotated[str | None, typer.Argument(help="only this user's tokens")] = None,
    output: FormatOption = OutputFormat.table,
    as_json: JsonOption = False,
) -> None:
    """List API tokens (never their secrets), revoked ones included."""
    from vigichem.accounts import list_tokens, list_users

    with _engine() as engine:
        owner = None if username is None else _find_user(engine, username).id
        tokens = list_tokens(engine, owner)
        names = {user.id: user.username for user in list_users(engine)}
    if as_json or output is OutputFormat.json:
        rows = [{**token.to_dict(), "username": names.get(token.user_id)} for token in tokens]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(tokens)} tokens")
    for column in ("id", "user", "name", "prefix", "scopes", "expires", "status"):
        table.add_column(column, overflow="fold")
    for token in tokens:
        table.add_row(
            str(token.id),
            names.get(token.user_id, "?"),
            token.name,
            token.prefix,
            " ".join(sorted(str(item) for item in token.scopes)),
            "-" if token.expires_at is None else token.expires_at.strftime("%Y-%m-%d %H:%M"),
            _status(token.revoked_at, token.expires_at),
        )
    Console().print(table)


@tokens_app.command("revoke")
def revoke_command(token_id: Annotated[int, typer.Argument(metavar="ID", help="token id")]) -> None:
    """Revoke an API token (revoking it again changes nothing)."""
    from vigichem.accounts import revoke_token

    with _engine() as engine:
        token = revoke_token(engine, token_id)
    typer.echo(f"token {token.id} ({token.name}) revoked")


def register(app: typer.Typer) -> None:
    """Add ``users`` and ``tokens`` to the ``vigichem`` app."""
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
