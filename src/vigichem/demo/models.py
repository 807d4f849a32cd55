"""Typed records of a demo node: its accounts, the counts of what was loaded, and build progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigichem.accounts.models import Role
from vigichem.settings import Settings
from vigichem.sim.models import Manifest

__all__ = ["BuildProgress", "DemoAccount", "DemoNode", "StepTiming"]


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A login of the demo node. The password is random and shown once (all data of a demo node is fake)."""

    username: str
    password: str
    role: Role
    organisation: str | None
    description: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form (with the password: it exists to be handed to whoever runs the demo)."""
        return {
            "username": self.username,
            "password": self.password,
            "role": str(self.role),
            "organisation": self.organisation,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class BuildProgress:
    """One progress report of a build: the step, units done out of ``total``, and events captured so far."""

    step: str  # "simulate" (days), "capture" (documents), "detect", "accounts"
    done: int
    total: int
    events: int = 0


@dataclass(frozen=True, slots=True)
class StepTiming:
    """How long one step of the build took (seconds of wall-clock time, for the report, never asserted)."""

    step: str
    seconds: float


@dataclass(slots=True)
class DemoNode:
    """A built demo node: where it is, what it holds, and who can log in."""

    settings: Settings
    manifest: Manifest
    events_captured: int
    duplicates: int
    alerts: int
    cases_opened: int
    accounts: list[DemoAccount]
    authority: str
    shop: str
    other_operator: str
    timings: list[StepTiming] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        """The node's data directory."""
        return self.settings.data_dir

    @property
    def logins_file(self) -> Path:
        """The file (mode 0600) that lists the logins."""
        return self.settings.data_dir / "demo-logins.txt"

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the summary (counts, organisations, accounts and step timings)."""
        return {
            "dataDir": str(self.data_dir),
            "seed": self.manifest.seed,
            "days": self.manifest.days,
            "start": self.manifest.start,
            "eventsCaptured": self.events_captured,
            "duplicates": self.duplicates,
            "alerts": self.alerts,
            "casesOpened": self.cases_opened,
            "authority": self.authority,
            "shop": self.shop,
            "otherOperator": self.other_operator,
            "accounts": [account.to_dict() for account in self.accounts],
            "timings": {timing.step: round(timing.seconds, 3) for timing in self.timings},
        }
