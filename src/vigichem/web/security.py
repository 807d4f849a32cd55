"""Who is looking at a page, and how errors look in the browser.

Pages use the API's own credentials (:mod:`vigichem.api.auth`): the session cookie, and the CSRF token on
every request that changes state (checked by :func:`~vigichem.api.auth.optional_principal`). What differs is
the answer to a refusal, which under ``/ui`` is a page rather than the JSON envelope:

* no session, or an expired one → a redirect to ``/ui/login?next=…`` (an HTMX request gets ``HX-Redirect``);
* a permission the role lacks, or a missing CSRF token → the 403 page;
* an object outside the principal's tenancy (answered as not found by the policy) → the 404 page;
* bad input → the 400 page (forms that can show the message next to the field do so themselves).

Every ``/ui`` answer carries a Content-Security-Policy that allows nothing but this node's own origin.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigichem.accounts import Permission, Principal, policy
from vigichem.api.auth import SESSION_COOKIE, optional_principal
from vigichem.api.errors import status_for
from vigichem.errors import AuthenticationRequired, VigichemError
from vigichem.web.templating import render

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PagePrincipal",
    "install_page_errors",
    "install_security_headers",
    "is_page",
    "need",
    "page_principal",
    "safe_next",
]

logger = logging.getLogger("vigichem.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)
"""Only this node's origin: scripts, styles, fonts and requests never leave it. (Inline styles are allowed for
the style attributes of RDKit's SVG drawings and Chart.js; inline scripts are not.)"""

ERROR_TITLES = (400, 403, 404, 405, 409, 413, 422, 500)
"""Statuses whose page has its own title in the catalogs (``error.<status>``)."""

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page(request: Request) -> bool:
    """Whether the request is for the web interface (answered in HTML)."""
    path = request.url.path
    return path == "/" or path == "/ui" or path.startswith("/ui/")


def safe_next(target: str | None, default: str = "/ui/") -> str:
    """A redirect target inside the web interface (never another site: no scheme, no ``//``)."""
    if not target or not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return default
    return target


class LoginRequired(AuthenticationRequired):
    """No session: the page answers with a redirect to the login page."""


async def page_principal(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    """The logged-in principal of a page (else the login redirect)."""
    if principal is None:
        raise LoginRequired("log in to see this page")
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def need(principal: Principal, permission: Permission) -> None:
    """Refuse (403 page) unless the principal holds ``permission`` — the policy module decides."""
    policy.require(principal, permission)


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = safe_next(request.headers.get("referer", "").partition(request.url.netloc)[2] or None)
    location = f"/ui/login?next={quote(safe_next(target), safe='/')}"
    response: Response
    if request.headers.get("hx-request"):
        response = Response(status_code=200, headers={"HX-Redirect": location})
    else:
        response = RedirectResponse(location, status_code=303)
    if request.cookies.get(SESSION_COOKIE) is not None:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _error_page(request: Request, status_code: int, message: str) -> Response:
    principal = getattr(request.state, "principal", None)
    title_key = f"error.{status_code}" if status_code in ERROR_TITLES else "error.other"
    return render(
        request,
        "error.html",
        principal,
        status_code=status_code,
        status=status_code,
        message=message,
        title_key=title_key,
    )


def install_page_errors(app: FastAPI) -> None:
    """Answer errors under ``/ui`` with pages; every other path keeps the API's JSON envelope handlers."""

    def wrap(error_class: type[Exception], page: Handler) -> None:
        original = app.exception_handlers.get(error_class)

        async def handler(request: Request, exc: Exception) -> Response:
            if is_page(request) or original is None:
                return await page(request, exc)
            answer = original(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.exception_handlers[error_class] = handler

    async def vigichem_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, VigichemError)
        if isinstance(exc, AuthenticationRequired):
            return _login_redirect(request)
        return _error_page(request, status_for(exc), exc.message)

    async def validation_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'/'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors()
        )
        return _error_page(request, 400, problems or "invalid request")

    async def http_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _error_page(request, exc.status_code, str(exc.detail))

    async def unexpected_page(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error_page(request, 500, "internal server error")

    wrap(VigichemError, vigichem_page)
    wrap(RequestValidationError, validation_page)
    wrap(StarletteHTTPException, http_page)
    wrap(Exception, unexpected_page)


def install_security_headers(app: FastAPI) -> None:
    """Add the Content-Security-Policy and related headers to every ``/ui`` answer."""

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response: Response = await call_next(request)
        if is_page(request):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
        return response
