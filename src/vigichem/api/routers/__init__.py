"""API routers, one module per domain; :data:`ROUTERS` lists them in the order the app mounts them."""

from fastapi import APIRouter

from vigichem.api.routers import (
    accounts,
    admin,
    cases,
    detect,
    inventory,
    ledger,
    masterdata,
    reports,
    screening,
)

ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    admin.router,
    masterdata.router,
    screening.router,
    ledger.router,
    inventory.router,
    detect.router,
    cases.router,
    reports.router,
)

__all__ = ["ROUTERS"]
