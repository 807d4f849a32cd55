"""The rule pack's parameters (``data/rules.yaml``), validated at load; an invalid file is refused.

Parameters are data per jurisdiction. A jurisdiction that the file does not name uses the first one it
inherits from in the knowledge base (``FR`` inherits ``EU``), else :data:`DEFAULT_JURISDICTION`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigichem.errors import KnowledgeBaseError

__all__ = [
    "DEFAULT_JURISDICTION",
    "RULES_FILE",
    "RuleConfig",
    "RulePack",
    "load_rule_pack",
    "parse_rule_pack",
]

RULES_FILE = Path(__file__).with_name("data") / "rules.yaml"
DEFAULT_JURISDICTION = "EU"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleConfig(_Strict):
    """One rule's settings in one jurisdiction: common fields plus the rule's own ``params``."""

    enabled: bool = True
    severity: str = Field(pattern="^(low|medium|high|critical)$")
    basis: tuple[str, ...] = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)

    def number(self, name: str, default: float | None = None) -> float:
        """A numeric parameter (``KnowledgeBaseError`` naming it when it is missing or not a number)."""
        value = self.params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise KnowledgeBaseError(f"rule parameter {name!r} must be a number >= 0, got {value!r}")
        return float(value)

    def names(self, name: str) -> frozenset[str]:
        """A parameter holding a list of names."""
        value = self.params.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KnowledgeBaseError(f"rule parameter {name!r} must be a list of names, got {value!r}")
        return frozenset(value)


class RulePack(_Strict):
    """The whole file: the bases (id → text) and, per jurisdiction, each rule's settings."""

    version: int = Field(ge=1)
    bases: dict[str, str]
    jurisdictions: dict[str, dict[str, RuleConfig]]

    @model_validator(mode="after")
    def _bases_exist(self) -> RulePack:
        for code, rules in self.jurisdictions.items():
            for rule, config in rules.items():
                for position, basis in enumerate(config.basis):
                    if basis not in self.bases:
                        raise ValueError(
                            f"jurisdictions.{code}.{rule}.basis.{position}: unknown basis {basis!r}; "
                            f"known: {', '.join(sorted(self.bases))}"
                        )
        return self

    def for_jurisdiction(self, code: str) -> tuple[str, dict[str, RuleConfig]]:
        """The code whose settings apply to ``code`` and those settings (see the module docstring)."""
        if code in self.jurisdictions:
            return code, self.jurisdictions[code]
        for parent in _inherited(code):
            if parent in self.jurisdictions:
                return parent, self.jurisdictions[parent]
        return DEFAULT_JURISDICTION, self.jurisdictions[DEFAULT_JURISDICTION]

    def basis_text(self, config: RuleConfig) -> str:
        """The rule's bases as one text (joined with " ; ")."""
        return " ; ".join(" ".join(self.bases[b].split()) for b in config.basis)


def _inherited(code: str) -> list[str]:
    from vigichem.chem import load_knowledge_base

    jurisdictions = {j.code: j for j in load_knowledge_base().jurisdictions.values()}
    found = jurisdictions.get(code)
    return list(found.inherits) if found else []


_COMMON = ("enabled", "severity", "basis")


def _split_params(raw: Any) -> Any:
    """Move each rule's own keys under ``params`` so that the file can stay flat."""
    if not isinstance(raw, dict) or not isinstance(raw.get("jurisdictions"), dict):
        return raw
    shaped: dict[str, Any] = {}
    for code, rules in raw["jurisdictions"].items():
        if not isinstance(rules, dict):
            shaped[code] = rules
            continue
        shaped[code] = {}
        for rule, settings in rules.items():
            if isinstance(settings, dict):
                common = {k: v for k, v in settings.items() if k in _COMMON}
                common["params"] = {k: v for k, v in settings.items() if k not in _COMMON}
                shaped[code][rule] = common
            else:
                shaped[code][rule] = settings
    return {**raw, "jurisdictions": shaped}


def parse_rule_pack(raw: Any, origin: str = "<data>") -> RulePack:
    """Validate a parsed rule pack; ``KnowledgeBaseError`` names the path of the first error."""
    try:
        pack = RulePack.model_validate(_split_params(raw))
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(p) for p in first["loc"] if p != "params")
        message = str(first["msg"]).removeprefix("Value error, ")
        where = f"{path}: " if path and not message.startswith("jurisdictions.") else ""
        raise KnowledgeBaseError(
            f"{origin}: invalid rule configuration: {where}{message}",
            details={"path": path, "file": origin},
        ) from None
    if DEFAULT_JURISDICTION not in pack.jurisdictions:
        raise KnowledgeBaseError(
            f"{origin}: invalid rule configuration: jurisdictions: "
            f"the default {DEFAULT_JURISDICTION} is missing",
            details={"path": "jurisdictions", "file": origin},
        )
    from vigichem.detect.rules import RULE_CLASSES

    for code, rules in pack.jurisdictions.items():
        for rule, config in rules.items():
            if rule not in RULE_CLASSES:
                raise KnowledgeBaseError(
                    f"{origin}: invalid rule configuration: jurisdictions.{code}.{rule}: unknown rule; "
                    f"known: {', '.join(sorted(RULE_CLASSES))}",
                    details={"path": f"jurisdictions.{code}.{rule}", "file": origin},
                )
            problem = RULE_CLASSES[rule].check_params(config)
            if problem is not None:
                name, message = problem
                raise KnowledgeBaseError(
                    f"{origin}: invalid rule configuration: jurisdictions.{code}.{rule}.{name}: {message}",
                    details={"path": f"jurisdictions.{code}.{rule}.{name}", "file": origin},
                )
    return pack


def load_rule_pack(path: Path | None = None) -> RulePack:
    """Read and validate the rule pack (default: the packaged ``data/rules.yaml``; cached)."""
    return _load(str(path or RULES_FILE))


@cache
def _load(path: str) -> RulePack:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise KnowledgeBaseError(f"{path}: cannot read the rule configuration: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(f"{path}: not valid YAML: {error}") from None
    return parse_rule_pack(raw, path)
