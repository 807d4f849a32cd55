"""Screening: :func:`screen` resolves a query to an identity and finds every list entry it falls under.

The steps (documented for users in ``docs/screening.md``):

1. **Route the query.** A CAS-shaped query is a CAS number (a wrong check digit is an error, never a name);
   an InChIKey, an InChI; an exact name or synonym hit beats reading the text as SMILES (``"CO"`` is a
   name only if a list names it); else SMILES; else an unknown name, with close names suggested. A query in
   the mixture syntax (``"hydrogen peroxide 30%; water 70%"``) is screened component by component.
2. **Match.** By CAS as printed in the regulation; by structure (the whole substance, or the parent of a
   submitted salt / a stereoisomer where the entry covers them); by family rule; by name for entries that
   print no CAS and no structure. Matching is in :mod:`vigichem.chem.matching`.
3. **Apply the law.** Effective dates, precedence between lists ("except those listed in Schedule 1"),
   jurisdictions and limit values, giving one :class:`Finding` per (list, entry, jurisdiction). This is in
   :mod:`vigichem.chem.findings`.
4. **Watch.** When no legal finding was made, a structure similar to a listed one (Tanimoto at or above
   ``watch_similarity``) gets ``watch`` findings, kept apart from legal findings by their status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from vigichem.chem.findings import LawContext, findings_for_matches
from vigichem.chem.index import ScreeningIndex, get_index
from vigichem.chem.matching import Resolution, provably_unlisted, query_route, quick_resolution, resolve
from vigichem.chem.mixtures import (
    Quantity,
    looks_like_mixture,
    parse_mixture,
    parse_quantity,
    validate_components,
)
from vigichem.chem.models import Component, Finding, ScreeningResult
from vigichem.chem.structure import parse_smiles_lightly
from vigichem.errors import InputTooLarge, InvalidInput, UnknownName
from vigichem.settings import get_settings


def screen(
    query: str | Sequence[Component],
    jurisdiction: str | None = None,
    as_of: dt.date | None = None,
    quantity: str | Quantity | None = None,
) -> ScreeningResult:
    """Screen a chemical or a mixture against the regulatory lists.

    ``query``: a CAS number, a name or synonym (English or French), SMILES, InChI or InChIKey, a mixture
    in the syntax ``"name 30%; other 70%"``, or a sequence of :class:`Component`. ``jurisdiction``: a code
    such as ``"EU"`` (``None``: every jurisdiction). ``as_of``: apply the law in force on that date
    (``None``: every entry currently in the knowledge base). ``quantity``: the amount of the product
    (``"500 kg"`` or a :class:`Quantity`), compared with quantity thresholds.

    Raises an :class:`~vigichem.errors.InvalidInput` subclass when the query cannot be used (bad CAS
    check digit, unreadable structure, unknown name, bad composition, oversized input, unknown
    jurisdiction or unit); :func:`screen_safely` turns those into the result's ``errors``.
    """
    index = get_index()
    law = _law_context(index, jurisdiction, as_of)
    amount = parse_quantity(quantity) if isinstance(quantity, str) else quantity
    if isinstance(query, str):
        text = _checked_query_text(query)
        # Results are immutable: a repeated query (the same product at a point of sale) is answered from
        # the index's small LRU cache. The key holds everything the answer depends on.
        amount_key = (amount.value, amount.unit) if amount is not None else None
        key = (text, law.jurisdiction, law.as_of, amount_key, get_settings().watch_similarity)
        cached = index.results.get(key)
        if isinstance(cached, ScreeningResult):
            return cached
        if looks_like_mixture(text):
            result = _screen_mixture(index, text, parse_mixture(text), law, amount)
        else:
            result = _screen_single(index, text, law, amount, concentration=None, component=None)
        index.results.put(key, result)
        return result
    components = validate_components(list(query))
    label = "; ".join(
        c.query if c.concentration is None else f"{c.query} {c.concentration:g}%" for c in components
    )
    _checked_query_text(label)
    return _screen_mixture(index, label, components, law, amount)


def screen_safely(
    query: str | Sequence[Component],
    jurisdiction: str | None = None,
    as_of: dt.date | None = None,
    quantity: str | Quantity | None = None,
) -> ScreeningResult:
    """Like :func:`screen`, but a bad query gives a result whose ``errors`` holds the error (batch use)."""
    try:
        return screen(query, jurisdiction=jurisdiction, as_of=as_of, quantity=quantity)
    except InvalidInput as error:
        label = query if isinstance(query, str) else "; ".join(c.query for c in query)
        return ScreeningResult(query=label, identity=None, errors=(error.to_dict(),))


_BATCH_CHUNK = 256  # structures whose molecules are alive at once in screen_batch


def screen_batch(
    queries: Sequence[str],
    jurisdiction: str | None = None,
    as_of: dt.date | None = None,
    quantity: str | Quantity | None = None,
) -> list[ScreeningResult]:
    """Screen many queries at once: the same results as ``[screen_safely(q, ...) for q in queries]``.

    For catalogues and files of structures. Queries that may take the quick negative path (plain SMILES,
    nearly all of a real catalogue) are parsed, then checked stage by stage, a chunk at a time (see
    :func:`vigichem.chem.matching.provably_unlisted`), which costs less per structure than one call each;
    every other query, and every one the quick path does not clear, is screened by :func:`screen_safely`.
    Results are cached as by :func:`screen`. A bad query gives a result with ``errors``, as in
    :func:`screen_safely`.
    """
    results: list[ScreeningResult | None] = [None] * len(queries)
    try:
        index = get_index()
        law = _law_context(index, jurisdiction, as_of)
        amount = parse_quantity(quantity) if isinstance(quantity, str) else quantity
    except InvalidInput:  # every query would give this error: screen_safely says it for each
        return [screen_safely(q, jurisdiction=jurisdiction, as_of=as_of, quantity=quantity) for q in queries]
    amount_key = (amount.value, amount.unit) if amount is not None else None
    threshold = get_settings().watch_similarity
    for start in range(0, len(queries), _BATCH_CHUNK):
        # Stage by stage over the chunk (routing, parsing, the quick path's checks, results), so that each
        # routine runs many times in a row; what cannot take the quick path goes to screen_safely.
        routed: list[tuple[int, str, tuple[object, ...]]] = []
        for position in range(start, min(start + _BATCH_CHUNK, len(queries))):
            found = _quick_candidate(index, queries[position], law, amount_key, threshold)
            if found is None:
                results[position] = screen_safely(
                    queries[position], jurisdiction=jurisdiction, as_of=as_of, quantity=amount
                )
            else:
                routed.append((position, *found))
        parsed = [(candidate, parse_smiles_lightly(candidate[1])) for candidate in routed]
        candidates = [(candidate, mol) for candidate, mol in parsed if mol is not None]
        unlisted = provably_unlisted(index, [mol for _, mol in candidates])
        cleared = {
            position for ((position, _, _), _), clear in zip(candidates, unlisted, strict=True) if clear
        }
        for position, text, key in routed:
            if position in cleared:
                result = _quick_result(text, quick_resolution(text))
                index.results.put(key, result)
            else:
                result = screen_safely(
                    queries[position], jurisdiction=jurisdiction, as_of=as_of, quantity=amount
                )
            results[position] = result
    return [result for result in results if result is not None]


def _quick_candidate(
    index: ScreeningIndex,
    query: object,
    law: LawContext,
    amount_key: tuple[float, str] | None,
    threshold: float,
) -> tuple[str, tuple[object, ...]] | None:
    """For :func:`screen_batch`: the text and result-cache key of a query that may take the quick
    negative path and has no cached answer, else None (it goes to :func:`screen_safely`)."""
    if not isinstance(query, str):
        return None
    try:
        text = _checked_query_text(query)
    except InvalidInput:
        return None
    key = (text, law.jurisdiction, law.as_of, amount_key, threshold)
    if index.results.get(key) is not None or looks_like_mixture(text):
        return None
    if index.resolutions.get((text, threshold)) is not None or query_route(index, text)[0] != "quick smiles":
        return None
    return text, key


def _checked_query_text(query: str) -> str:
    if not isinstance(query, str):
        raise InvalidInput(f"a query must be text, got {type(query).__name__}")
    limit = get_settings().max_query_chars
    if len(query) > limit:
        raise InputTooLarge(
            f"query is {len(query)} characters long, above the limit of {limit} "
            "(setting VIGICHEM_MAX_QUERY_CHARS)",
            details={"length": len(query), "limit": limit},
        )
    text = query.strip()
    if not text:
        raise InvalidInput("empty query: give a CAS number, a name, SMILES, InChI or InChIKey")
    return text


def _law_context(index: ScreeningIndex, jurisdiction: str | None, as_of: dt.date | None) -> LawContext:
    if as_of is not None and not isinstance(as_of, dt.date):
        raise InvalidInput(f"as_of must be a date, got {as_of!r}")
    if jurisdiction is None:
        return LawContext(index=index, jurisdiction=None, as_of=as_of)
    code = index.knowledge_base.jurisdiction(jurisdiction).code  # raises UnknownJurisdiction
    return LawContext(index=index, jurisdiction=code, as_of=as_of)


def _screen_single(
    index: ScreeningIndex,
    text: str,
    law: LawContext,
    quantity: Quantity | None,
    concentration: float | None,
    component: str | None,
) -> ScreeningResult:
    resolution: Resolution = resolve(index, text)
    if resolution.quick:
        return _quick_result(text, resolution)
    return _result_of(resolution, text, law, quantity, concentration, component)


def _quick_result(text: str, resolution: Resolution) -> ScreeningResult:
    """The result of a quick negative, under any law context: no match, no note, no structure, so no
    finding and no watch (the quick path already found nothing similar). The same four fields as
    `_result_of` gives, so that even `model_fields_set` is the same."""
    return ScreeningResult(query=text, identity=resolution.identity, findings=(), notes=())


def _result_of(
    resolution: Resolution,
    text: str,
    law: LawContext,
    quantity: Quantity | None,
    concentration: float | None,
    component: str | None,
) -> ScreeningResult:
    """The result of a resolution under the law: findings, the similarity watch and notes."""
    legal, notes = findings_for_matches(
        resolution.matches, law, concentration=concentration, quantity=quantity, component=component
    )
    findings: list[Finding] = list(legal)
    if not any(f.status != "watch" for f in findings) and resolution.structure is not None:
        matched = {id(match.ref) for match in resolution.matches}  # a limit or date set them aside
        findings += law.watch_findings(resolution.structure, component=component, exclude=matched)
    return ScreeningResult(
        query=text,
        identity=resolution.identity,
        findings=tuple(findings),
        notes=tuple(dict.fromkeys([*resolution.notes, *notes])),
    )


def _screen_mixture(
    index: ScreeningIndex,
    label: str,
    components: Sequence[Component],
    law: LawContext,
    quantity: Quantity | None,
) -> ScreeningResult:
    results: list[ScreeningResult] = []
    for component in components:
        part = _component_quantity(quantity, component.concentration)
        try:
            text = _checked_query_text(component.query)
            result = _screen_single(index, text, law, part, component.concentration, component.query)
        except UnknownName as error:
            # Names are known only for listed chemicals, so an unknown name in a product (water, a solvent)
            # is usual: the component is reported as not identified instead of failing the product.
            note = (
                f"component {component.query!r} is not a name or synonym in any list, so it was not "
                "identified; give its CAS number or SMILES to screen it by structure"
            )
            del error
            result = ScreeningResult(query=component.query, identity=None, notes=(note,))
        except InvalidInput as error:
            # One unusable component makes the whole mixture's answer unreliable: say which one.
            raise type(error)(
                f"component {component.query!r}: {error.message}", details=error.details
            ) from None
        results.append(result)
    findings = tuple(f for result in results for f in result.findings)
    notes = tuple(dict.fromkeys(n for result in results for n in result.notes))
    return ScreeningResult(
        query=label, identity=None, findings=findings, notes=notes, components=tuple(results)
    )


def _component_quantity(quantity: Quantity | None, concentration: float | None) -> Quantity | None:
    """A component's share of the product quantity: by mass with its % w/w; a volume is kept whole."""
    if quantity is None or concentration is None or quantity.dimension != "mass":
        return quantity
    if concentration == 0:
        return None
    return quantity.scaled(concentration)


__all__ = ["screen", "screen_batch", "screen_safely"]
