"""From matches to findings: effective dates, precedence, jurisdictions, limit values and the watch.

Decisions (documented in ``docs/screening.md``):

* **Effective dates.** With ``as_of`` set, a list, entry or limit not in force on that date is skipped.
  A match to an entry that comes into force *after* ``as_of`` gives a ``watch`` finding naming the date
  (the chemical is about to be listed); one no longer in force gives a note only.
* **Precedence.** A list whose ``precedence_over_me`` names a list that matched (in force) gives no
  finding; a note says which list took precedence (CWC Schedule 2 B "except those listed in Schedule 1").
* **Jurisdictions.** With a jurisdiction code, only the lists that apply there (``lists_for``), each
  finding carrying that code. Without one, each list is reported once under the jurisdiction(s) that name
  it directly (CWC under ``INTL``, EU regulations under ``EU``), plus any jurisdiction for which a limit
  of the entry is specific.
* **Limits.** Concentration limits decide the status (above: ``status``; at or below: ``status_below``,
  or no finding when that is empty, with a note). A limit expressed as nitrogen content is compared with
  the nitrogen the stated concentration brings (from the listed formula). Quantity limits never remove a
  listing: above the threshold they can only make the status more binding, and the reason names them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vigichem.chem.index import EntryRef, ScreeningIndex
from vigichem.chem.knowledge import in_force
from vigichem.chem.matching import Match
from vigichem.chem.mixtures import (
    LimitOutcome,
    Quantity,
    evaluate_concentration,
    evaluate_quantity,
    most_binding,
)
from vigichem.chem.models import Finding, Limit, Status
from vigichem.chem.structure import Structure
from vigichem.settings import get_settings

_MAX_WATCH_FINDINGS = 3
_ANY_JURISDICTION = "any"


@dataclass(frozen=True, slots=True)
class LawContext:
    """Where and when the law is applied."""

    index: ScreeningIndex
    jurisdiction: str | None
    as_of: dt.date | None

    def list_applies(self, list_id: str) -> bool:
        """True when the list applies in the chosen jurisdiction (always, when none is chosen)."""
        if self.jurisdiction is None:
            return True
        return list_id in self._allowed_lists()

    def _allowed_lists(self) -> set[str]:
        assert self.jurisdiction is not None
        return {r.id for r in self.index.knowledge_base.lists_for(self.jurisdiction)}

    def home_jurisdictions(self, ref: EntryRef) -> list[str]:
        """The jurisdictions that name the entry's list directly (``any`` when none does)."""
        return list(self.index.home_jurisdictions.get(ref.list_id, ())) or [_ANY_JURISDICTION]

    def jurisdictions_for(self, ref: EntryRef) -> list[str]:
        """The jurisdiction codes a finding for this entry is reported under."""
        if self.jurisdiction is not None:
            return [self.jurisdiction] if self.list_applies(ref.list_id) else []
        codes = list(self.index.home_jurisdictions.get(ref.list_id, ()))
        for limit in _limits_of(ref):
            codes += [code for code in limit.jurisdictions or () if code not in codes]
        return codes or [_ANY_JURISDICTION]

    def limit_applies(self, limit: Limit, code: str) -> bool:
        """True when a limit is in force on ``as_of`` and applies in jurisdiction ``code``."""
        if not in_force(limit, self.as_of):
            return False
        if limit.jurisdictions is None:
            return True
        if code == _ANY_JURISDICTION:
            return False
        chain = {j.code for j in self.index.knowledge_base.jurisdiction_chain(code)}
        return bool(chain & set(limit.jurisdictions))

    def watch_findings(
        self,
        structure: Structure,
        component: str | None = None,
        exclude: frozenset[int] | set[int] = frozenset(),
    ) -> list[Finding]:
        """Similarity watch findings for a structure without legal findings.

        ``exclude`` holds the ids of entry references the query matched (and which gave no finding because
        of a limit, a date or precedence): being "similar" to itself would be noise.
        """
        threshold = get_settings().watch_similarity
        findings: list[Finding] = []
        for ref, similarity in self.index.nearest(structure, threshold):
            if id(ref) in exclude or not self.list_applies(ref.list_id):
                continue
            if not in_force(ref.regulatory_list, self.as_of):
                continue
            codes = [self.jurisdiction] if self.jurisdiction else self.jurisdictions_for(ref)
            where = ref.label
            reason = (
                f"not listed, but structurally similar to {ref.entry.name} ({where}): Tanimoto "
                f"{similarity:.2f}, at or above the watch threshold {threshold:g}; a possible designer "
                "precursor to review (not a legal finding)"
            )
            findings += [
                Finding(
                    list=ref.regulatory_list.short,
                    entry=ref.entry.entry,
                    jurisdiction=code,
                    basis="structure",
                    status="watch",
                    reason=reason,
                    source=ref.entry.source,
                    component=component,
                    similarity=round(similarity, 3),
                )
                for code in codes
            ]
            if len(findings) >= _MAX_WATCH_FINDINGS:
                break
        return findings


def _limits_of(ref: EntryRef) -> tuple[Limit, ...]:
    return ref.entry.limits or ref.regulatory_list.limits


def _not_in_force_start(ref: EntryRef, as_of: dt.date | None) -> dt.date | None:
    """The date an entry comes into force when it is not yet in force on ``as_of``."""
    if as_of is None:
        return None
    starts = [d for d in (ref.regulatory_list.effective_from, ref.entry.effective_from) if d and d > as_of]
    return max(starts) if starts else None


