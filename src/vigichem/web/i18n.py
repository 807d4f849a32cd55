"""Message catalogs of the web interface (English and French), as data files in ``web/i18n/<lang>.yaml``.

A catalog is a YAML mapping, nested for readability; keys are flattened with dots (``nav.alerts``). Both
catalogs hold exactly the same keys (a test checks it, and that templates use only known keys). A missing key
shows as the key itself, so a gap is visible rather than fatal. Legal texts (findings' reasons and sources,
rule bases) are never translated: they are shown as the knowledge base gives them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "catalog", "choose_language", "translator"]

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
Translate = Callable[..., str]


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if not isinstance(key, str):  # YAML reads a bare yes/no/1 key as a bool or int: quote it
            raise ValueError(f"catalog key {prefix}{key!r} is not text")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(language: str) -> dict[str, str]:
    """The flattened catalog of ``language`` (one of :data:`LANGUAGES`)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalog for language {language!r}")
    text = resources.files("vigichem.web").joinpath("i18n", f"{language}.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, Mapping):
        raise ValueError(f"the {language} catalog is not a mapping")
    return _flatten(loaded)


def translator(language: str) -> Translate:
    """``t(key, **values)``: the message in ``language``, with ``{name}`` placeholders filled in."""
    messages = catalog(language if language in LANGUAGES else DEFAULT_LANGUAGE)

    def translate(key: str, **values: object) -> str:
        message = messages.get(key, key)
        return message.format(**values) if values else message

    return translate


def choose_language(*candidates: str | None, accept: str | None = None) -> str:
    """The first supported language among ``candidates`` (cookie, account), else ``Accept-Language``."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
