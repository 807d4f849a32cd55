"""Typed records of the regulatory knowledge base and of screening results.

The knowledge base is data (``vigichem/chem/data``), validated into these models at load. The format is
documented in ``docs/knowledge-base.md``; every regulatory value carries the legal ``source`` it comes from.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Status = Literal["controlled", "restricted", "reportable", "declarable", "watch"]
"""How a finding binds: ``watch`` is never a legal finding, it only flags similarity to a listed chemical."""

IsomerScope = Literal["stereo", "optical"]
"""Which isomers an entry covers: every stereoisomer ("the stereoisomeric forms", EU drug precursors), or
only optical isomers ("its optical isomers", 21 CFR 1310.02): the mirror image, not a diastereomer."""

Basis = Literal["cas", "structure", "family", "name"]
"""What matched: the CAS printed in the regulation, the standardised structure, a family rule, or a name."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limit(_Frozen):
    """A limit value of a list entry (or of a whole list).

    ``kind="concentration"``: ``value`` in % w/w; at or below it ``status_below`` applies (``None``: the
    entry does not bind), above it ``status``. ``licence_upper_limit`` (EU 2019/1148 Annex I column 3): a
    licence may be granted up to it; ``licence_permitted=False`` means no licence regime exists.
    ``kind="quantity"``: ``value`` with a mass or volume ``unit`` (``g``, ``kg``, ``t``, ``mL``, ``L``); a
    quantity above it makes the ``status`` apply (e.g. a declaration threshold).
    ``inclusive=True``: the value itself already binds, where the law writes "… or more" / "… or higher"
    (e.g. EU 2019/1148 Annex II metal powders "70 % w/w or more"); the default reads "above the value".
    """

    kind: Literal["concentration", "quantity"]
    value: float = Field(ge=0)
    unit: str
    status: Status
    status_below: Status | None = None
    inclusive: bool = False  # True: a value equal to the limit binds ("or more"), not only above it
    licence_upper_limit: float | None = None
    licence_permitted: bool | None = None
    activity: str | None = None  # for quantity limits: production, processing, consumption, import, export …
    jurisdictions: tuple[str, ...] | None = None  # None: wherever the list applies
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    source: str
    note: str | None = None


class Entry(_Frozen):
    """One entry of a regulatory list, as the law numbers it."""

    entry: str  # as the law numbers it: "1A(1)", "2B(4)", "Annex I", "Category 1" …
    name: str
    names_fr: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()  # further names, any language
    cas: tuple[str, ...] = ()  # as printed in the regulation; check digit valid
    smiles: str | None = None  # only where the identity is unambiguous
    family: str | None = None  # id of a family rule in families.yaml
    status: Status | None = None  # overrides the list's default status
    limits: tuple[Limit, ...] = ()
    covers_salts: bool | None = None  # overrides the list's default
    covers_isomers: bool | None = None  # stereoisomers, within ``isomer_scope``
    isomer_scope: IsomerScope | None = None  # overrides the list's default
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    codes: dict[str, str] = Field(default_factory=dict)  # e.g. {"cn": "2847 00 00", "dea": "8520"}
    source: str
    note: str | None = None


class RegulatoryList(_Frozen):
    """A regulatory list: its legal source, default status, defaults for salts/isomers, and its entries."""

    id: str
    title: str
    title_fr: str | None = None
    short: str  # shown as a finding's ``list``
    authority: str
    source: str
    url: str | None = None
    version: str | None = None
    effective_from: dt.date | None = None
    status: Status
    covers_salts: bool = False
    covers_isomers: bool = True
    isomer_scope: IsomerScope = "stereo"
    limits: tuple[Limit, ...] = ()  # apply to every entry that has none of its own
    precedence_over_me: tuple[str, ...] = ()  # list ids whose match excludes this list ("except Schedule 1")
    entries: tuple[Entry, ...]
    note: str | None = None


class Jurisdiction(_Frozen):
    """A place where lists apply. ``inherits``: jurisdictions whose lists also apply here."""

    code: str
    name: str
    name_fr: str
    lists: tuple[str, ...] = ()
    inherits: tuple[str, ...] = ()
    source: str
    note: str | None = None


AlkylName = Literal["methyl", "ethyl", "n-propyl", "isopropyl"]
"""The alkyl groups the CWC writes as "(Me, Et, n-Pr or i-Pr)"."""


class NamedStructure(_Frozen):
    """A chemical named in a family rule (a positive, a negative or a named exemption)."""

    name: str
    cas: str | None = None  # as printed in the source; None where the source gives none
    smiles: str
    source: str | None = None  # where the name/CAS/SMILES come from
    why: str | None = None  # for negatives and exemptions: why it must not match (or is exempted)


