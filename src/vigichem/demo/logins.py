"""The demo node's accounts: which organisations they belong to, random passwords, the logins file.

The shop whose clerk and compliance officer log in is the operator with the most sales among those that see
at least one case of their own (so its users have a queue to work); a second operator with sales gets a
compliance officer, to show that one operator never sees another's data.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from vigichem.accounts import create_user
from vigichem.accounts.models import Principal, Role, User
from vigichem.accounts.policy import case_condition, effective_permissions, event_condition
from vigichem.cases import tables as case_tables
from vigichem.errors import InvalidInput
from vigichem.ledger.db import events
from vigichem.ledger.inventory_tables import organisations

__all__ = [
    "LOGINS_FILE",
    "AccountPlan",
    "account_plans",
    "choose_operators",
    "create_accounts",
    "write_logins",
]

LOGINS_FILE = "demo-logins.txt"
PASSWORD_BYTES = 12  # token_urlsafe(12): 16 characters, 96 bits
SALE_STEP = "%retail_selling"  # bizStep of a sale at a shop, bare word or CBV URI


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """An account to create: username, role, organisation and what it is for."""

    username: str
    role: Role
    organisation: str | None
    description: str


def _probe(role: Role, organisation: str, country: str) -> Principal:
    """A principal of ``organisation`` that exists only to ask the policy what it would see."""
    user = User(
        id=0,
        username="probe",
        display_name="probe",
        role=role,
        organisation=organisation,
        country=country,
        language="en",
        disabled=False,
        created_at=dt.datetime(2000, 1, 1),
    )
    return Principal(user=user, permissions=effective_permissions(role), via="session")


def _operator_figures(engine: Engine, country: str) -> list[tuple[str, int, int]]:
    """(organisation, sales, cases it sees) for every operator of ``country`` that sold anything."""
    figures: list[tuple[str, int, int]] = []
    with engine.connect() as connection:
        operators = connection.scalars(
            select(organisations.c.id)
            .where(organisations.c.kind == "operator", organisations.c.country == country)
            .order_by(organisations.c.id)
        ).all()
        for organisation in operators:
            principal = _probe(Role.OPERATOR_COMPLIANCE, organisation, country)
            sales = connection.scalar(
                select(func.count())
                .select_from(events)
                .where(events.c.biz_step.like(SALE_STEP), event_condition(principal))
            )
            if not sales:
                continue
            seen = connection.scalar(
                select(func.count()).select_from(case_tables.cases).where(case_condition(principal))
            )
            figures.append((organisation, int(sales), int(seen or 0)))
    return figures


def choose_operators(engine: Engine, country: str) -> tuple[str, str]:
    """The demo shop (most sales among operators that see a case) and a second operator that sells.

    When no operator sees a case of its own (a very short simulation), the shop is the one with most sales.
    """
    figures = _operator_figures(engine, country)
    if len(figures) < 2:
        raise InvalidInput(f"the simulation has fewer than two operators with sales in {country}")
    with_cases = [item for item in figures if item[2] > 0] or figures
    shop = max(with_cases, key=lambda item: (item[1], item[0]))[0]
    others = [item for item in figures if item[0] != shop]
    # Prefer a second operator that also has cases, so that tenancy shows on the queue, not only on sales.
    other = max(others, key=lambda item: (item[2] > 0, item[1], item[0]))[0]
    return shop, other


def account_plans(shop: str, other: str, authority: str) -> list[AccountPlan]:
    """One account of every role (two operator compliance officers: one per operator)."""
    return [
        AccountPlan("clerk", Role.OPERATOR_CLERK, shop, "shop clerk: point of sale, screening, stock"),
        AccountPlan("compliance", Role.OPERATOR_COMPLIANCE, shop, "shop compliance officer: its cases"),
        AccountPlan(
            "other.compliance",
            Role.OPERATOR_COMPLIANCE,
            other,
            "compliance officer of another operator (sees none of the shop's data)",
        ),
        AccountPlan("analyst", Role.AUTHORITY_ANALYST, authority, "authority analyst: every operator, cases"),
        AccountPlan("authority.admin", Role.AUTHORITY_ADMIN, authority, "authority administrator: accounts"),
        AccountPlan("admin", Role.NODE_ADMIN, None, "node administrator: accounts, ledger integrity"),
    ]


def create_accounts(engine: Engine, plans: list[AccountPlan]) -> list[tuple[AccountPlan, str]]:
    """Create each planned account with a random password; return the plans with their passwords."""
    created: list[tuple[AccountPlan, str]] = []
    for plan in plans:
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        create_user(
            engine,
            plan.username,
            password,
            plan.role,
            organisation=plan.organisation,
            display_name=f"{plan.username} (demo)",
        )
        created.append((plan, password))
    return created


def write_logins(path: Path, lines: list[str]) -> None:
    """Write the logins file readable by its owner only (0600 from creation, never wider)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
