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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigichem.accounts import Permission, Principal, policy
from vigichem.api.auth import SESSION_COOKIE, optional_principal
from vigichem.api.errors import status_for
from vigichem.errors import AuthenticationRequired, VigichemError
from vigichem.web.templating import render

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PAGE_HEADERS",
    "STATIC_HEADERS",
    "PagePrincipal",
    "SecurityHeaders",
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


def _is_page_path(path: str) -> bool:
    return path == "/" or path == "/ui" or path.startswith("/ui/")


def is_page(request: Request) -> bool:
    """Whether the request is for the web interface (answered in HTML)."""
    return _is_page_path(request.url.path)


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


PAGE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
"""The headers of every page answer (a header the page set itself is kept)."""

STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
"""The headers of the vendored assets under ``/static`` (cacheable: no ``no-store`` there)."""


class SecurityHeaders:
    """Pure ASGI middleware adding :data:`PAGE_HEADERS` to page answers and :data:`STATIC_HEADERS` to assets.

    It only wraps ``send`` for those paths and passes every other request (the JSON API) straight through:
    Starlette's ``BaseHTTPMiddleware``, used before, cost every API request 0.5-1.2 ms (a task group and
    a memory stream per request).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; add the headers to the start of the answer when the path calls for them."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if _is_page_path(path):
            extra = PAGE_HEADERS
        elif path == "/static" or path.startswith("/static/"):
            extra = STATIC_HEADERS
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    """Add the Content-Security-Policy and related headers to page answers (:class:`SecurityHeaders`)."""
    app.add_middleware(SecurityHeaders)
