"""Build a demo node: a SQLite node loaded with a simulated year through the real capture path.

Steps (each timed, see :attr:`DemoNode.timings`): a fresh node in the data directory; ``vigichem.sim``
writes a national supply chain with planted cases into ``data_dir/sim``; its master data, an authority for
the simulated country and its fake buyers are registered; every EPCIS document is captured by
:func:`vigichem.ledger.pipeline.capture_many` (what ``vigichem capture`` runs: parse, validate, hash, append,
sign a checkpoint); detection runs over the whole history and its alerts become cases
(:func:`vigichem.cases.record_alerts`, as ``vigichem detect --record``); one account of each role is created
with a random password, listed in ``data_dir/demo-logins.txt`` (mode 0600).

Everything in a demo node is invented and labelled so (fake people, companies, GLNs and GTINs); only the
chemicals are real. A demo node is marked by the file :data:`MARKER`: a later build deletes and recreates a
marked directory, and refuses any other non-empty one.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vigichem.cases import record_alerts
from vigichem.demo.logins import LOGINS_FILE, account_plans, choose_operators, create_accounts, write_logins
from vigichem.demo.models import BuildProgress, DemoAccount, DemoNode, StepTiming
from vigichem.detect.engine import detect_history
from vigichem.errors import InvalidDocument, InvalidInput, VigichemError
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Organisation
from vigichem.ledger.node import Node, init_node
from vigichem.ledger.pipeline import capture_many, default_workers
from vigichem.settings import Settings
from vigichem.sim import SimConfig, load_parties, simulate

__all__ = ["DEFAULT_START", "MARKER", "build_demo_node", "is_demo_node"]

MARKER = ".vigichem-demo"
"""The file that marks a directory as a demo node (which a new build may delete)."""
DEFAULT_START = dt.date(2023, 1, 2)
"""The simulator's own first day: every typology, the designer precursor included, can be planted."""
NODE_NAME = "vigichem demo node (all data fake)"
ACTOR = "demo-build"

ProgressCallback = Callable[[BuildProgress], None]


