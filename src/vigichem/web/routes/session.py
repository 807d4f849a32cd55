"""Login, logout and the language switch."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vigichem.accounts import (
    Principal,
    authenticate,
    change_user,
    close_session,
    session_principal,
)
from vigichem.api.auth import SESSION_COOKIE, optional_principal, start_session
from vigichem.errors import AuthenticationRequired, InvalidInput
from vigichem.web.i18n import LANGUAGES
from vigichem.web.routes.common import NodeDep, settings_of
from vigichem.web.security import safe_next
from vigichem.web.templating import LANG_COOKIE, nav_for, render

__all__ = ["LOGIN_CSRF_COOKIE", "router"]

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "vigichem_login_csrf"
_YEAR = 365 * 24 * 3600


@router.get("/")
def root() -> RedirectResponse:
    """The node's home is the web interface."""
    return RedirectResponse("/ui/", status_code=303)


def _login_form(
    request: Request, *, next_url: str, error: str | None, status_code: int = 200
) -> HTMLResponse:
    # Login CSRF: the form carries a random value that must match a cookie only this origin can set.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, status_code=status_code, next_url=next_url, error=error, login_csrf=token
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/ui/login")
    return response


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, node: NodeDep, next: str | None = None) -> Response:
    """The login form (an already logged-in visitor goes straight on)."""
    key = request.cookies.get(SESSION_COOKIE)
    if key is not None:
        try:
            principal = session_principal(node.engine, key)
        except AuthenticationRequired:
            response = _login_form(request, next_url=safe_next(next), error=None)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return RedirectResponse(safe_next(next, _home(principal)), status_code=303)
    return _login_form(request, next_url=safe_next(next), error=None)


def _home(principal: Principal) -> str:
    entries = nav_for(principal)
    return entries[0].href if entries else "/ui/screen"


@router.post("/ui/login", response_class=HTMLResponse)
def login(
    request: Request,
    node: NodeDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ui/",
    login_csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the password, open a session and set its cookie (HttpOnly, SameSite=Lax)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, login_csrf):
        return _login_form(request, next_url=safe_next(next), error="login.expired_form", status_code=403)
    try:
        user = authenticate(node.engine, username, password)
    except AuthenticationRequired:
        return _login_form(request, next_url=safe_next(next), error="login.failed", status_code=401)
    response = RedirectResponse("/ui/", status_code=303)
    principal = start_session(node.engine, user, settings_of(request), response)
    response.headers["location"] = safe_next(next, _home(principal))
    response.set_cookie(LANG_COOKIE, user.language, max_age=_YEAR, samesite="lax", path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")
    return response


@router.post("/ui/logout")
def logout(
    request: Request, node: NodeDep, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> RedirectResponse:
    """End the session (the CSRF token is checked like on every state change)."""
    key = request.cookies.get(SESSION_COOKIE)
    if principal is not None and key is not None:
        close_session(node.engine, key)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/ui/language")
def switch_language(
    request: Request,
    node: NodeDep,
    principal: Annotated[Principal | None, Depends(optional_principal)],
    lang: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/ui/",
) -> RedirectResponse:
    """Store the language in a cookie and, for a logged-in user, in the account."""
    if lang not in LANGUAGES:
        raise InvalidInput(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    if principal is not None:
        change_user(node.engine, principal.user.id, language=lang)
    target = safe_next(next, "/ui/login" if principal is None else "/ui/")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=_YEAR, samesite="lax", path="/")
    return response