class SubstituentRule(_Frozen):
    """A predicate on the groups attached at one mapped atom of a family rule's SMARTS core.

    The *branches* of mapped atom ``atom`` are its neighbours outside the core, each with everything
    reachable from it without passing through the core. ``count`` bounds how many branches there are
    (only those rooted at ``root_element`` when it is given; an implicit H is no branch, so ``(0, 1)``
    reads "H or ..."); ``satisfying`` (default: all of them) must satisfy ``kind``. See docs/families.md.
    """

    atom: int = Field(ge=1)
    label: str
    kind: Literal["alkyl", "alkyl_set", "any"]
    count: tuple[int, int] = (1, 1)
    satisfying: int | None = None
    allowed: tuple[AlkylName, ...] = ()  # for kind "alkyl_set"
    min_carbons: int = Field(default=1, ge=1)  # for kind "alkyl"
    max_carbons: int | None = Field(default=None, ge=1)  # for kind "alkyl"
    cycloalkyl: bool = True  # for kind "alkyl": rings allowed when wholly inside the group
    root_element: str | None = None  # only branches whose first atom is this element count
    alkylated_salt: bool = False  # a quaternary N+ may carry one more alkyl ("alkylated salts")

    @field_validator("count", mode="before")
    @classmethod
    def _count_as_range(cls, value: object) -> object:
        """Accept ``count: 2`` as shorthand for ``count: [2, 2]``."""
        return (value, value) if isinstance(value, int) else value


class PatternCount(_Frozen):
    """A whole-molecule count of a SMARTS pattern's (unique) matches."""

    smarts: str
    label: str
    min: int = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)


class ElementRule(_Frozen):
    """Whole-molecule predicates: elements present or absent, carbon count, pattern counts."""

    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    min_carbons: int | None = Field(default=None, ge=0)
    max_carbons: int | None = Field(default=None, ge=0)
    counts: tuple[PatternCount, ...] = ()


class FamilyRule(_Frozen):
    """A family entry written as the law writes it, as a structural rule (see docs/families.md).

    A structure falls under the rule when the SMARTS ``smarts`` matches it with every ``substituents``
    predicate holding on one and the same match, and the ``elements`` predicates hold for the whole
    molecule. A structure whose skeleton equals a named ``exemptions`` chemical is reported as exempted.
    """

    id: str
    entry: str  # as the law numbers it: "1A(1)", "2B(4)"
    description: str  # the legal wording
    source: str
    effective_from: dt.date | None = None
    smarts: str
    core_label: str  # the core in words, for explanations: "P(=O)F with an O-substituent"
    substituents: tuple[SubstituentRule, ...] = ()
    elements: ElementRule = ElementRule()
    exemptions: tuple[NamedStructure, ...] = ()
    positives: tuple[NamedStructure, ...] = ()  # chemicals the law or a public list names under it
    negatives: tuple[NamedStructure, ...] = ()  # chemicals that must not match (or must be exempted)
    limits: str | None = None  # known limits of the encoding
    note: str | None = None


# ---- screening results -------------------------------------------------------------------------------


class Identity(_Frozen):
    """What the query was resolved to."""

    cas: str | None = None
    name: str | None = None
    smiles: str | None = None
    inchikey: str | None = None


class Finding(_Frozen):
    """One reason a chemical is controlled (or watched): list, entry, jurisdiction, basis, status, source."""

    list: str
    entry: str
    jurisdiction: str
    basis: Basis
    status: Status
    reason: str
    source: str
    component: str | None = None  # for mixtures: which component fired
    similarity: float | None = None  # for watch findings


class Component(_Frozen):
    """A component of a product or mixture."""

    query: str
    concentration: float | None = None  # % w/w


class ScreeningResult(_Frozen):
    """The answer to one screening query."""

    query: str
    identity: Identity | None
    findings: tuple[Finding, ...] = ()
    errors: tuple[dict[str, object], ...] = ()
    components: tuple[ScreeningResult, ...] = ()  # for mixtures: each component's own result
    # Explanations that are not findings: an exempted family match, a list set aside by precedence, a
    # salt or isomer the list does not cover, a limit not reached, an entry not yet in force.
    notes: tuple[str, ...] = ()

    @property
    def controlled(self) -> bool:
        """True when any legal (non-watch) finding was made."""
        return any(f.status != "watch" for f in self.findings)


__all__ = [
    "AlkylName",
    "Basis",
    "Component",
    "ElementRule",
    "Entry",
    "FamilyRule",
    "Finding",
    "Identity",
    "IsomerScope",
    "Jurisdiction",
    "Limit",
    "NamedStructure",
    "PatternCount",
    "RegulatoryList",
    "ScreeningResult",
    "Status",
    "SubstituentRule",
]
