"""The English and French catalogs: the same keys, every key a template asks for exists, no key left unused.

Templates ask for messages with ``t("key")``; keys built from data (``t("role." ~ role)``) are checked by
enumerating the values they can take (roles, statuses, outcomes, ...).
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

from vigichem.accounts import Role
from vigichem.cases import CaseStatus, Resolution
from vigichem.ledger import DiscrepancyKind
from vigichem.web.i18n import LANGUAGES, catalog, choose_language, translator
from vigichem.web.security import ERROR_TITLES
from vigichem.web.templating import NAV

_LITERAL = re.compile(r"(?<![\w.])t\(\s*[\"']([a-z0-9_.]+)[\"']\s*[,)]")
_DYNAMIC = re.compile(r"(?<![\w.])t\(\s*[\"']([a-z0-9_.]+\.)[\"']\s*~")

DYNAMIC_VALUES: dict[str, list[str]] = {
    "role.": [str(role) for role in Role],
    "status.": ["controlled", "restricted", "reportable", "declarable", "watch"],
    "outcome.": ["allow", "allow_and_report", "licence_required", "refuse"],
    "case.status_name.": [str(status) for status in CaseStatus],
    "case.resolution_name.": [str(resolution) for resolution in Resolution],
    "case.move.": [str(status) for status in CaseStatus if status is not CaseStatus.NEW],
    "trace.kind.": ["produced", "shipped", "received", "sold", "used", "destroyed"],
    "ledger.kind.": [str(kind) for kind in DiscrepancyKind],
    "balance.kind.": ["not_received", "quantity_mismatch"],
    "users.notice.": ["created", "disable", "enable", "password", "role"],
}
PYTHON_KEYS = {"login.failed", "login.expired_form", "error.other"} | {f"error.{s}" for s in ERROR_TITLES}


def _templates() -> dict[str, str]:
    folder = resources.files("vigichem.web").joinpath("templates")
    return {
        item.name: item.read_text(encoding="utf-8")
        for item in folder.iterdir()
        if item.name.endswith(".html")
    }


def _used_keys() -> set[str]:
    used = set(PYTHON_KEYS)
    for text in _templates().values():
        used |= set(_LITERAL.findall(text))
        for prefix in _DYNAMIC.findall(text):
            assert prefix in DYNAMIC_VALUES, (
                f"template builds keys from {prefix!r}: list its values in the test"
            )
            used |= {prefix + value for value in DYNAMIC_VALUES[prefix]}
    used |= {item.key for item in NAV}
    return used


def test_both_catalogs_have_exactly_the_same_keys() -> None:
    english, french = set(catalog("en")), set(catalog("fr"))
    assert english - french == set(), "keys missing in French"
    assert french - english == set(), "keys missing in English"


def test_templates_use_only_known_keys_and_every_key_is_used() -> None:
    used = _used_keys()
    assert used - set(catalog("en")) == set(), "templates ask for keys the catalogs lack"
    assert set(catalog("en")) - used == set(), "catalog keys no template or page uses"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_between_languages(language: str) -> None:
    for key, message in catalog(language).items():
        assert set(re.findall(r"{(\w+)}", message)) == set(re.findall(r"{(\w+)}", catalog("en")[key])), key
        assert message.strip(), key


def test_translation_and_choice_of_language() -> None:
    assert translator("fr")("nav.alerts") == "Alertes"
    assert translator("en")("common.page", number=3) == "page 3"
    assert translator("xx")("nav.alerts") == "Alerts"  # unknown language: English
    assert translator("en")("no.such.key") == "no.such.key"
    assert choose_language(None, "fr") == "fr"
    assert choose_language("de", None, accept="de-DE,fr;q=0.8") == "fr"
    assert choose_language(None, None, accept=None) == "en"
