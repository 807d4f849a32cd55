"""The API's one error envelope: ``{"error": {"code", "message", "details"}}``.

Every error leaves the API in this shape: vigichem's typed errors through
:meth:`vigichem.errors.VigichemError.to_dict` with an HTTP status chosen by their class, FastAPI's request
validation errors as ``invalid_input`` (422), values the database refuses (a NUL character in text on
PostgreSQL) as ``invalid_input`` (400), routing errors (404, 405) as ``not_found`` / ``http_error``,
and anything unexpected as ``internal_error`` (500) with a fixed message, so no internals leak (the
traceback goes to the server log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigichem.errors import (
    AuthenticationRequired,
    ConfigurationError,
    Conflict,
    InputTooLarge,
    IntegrityError,
    InvalidDocument,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProofError,
    VigichemError,
)

__all__ = ["MalformedDocument", "envelope", "install_error_handlers", "status_for"]

logger = logging.getLogger("vigichem.api")


class MalformedDocument(InvalidDocument):
    """A request body that could not be parsed at all (not JSON, not UTF-8): 400 rather than 422."""


# Checked in order: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[VigichemError], int], ...] = (
    (InputTooLarge, 413),
    (MalformedDocument, 400),
    (InvalidDocument, 422),
    (InvalidInput, 400),
    (NotFound, 404),
    (AuthenticationRequired, 401),
    (PermissionDenied, 403),
    (Conflict, 409),
    (ProofError, 409),
    (IntegrityError, 500),
    (ConfigurationError, 500),
)


def status_for(error: VigichemError) -> int:
    """The HTTP status of a vigichem error."""
    for error_class, status in _STATUS:
        if isinstance(error, error_class):
            return status
    return 400


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error envelope."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the envelope."""

    @app.exception_handler(VigichemError)
    async def _vigichem_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, VigichemError)
        return JSONResponse({"error": exc.to_dict()}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {
                "location": "/".join(str(part) for part in error.get("loc", ())),
                "message": error.get("msg", ""),
            }
            for error in exc.errors()
        ]
        first = problems[0] if problems else {"location": "", "message": "invalid request"}
        message = f"{first['location']}: {first['message']}"
        return JSONResponse(envelope("invalid_input", message, {"errors": problems}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse(envelope(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value the request carried (PostgreSQL: a NUL character in text, a number
        # out of a column's range); nothing was stored, and it is the input's fault, not the server's.
        if "NUL" in str(exc):
            message = "text in the request must not contain NUL (\\u0000) characters"
        else:
            message = "the request holds a value the database cannot store (out of range or malformed)"
        return JSONResponse(envelope("invalid_input", message), status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(envelope("internal_error", "internal server error"), status_code=500)
