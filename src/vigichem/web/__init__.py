"""The analyst web interface: server-rendered Jinja2 + HTMX pages under ``/ui``, assets under ``/static``.

:func:`install` mounts it on the API app (:func:`vigichem.api.app.create_app` calls it). The pages use the
API's session cookie and CSRF token, the access policy of :mod:`vigichem.accounts.policy` and the same domain
services as the API. Every asset is vendored (``static/vendor``): nothing is fetched from the internet.
English and French catalogs are in ``i18n/``. See ``docs/web.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vigichem.web.i18n import LANGUAGES, catalog, translator
from vigichem.web.security import CONTENT_SECURITY_POLICY, install_page_errors, install_security_headers

__all__ = ["CONTENT_SECURITY_POLICY", "LANGUAGES", "STATIC_DIR", "catalog", "install", "translator"]

STATIC_DIR = Path(str(resources.files("vigichem.web").joinpath("static")))
"""The vendored assets and the interface's own CSS and script."""


def install(app: FastAPI) -> None:
    """Add the web interface's pages, static files, HTML error pages and security headers to ``app``."""
    from vigichem.web.routes import accounts, cases, entry, ledger, screening, session

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # ``entry`` comes before ``screening``: its /ui/products/new must win over /ui/products/{product_id}.
    for module in (session, entry, cases, screening, ledger, accounts):
        app.include_router(module.router)
    install_page_errors(app)
    install_security_headers(app)