def findings_for_matches(
    matches: list[Match],
    law: LawContext,
    *,
    concentration: float | None,
    quantity: Quantity | None,
    component: str | None,
) -> tuple[list[Finding], list[str]]:
    """The findings of a query's matches, and notes explaining matches that gave none."""
    findings: list[Finding] = []
    notes: list[str] = []
    current: list[Match] = []
    upcoming: set[tuple[str, str, str]] = set()
    for match in sorted(matches, key=lambda m: m.rank):
        ref = match.ref
        if in_force(ref.regulatory_list, law.as_of) and in_force(ref.entry, law.as_of):
            current.append(match)
            continue
        where = ref.label
        start = _not_in_force_start(ref, law.as_of)
        if start is None:
            notes.append(f"{where} ({ref.entry.name}) was no longer in force on {law.as_of}: no finding")
            continue
        if not law.list_applies(ref.list_id):
            continue
        reason = f"{where}: {match.detail}; listed from {start}, not yet in force on {law.as_of}"
        codes = [law.jurisdiction] if law.jurisdiction else law.home_jurisdictions(ref)
        for code in codes:
            key = (ref.list_id, ref.entry.entry, code)
            if key in upcoming:
                continue
            upcoming.add(key)
            findings.append(
                Finding(
                    list=ref.regulatory_list.short,
                    entry=ref.entry.entry,
                    jurisdiction=code,
                    basis=match.basis,
                    status="watch",
                    reason=reason,
                    source=ref.entry.source,
                    component=component,
                )
            )
    matched_lists = {m.ref.list_id: m.ref.regulatory_list.short for m in current}
    # One finding per (list, entry number, jurisdiction): many entries share a number (EU "Category 1"),
    # and the closest match (by CAS, the substance itself) speaks for them.
    reported: set[tuple[str, str, str]] = set()
    for match in sorted(current, key=lambda m: m.rank):
        ref = match.ref
        preceding = [matched_lists[p] for p in ref.regulatory_list.precedence_over_me if p in matched_lists]
        if preceding:
            notes.append(
                f"{ref.label} also matches but does not apply: the "
                f"chemical is listed in {', '.join(preceding)}, which takes precedence"
            )
            continue
        for code in law.jurisdictions_for(ref):
            key = (ref.list_id, ref.entry.entry, code)
            if key in reported:
                continue
            finding, note = _finding(match, law, code, concentration, quantity, component)
            if finding is not None:
                reported.add(key)
                findings.append(finding)
            if note is not None and note not in notes:
                notes.append(note)
    return findings, notes


def _what(ref: EntryRef) -> str:
    """How a limit sentence names the chemical: the entry's name, or "the chemical" for a family wording."""
    name = ref.entry.name
    return "the chemical" if ref.entry.family is not None or len(name) > 60 else name.lower()


def _concentration_outcome(ref: EntryRef, limit: Limit, concentration: float | None) -> LimitOutcome:
    name = _what(ref)
    if concentration is not None and "nitrogen" in limit.unit.casefold():
        nitrogen = ref.mass_fractions.get("N")
        if nitrogen:
            # The law states this limit as nitrogen content: convert what the user gave (% w/w of the
            # listed chemical) with the nitrogen mass fraction of the listed formula.
            as_nitrogen = round(concentration * nitrogen, 1)
            return evaluate_concentration(
                limit, as_nitrogen, f"nitrogen (from {concentration:g} % w/w {name})"
            )
    return evaluate_concentration(limit, concentration, name)


def _finding(
    match: Match,
    law: LawContext,
    code: str,
    concentration: float | None,
    quantity: Quantity | None,
    component: str | None,
) -> tuple[Finding | None, str | None]:
    ref = match.ref
    entry, regulatory_list = ref.entry, ref.regulatory_list
    where = ref.label
    status: Status = entry.status or regulatory_list.status
    clauses = [match.detail]
    sources = [entry.source]
    limits = [limit for limit in _limits_of(ref) if law.limit_applies(limit, code)]
    # A concentration limit without an activity says when the entry covers a mixture at all (EU 2019/1148
    # Annex I); one tied to an activity (a US export rule) only adds a duty for that activity.
    coverage_limits = [lim for lim in limits if lim.kind == "concentration" and lim.activity is None]
    if coverage_limits:
        outcomes = [_concentration_outcome(ref, limit, concentration) for limit in coverage_limits]
        clauses += [outcome.sentence for outcome in outcomes]
        binding = [outcome.status for outcome in outcomes if outcome.status is not None]
        if not binding:
            return None, f"{where}: " + "; ".join(clauses) + ": no finding"
        status = most_binding(binding)
        sources += [limit.source for limit in coverage_limits]
    for limit in (lim for lim in limits if lim.kind == "concentration" and lim.activity is not None):
        outcome = _concentration_outcome(ref, limit, concentration)
        clauses.append(outcome.sentence)
        if outcome.status is not None:
            status = most_binding([status, outcome.status])
            sources.append(limit.source)
    for limit in (limit for limit in limits if limit.kind == "quantity"):
        outcome = evaluate_quantity(limit, quantity, _what(ref))
        clauses.append(outcome.sentence)
        if outcome.status is not None:
            status = most_binding([status, outcome.status])
            sources.append(limit.source)
    finding = Finding(
        list=regulatory_list.short,
        entry=entry.entry,
        jurisdiction=code,
        basis=match.basis,
        status=status,
        reason=f"{where}: " + "; ".join(clauses),
        source="; ".join(dict.fromkeys(sources)),
        component=component,
    )
    return finding, None


__all__ = ["LawContext", "findings_for_matches"]