def is_demo_node(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds a demo node (it carries the :data:`MARKER` file)."""
    return (data_dir / MARKER).is_file()


def _fresh_directory(data_dir: Path) -> None:
    """Empty ``data_dir`` for a new demo: delete a previous demo node, refuse anything else non-empty."""
    if data_dir.is_symlink() or (data_dir.exists() and not data_dir.is_dir()):
        raise InvalidInput(f"{data_dir} is not a directory")
    if data_dir.exists():
        if is_demo_node(data_dir):
            shutil.rmtree(data_dir)
        elif any(data_dir.iterdir()):
            raise InvalidInput(
                f"{data_dir} is not empty and is not a demo node: refusing to build a demo there "
                "(choose an empty or new directory)"
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written first, so that a build interrupted half-way is still recognised (and replaced) next time.
    (data_dir / MARKER).write_text(
        "This directory is a vigichem demo node (all data fake); `vigichem demo` deletes and rebuilds it.\n",
        encoding="utf-8",
    )


class _Clock:
    """Times the build's steps."""

    def __init__(self) -> None:
        self.timings: list[StepTiming] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings.append(StepTiming(name, time.perf_counter() - started))


def _capture(node: Node, documents: list[Path], report: ProgressCallback) -> tuple[int, int]:
    """Capture every document in order; return (events new, duplicates). A rejected document stops it."""
    captured = duplicates = 0
    outcomes = capture_many(
        node.store,
        (path.read_bytes() for path in documents),
        signer=node.signer,
        workers=default_workers(),
    )
    for done, (path, outcome) in enumerate(zip(documents, outcomes, strict=True), start=1):
        if isinstance(outcome, VigichemError):
            # The simulator writes valid documents: a rejection is a bug to show, not to skip.
            raise InvalidDocument(f"{path}: {outcome.message}", details=outcome.details)
        captured += len(outcome.new)
        duplicates += len(outcome.duplicates)
        report(BuildProgress("capture", done, len(documents), captured))
    return captured, duplicates


def _settings(data_dir: Path) -> Settings:
    # SQLite in the data directory whatever the environment says; a random secret for this node's CSRF
    # tokens, since development mode would otherwise accept the well-known default.
    return Settings(
        data_dir=data_dir, database_url=None, mode="development", secret_key=secrets.token_urlsafe(32)
    )


def build_demo_node(
    data_dir: Path,
    *,
    seed: int = 7,
    days: int = 365,
    start: dt.date | None = None,
    scale: float = 1.0,
    progress: ProgressCallback | None = None,
) -> DemoNode:
    """Build a demo node in ``data_dir`` (see the module doc); return its settings, counts and logins."""
    report = progress or (lambda _: None)
    data_dir = data_dir.resolve()
    config = SimConfig(seed=seed, days=days, start=start or DEFAULT_START, scale=scale)
    _fresh_directory(data_dir)
    clock = _Clock()
    sim_dir = data_dir / "sim"
    with clock.step("simulate"):
        manifest, _ = simulate(
            config, sim_dir, lambda done, total: report(BuildProgress("simulate", done, total))
        )
    node = init_node(data_dir, NODE_NAME, config.country)
    try:
        with clock.step("masterdata"):
            authority = _register(node, config, sim_dir)
        documents = sorted((sim_dir / "documents").glob("*.json"))
        with clock.step("capture"):
            captured, duplicates = _capture(node, documents, report)
        with clock.step("detect"):
            report(BuildProgress("detect", 0, 1, captured))
            since = dt.datetime.combine(config.start, dt.time(), tzinfo=dt.UTC)
            run = detect_history(node.engine, since, jurisdiction=config.jurisdiction)
            recorded = record_alerts(node.engine, run.alerts, actor=ACTOR)
            report(BuildProgress("detect", 1, 1, captured))
        with clock.step("accounts"):
            shop, other = choose_operators(node.engine, config.country)
            plans = account_plans(shop, other, authority)
            created = create_accounts(node.engine, plans)
            report(BuildProgress("accounts", len(plans), len(plans), captured))
    finally:
        node.close()
    accounts = [
        DemoAccount(plan.username, password, plan.role, plan.organisation, plan.description)
        for plan, password in created
    ]
    demo = DemoNode(
        settings=_settings(data_dir),
        manifest=manifest,
        events_captured=captured,
        duplicates=duplicates,
        alerts=recorded.new_alerts,
        cases_opened=len(recorded.cases_opened),
        accounts=accounts,
        authority=authority,
        shop=shop,
        other_operator=other,
        timings=clock.timings,
    )
    write_logins(data_dir / LOGINS_FILE, _logins_text(demo))
    return demo


def _register(node: Node, config: SimConfig, sim_dir: Path) -> str:
    """Master data, the authority of the simulated country and the fake buyers; returns the authority id."""
    masterdata = MasterData(node.engine)
    masterdata.load(sim_dir / "masterdata.yaml", jurisdiction=config.jurisdiction)
    authority = f"authority-{config.country.lower()}"
    masterdata.register_organisation(
        Organisation(
            id=authority,
            name=f"National authority of {config.country} (demo, fake)",
            country=config.country,
            kind="authority",
        )
    )
    load_parties(node.engine, sim_dir / "parties.jsonl", actor=ACTOR)
    return authority


def _logins_text(demo: DemoNode) -> list[str]:
    lines = [
        "# vigichem demo node: logins (ALL DATA IS FAKE; these passwords open only this demo node)",
        f"# node {demo.data_dir}, {demo.manifest.days} simulated days from {demo.manifest.start}",
        "# username\tpassword\trole\torganisation\twhat for",
    ]
    for account in demo.accounts:
        lines.append(
            "\t".join(
                (
                    account.username,
                    account.password,
                    str(account.role),
                    account.organisation or "-",
                    account.description,
                )
            )
        )
    return lines
