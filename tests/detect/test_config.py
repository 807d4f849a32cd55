"""The rule pack: the packaged file loads; an invalid configuration is refused with the path of the error."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigichem.detect.config import RULES_FILE, load_rule_pack, parse_rule_pack
from vigichem.detect.rules import RULE_CLASSES
from vigichem.errors import KnowledgeBaseError


def _raw() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))


def test_packaged_pack_has_every_rule_with_a_known_basis() -> None:
    pack = load_rule_pack()
    code, rules = pack.for_jurisdiction("EU")
    assert code == "EU" and set(rules) == set(RULE_CLASSES)
    for config in rules.values():
        assert all(basis in pack.bases for basis in config.basis)
        assert "Regulation" in pack.basis_text(config) or "CFR" in pack.basis_text(config)


def test_a_jurisdiction_without_its_own_settings_inherits_them() -> None:
    # FR inherits EU in the knowledge base; a code the knowledge base does not know falls back to EU.
    assert load_rule_pack().for_jurisdiction("FR")[0] == "EU"
    assert load_rule_pack().for_jurisdiction("ZZ")[0] == "EU"


@pytest.mark.parametrize(
    ("change", "path_fragment"),
    [
        (
            lambda raw: raw["jurisdictions"]["EU"]["split_purchase"].pop("window_days"),
            "split_purchase.window_days",
        ),
        (
            lambda raw: raw["jurisdictions"]["EU"]["quantity_spike"].update(own_ratio="big"),
            "quantity_spike.own_ratio",
        ),
        (
            lambda raw: raw["jurisdictions"]["EU"]["theft_loss"].update(tolerance_kg=-1),
            "theft_loss.tolerance_kg",
        ),
        (lambda raw: raw["jurisdictions"]["EU"]["theft_loss"].update(colour=3), "theft_loss.colour"),
        (lambda raw: raw["jurisdictions"]["EU"]["sale_indicator"].update(severity="extreme"), "severity"),
        (lambda raw: raw["jurisdictions"]["EU"]["shipment_short"].update(basis=["nowhere"]), "basis"),
        (
            lambda raw: raw["jurisdictions"]["EU"].update(
                made_up_rule={"severity": "low", "basis": ["eu-art9-2"]}
            ),
            "made_up_rule",
        ),
        (lambda raw: raw["jurisdictions"].update(UK=raw["jurisdictions"].pop("EU")), "jurisdictions"),
        (lambda raw: raw.update(version=0), "version"),
    ],
)
def test_invalid_configuration_is_refused_with_its_path(change: Any, path_fragment: str) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(KnowledgeBaseError) as caught:
        parse_rule_pack(raw, "rules.yaml")
    assert path_fragment in caught.value.message
    assert caught.value.message.startswith("rules.yaml: invalid rule configuration")


def test_unreadable_or_broken_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text("version: [1\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="not valid YAML"):
        load_rule_pack(broken)
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        load_rule_pack(tmp_path / "missing.yaml")
