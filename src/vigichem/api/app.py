"""The vigichem HTTP API application: every domain's routes, behind accounts, permissions and tenancy.

``create_app(settings)`` builds a FastAPI app bound to one node. The node (database, key) is opened on the
first request that needs it and kept for the app's life; tests may pass an opened node directly. Each domain
adds its routes from its own module under :mod:`vigichem.api.routers`; ``docs/api.md`` lists them.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from vigichem import __version__
from vigichem.api.errors import install_error_handlers
from vigichem.ledger.node import Node, load_node
from vigichem.settings import Settings, get_settings

__all__ = ["NodeHolder", "create_app", "get_node"]


class NodeHolder:
    """Opens the node once, on first use, for every request of the app."""

    def __init__(self, settings: Settings, node: Node | None = None) -> None:
        self.settings = settings
        self._node = node
        self._lock = threading.Lock()

    @property
    def opened(self) -> Node | None:
        """The node if it is open already (no waiting), else None."""
        return self._node

    def get(self) -> Node:
        """The opened node."""
        if self._node is None:
            with self._lock:
                if self._node is None:
                    self._node = load_node(self.settings, require_key=False)
        return self._node

    def close(self) -> None:
        """Release the node's database connections."""
        if self._node is not None:
            self._node.close()
            self._node = None


async def get_node(request: Request) -> Node:
    """FastAPI dependency: the app's node (opened in the threadpool the first time, never on the event loop).

    An ``async`` dependency, so that FastAPI does not send every request through the threadpool for it.
    """
    holder: NodeHolder = request.app.state.node_holder
    node = holder.opened
    return node if node is not None else await run_in_threadpool(holder.get)


def create_app(settings: Settings | None = None, node: Node | None = None) -> FastAPI:
    """The API application for the node that ``settings`` point at (or for an already opened ``node``)."""
    holder = NodeHolder(settings or get_settings(), node)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if node is None:  # a node handed in by the caller stays the caller's to close
            holder.close()

    app = FastAPI(title="vigichem", version=__version__, lifespan=lifespan)
    app.state.node_holder = holder
    install_error_handlers(app)
    # Routers import get_node from this module, so they are imported once it is complete.
    from vigichem.api.routers import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    from vigichem.web import install as install_web

    install_web(app)
    return app
