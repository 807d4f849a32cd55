"""Rendering of the web pages: the Jinja2 environment, the page context and the navigation.

Every page is rendered by :func:`render` with the same context: the principal (or None on the login page),
the language and its translator ``t``, the session's CSRF token (sent by every HTMX request through
``hx-headers`` on ``<body>`` and by every form as a hidden field), and the navigation limited to the pages the
principal's permissions open (from :mod:`vigichem.accounts.policy`, never a rule of our own).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy import select

from vigichem.accounts import Permission, Principal, csrf_token
from vigichem.ledger.inventory_tables import organisations
from vigichem.web.i18n import LANGUAGES, choose_language, translator

__all__ = ["LANG_COOKIE", "NAV", "NavItem", "language_of", "nav_for", "render"]

LANG_COOKIE = "vigichem_lang"


@dataclass(frozen=True, slots=True)
class NavItem:
    """A navigation entry: catalog key, path, and the permission that opens the page."""

    key: str
    href: str
    permission: Permission


NAV: tuple[NavItem, ...] = (
    NavItem("nav.dashboard", "/ui/", Permission.ALERTS_READ),
    NavItem("nav.alerts", "/ui/alerts", Permission.ALERTS_READ),
    NavItem("nav.pos", "/ui/pos", Permission.DECIDE),
    NavItem("nav.screen", "/ui/screen", Permission.SCREEN),
    NavItem("nav.products", "/ui/products", Permission.PRODUCTS_READ),
    NavItem("nav.balance", "/ui/balance", Permission.BALANCE_READ),
    NavItem("nav.events", "/ui/events", Permission.EVENTS_READ),
    NavItem("nav.trace", "/ui/trace", Permission.EVENTS_READ),
    NavItem("nav.ledger", "/ui/ledger", Permission.LEDGER_READ),
    NavItem("nav.capture", "/ui/capture", Permission.EVENTS_CAPTURE),
    NavItem("nav.users", "/ui/admin/users", Permission.USERS_MANAGE),
)
"""Pages in the header, in order; the first one a principal may open is its home page. (The principal's own
API tokens are linked under its name, ``base.html``.)"""


def nav_for(principal: Principal | None) -> list[NavItem]:
    """The navigation entries the principal's permissions open."""
    if principal is None:
        return []
    return [item for item in NAV if principal.can(item.permission)]


def language_of(request: Request, principal: Principal | None) -> str:
    """The page language: the switch's cookie, else the account's language, else the browser's."""
    account = principal.user.language if principal is not None else None
    return choose_language(
        request.cookies.get(LANG_COOKIE), account, accept=request.headers.get("accept-language")
    )


def _organisation_name(request: Request, principal: Principal | None) -> str | None:
    """The name of the principal's organisation, for the header (the id when it is not registered)."""
    if principal is None or principal.user.organisation is None:
        return None
    organisation = principal.user.organisation
    engine = request.app.state.node_holder.get().engine
    with engine.connect() as connection:
        name = connection.scalar(select(organisations.c.name).where(organisations.c.id == organisation))
    return str(name) if name is not None else organisation


def _tojson_script(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block (``<`` escaped so no tag can close it)."""
    text = (
        json.dumps(value, default=str).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )
    return Markup(text)  # escaped above for the script-data context


def _when(moment: dt.datetime | dt.date | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, dt.datetime):
        return moment.strftime("%Y-%m-%d %H:%M") + " UTC"
    return moment.isoformat()


def _number(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"


def _duration(seconds: float) -> str:
    sign = "−" if seconds < 0 else ""
    minutes = int(abs(seconds) // 60)
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min"


_ENV = Environment(
    loader=PackageLoader("vigichem.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["script_json"] = _tojson_script
_ENV.filters["when"] = _when
_ENV.filters["number"] = _number
_ENV.filters["duration"] = _duration


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the page context (see the module doc) and ``context``."""
    language = language_of(request, principal)
    csrf = ""
    if principal is not None and principal.session_id is not None:
        settings = request.app.state.node_holder.settings
        csrf = csrf_token(settings.secret_key, principal.session_id)
    page = _ENV.get_template(template).render(
        request=request,
        path=request.url.path,
        principal=principal,
        organisation_name=_organisation_name(request, principal),
        lang=language,
        languages=LANGUAGES,
        t=translator(language),
        csrf=csrf,
        nav=nav_for(principal),
        Permission=Permission,
        **context,
    )
    return HTMLResponse(page, status_code=status_code)
