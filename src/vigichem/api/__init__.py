"""vigichem's HTTP API (FastAPI): ``create_app(settings)``; one error envelope for every failure."""

from vigichem.api.app import create_app
from vigichem.api.errors import envelope, status_for

__all__ = ["create_app", "envelope", "status_for"]
