"""The demo node: a simulated year of a national supply chain, loaded through the real capture path, with
detection run, cases opened and one account of each role. ``vigichem demo`` builds and serves it.

>>> from vigichem.demo import build_demo_node   # doctest: +SKIP
>>> demo = build_demo_node(Path("var/demo"), days=365)   # doctest: +SKIP

All data of a demo node is fake and labelled so. See ``docs/demo.md``.
"""

from vigichem.demo.build import DEFAULT_START, MARKER, build_demo_node, is_demo_node
from vigichem.demo.logins import LOGINS_FILE
from vigichem.demo.models import BuildProgress, DemoAccount, DemoNode, StepTiming

__all__ = [
    "DEFAULT_START",
    "LOGINS_FILE",
    "MARKER",
    "BuildProgress",
    "DemoAccount",
    "DemoNode",
    "StepTiming",
    "build_demo_node",
    "is_demo_node",
]
