"""Optional compiled copies of the ledger's hottest pure-Python modules, used only while they are current.

The CBV 2.0 hash ID (:mod:`vigichem.ledger.hashid`, with :mod:`vigichem.ledger.digital_link`) is computed
for every event at capture, again for every event by ``verify``, and by streaming detection: about a third
of the CPU of each. :mod:`vigichem.ledger.accel_build` compiles *copies* of those two modules with mypyc
(the typed Python, unchanged, turned into a C extension: about 1.7x faster) into a separate package,
``vigichem_accel``, next to the installed packages. The pure-Python modules stay the reference and the
fallback:

* the compiled copy is used only when it was built from exactly the sources now installed (a SHA-256 of
  both files is compiled into it and compared at import), so editing either file never runs stale code —
  it silently runs the pure module until the next build (``make`` rebuilds it);
* the setting ``VIGICHEM_ACCEL=false`` turns it off; a machine without a C compiler or mypy simply has
  no compiled copy;
* :mod:`vigichem.ledger.hashing` gives the pure module the last word whenever the compiled one fails with
  anything but a document error, and the tests compare both on every test vector and on random events.

Nothing here is needed for correctness: it is a speed-up with the same results.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from vigichem.settings import get_settings

__all__ = [
    "ACCELERATED_MODULES",
    "COMPILED_PACKAGE",
    "DIGEST_ATTRIBUTE",
    "AccelStatus",
    "compiled_hashid",
    "reset",
    "source_digest",
    "status",
]

ACCELERATED_MODULES = ("vigichem.ledger.digital_link", "vigichem.ledger.hashid")
"""The modules compiled, in dependency order (each copy imports the copies before it)."""
COMPILED_PACKAGE = "vigichem_accel"
"""The package the compiled copies live in (``vigichem_accel.hashid`` …)."""
DIGEST_ATTRIBUTE = "ACCEL_SOURCE_DIGEST"
"""The constant, compiled into ``vigichem_accel.hashid``, holding :func:`source_digest` at build time."""


def source_path(module: str) -> Path:
    """The source file of one of :data:`ACCELERATED_MODULES`, located without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot locate the source of {module}")
    return Path(spec.origin)


def source_digest() -> str:
    """SHA-256 over the sources of :data:`ACCELERATED_MODULES` as installed now, in order."""
    digest = hashlib.sha256()
    for module in ACCELERATED_MODULES:
        data = source_path(module).read_bytes()
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


@dataclass(frozen=True)
class AccelStatus:
    """Whether the compiled hash ID is in use, and why (for diagnostics, the benchmarks and the tests)."""

    active: bool
    reason: str


@lru_cache(maxsize=1)
def _load() -> tuple[ModuleType | None, AccelStatus]:
    if not get_settings().accel:
        return None, AccelStatus(False, "turned off by the setting VIGICHEM_ACCEL")
    try:
        module = importlib.import_module(f"{COMPILED_PACKAGE}.hashid")
    except ImportError as error:
        return None, AccelStatus(
            False, f"not built ({error}); build it with python -m vigichem.ledger.accel_build"
        )
    try:
        current = source_digest()
    except (ImportError, OSError) as error:
        return None, AccelStatus(False, f"sources not readable: {error}")
    if getattr(module, DIGEST_ATTRIBUTE, None) != current:
        return None, AccelStatus(False, "built from other sources than those installed: rebuild it")
    return module, AccelStatus(True, f"compiled copy {module.__file__}")


def compiled_hashid() -> ModuleType | None:
    """The compiled copy of :mod:`vigichem.ledger.hashid` when built from the current sources, else None."""
    return _load()[0]


def status() -> AccelStatus:
    """Whether the compiled copy is used, and why."""
    return _load()[1]


def reset() -> None:
    """Decide again at the next call (after a build, or a change of the setting)."""
    _load.cache_clear()
