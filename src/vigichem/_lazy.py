"""Module attributes imported on first use, so that a package's light parts load without its heavy ones."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(module: str, lazy: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``lazy[name]`` (a module path) and returns its ``name``."""

    def __getattr__(name: str) -> Any:
        if name in lazy:
            return getattr(importlib.import_module(lazy[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
