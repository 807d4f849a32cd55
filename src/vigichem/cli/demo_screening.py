"""CLI command: ``vigichem demo-screening`` — a screening demonstration on a handful of real products.

Each case is an ordinary product or chemical a shop or a customs officer meets; the concentrations are
typical label values (invented for the demonstration, not taken from a particular product). ``vigichem demo``
(:mod:`vigichem.cli.demo`) builds and serves a whole node; this module stays the screening part.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console
from rich.rule import Rule

from vigichem.chem.service import screen_safely
from vigichem.cli.screen import print_result


@dataclass(frozen=True, slots=True)
class DemoCase:
    """One demonstration query and why it is interesting."""

    title: str
    query: str
    jurisdiction: str | None = None
    quantity: str | None = None


# Concentrations below are typical label values, invented for the demonstration.
DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase("Swimming-pool product, 30 % hydrogen peroxide", "hydrogen peroxide 30%; water 70%", "EU"),
    DemoCase("Hair-bleaching product, 6 % hydrogen peroxide", "7722-84-1 6%; 7732-18-5 94%", "EU"),
    DemoCase("Ammonium nitrate fertiliser (34.5 % N grade)", "ammonium nitrate 98.6%", "EU"),
    DemoCase("Acetone, nail-polish remover solvent", "acetone", "EU"),
    DemoCase("Thiodiglycol, 2 t for an ink plant", "111-48-8", None, "2 t"),
    DemoCase(
        "Ephedrine hydrochloride, a medicine and a listed drug precursor (salt)",
        "CN[C@@H](C)[C@H](O)c1ccccc1.Cl",
    ),
    DemoCase("An unlisted, benign chemical (ethanol)", "CCO"),
    DemoCase("A mistyped CAS number (hydrogen peroxide with a wrong check digit)", "7722-84-2"),
)


def demo_command() -> None:
    """Screen a handful of real products and print the findings with their reasons."""
    console = Console(highlight=False)
    console.print(Rule("vigichem — regulatory screening demonstration"))
    for case in DEMO_CASES:
        where = f" — jurisdiction {case.jurisdiction}" if case.jurisdiction else " — every jurisdiction"
        amount = f", quantity {case.quantity}" if case.quantity else ""
        console.print(f"\n[bold]{case.title}[/bold][dim]{where}{amount}[/dim]")
        result = screen_safely(case.query, jurisdiction=case.jurisdiction, quantity=case.quantity)
        print_result(console, result)


def register(app: typer.Typer) -> None:
    """Add ``demo-screening`` to the ``vigichem`` app."""
    app.command("demo-screening")(demo_command)
