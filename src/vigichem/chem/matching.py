"""Query routing and matching: from the text a user typed to the list entries it matches.

Routing order (first that applies): CAS shape → CAS number (a wrong check digit is an error); InChIKey
shape; InChI prefix; an exact normalised name or synonym; SMILES; otherwise an unknown name with close
names suggested. A query that is neither a known name nor readable SMILES gets the error that fits it:
:class:`InvalidStructure` (RDKit's reason) when it reads like SMILES, :class:`UnknownName` otherwise.

A match carries its basis, in decreasing strength ``cas`` > ``structure`` > ``family`` > ``name``; when
the same entry is reached several ways the strongest basis is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from vigichem.chem.cas import is_cas_like, normalise_cas
from vigichem.chem.index import (
    EntryRef,
    ScreeningIndex,
    heavy_atom_composition,
    heavy_atom_graph_signature,
    inchikey_of,
    whole_key,
)
from vigichem.chem.models import Basis, Identity
from vigichem.chem.names import normalise_name, suggest_names
from vigichem.chem.structure import (
    Structure,
    looks_like_inchi,
    looks_like_inchikey,
    looks_like_smiles,
    parse_inchi,
    parse_smiles,
    parse_smiles_lightly,
    standardise,
)
from vigichem.errors import InvalidStructure, UnknownName
from vigichem.settings import get_settings

_BASIS_STRENGTH: dict[Basis, int] = {"cas": 3, "structure": 2, "family": 1, "name": 0}
_CAS_PREFIX = re.compile(r"^\s*cas(?:\s*(?:rn|no\.?|number))?\s*[:#]?\s*\d", re.IGNORECASE)
# Characters that make a blank-free query worth handing to the SMILES parser even when the cheap syntax
# check fails (an unclosed branch or ring): its error then carries RDKit's reason.
_SMILES_CHARS = set("()[]=#@\\/%0123456789")
_WHITESPACE = re.compile(r"\s")
# Text that reads as a name rather than as broken SMILES: a run of lower-case letters, a non-ASCII
# letter, or punctuation SMILES never uses ("2,4-D").
_WORDLIKE = re.compile(r"[a-z]{4,}|[^\x00-\x7f]|[,']")


Form = Literal["exact", "salt", "isomer"]
_FORM_ORDER: dict[str, int] = {"exact": 0, "salt": 1, "isomer": 2}


@dataclass(frozen=True, slots=True)
class Match:
    """An entry reached by a query: how (``basis``), a clause saying what matched, and whether the query
    is the listed substance itself, a salt of it or another isomer (``form``)."""

    ref: EntryRef
    basis: Basis
    detail: str
    form: Form = "exact"

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key: stronger basis first, then the listed substance itself before a salt or isomer."""
        return (-_BASIS_STRENGTH[self.basis], _FORM_ORDER[self.form])


@dataclass(slots=True)
class Resolution:
    """What a query resolved to: its identity, its structure (if known), the matches and side notes."""

    identity: Identity | None
    structure: Structure | None = None
    matches: list[Match] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quick: bool = False  # answered by the quick negative path: no matches, no notes, no structure

    def add(self, match: Match) -> None:
        """Keep ``match`` unless the same entry is already matched on an equal or stronger basis."""
        for position, existing in enumerate(self.matches):
            if existing.ref is match.ref:
                if match.rank < existing.rank:
                    self.matches[position] = match
                return
        self.matches.append(match)

    def matched(self, ref: EntryRef) -> bool:
        """True when ``ref`` is already matched."""
        return any(existing.ref is ref for existing in self.matches)


def resolve(index: ScreeningIndex, text: str) -> Resolution:
    """Route a (stripped, non-empty) query and collect every entry it matches.

    Resolutions are kept in the index's small LRU cache (keyed by the query text and the watch threshold,
    on which the quick path depends): a point of sale screens the same few chemicals over and over.
    Quick negatives (``quick``) are not kept (see below).
    Callers must not modify a returned resolution. Errors are not cached.
    """
    key = (text, get_settings().watch_similarity)
    cached = index.resolutions.get(key)
    if isinstance(cached, Resolution):
        return cached
    resolution = _resolve(index, text)
    if not resolution.quick:
        # Quick negatives are not kept: the screening result cache already holds their answer, and a
        # batch of them (thousands of unlisted structures) would push out the resolutions that cost a
        # full standardisation, which a point of sale asks for again and again.
        index.resolutions.put(key, resolution)
    return resolution


Route = Literal["listed cas", "cas", "inchikey", "inchi", "name", "quick smiles", "smiles", "unknown"]


def query_route(index: ScreeningIndex, text: str) -> tuple[Route, tuple[EntryRef, ...]]:
    """How :func:`resolve` reads a query (the routing order of the module docstring), with the entries
    of a name hit. ``"quick smiles"`` is SMILES that may take the quick negative path; the batch screener
    asks this too, so that both decide from one place."""
    if text in index.by_cas:  # already the canonical form of a listed CAS number
        return "listed cas", ()
    if is_cas_like(text) or _CAS_PREFIX.match(text):
        return "cas", ()
    if looks_like_inchikey(text):
        return "inchikey", ()
    if looks_like_inchi(text) or text.startswith("InChI="):
        return "inchi", ()
    name_refs = index.by_name.get(normalise_name(text))
    if name_refs:
        return "name", name_refs
    if (_WHITESPACE.search(text) is None and not _SMILES_CHARS.isdisjoint(text)) or looks_like_smiles(text):
        return ("quick smiles" if _NOT_QUICK_TEXT.search(text) is None else "smiles"), ()
    return "unknown", ()


def _resolve(index: ScreeningIndex, text: str) -> Resolution:
    route, name_refs = query_route(index, text)
    if route == "listed cas":
        return _from_cas(index, text)
    if route == "cas":
        return _from_cas(index, normalise_cas(text))
    if route == "inchikey":
        return _from_inchikey(index, text.strip())
    if route == "inchi":
        mol = parse_inchi(text)
        return _from_structure(index, mol, standardise(mol))
    if route == "name":
        return _from_name(index, text, name_refs)
    if route == "quick smiles":
        light = parse_smiles_lightly(text)
        quick = _quick_negative(index, text, light) if light is not None else None
        if quick is not None:
            return quick
    if route in ("quick smiles", "smiles"):
        return _from_smiles(index, text)
    raise _unknown_name(index, text)


def _from_smiles(index: ScreeningIndex, text: str) -> Resolution:
    """The full path for SMILES: parse, standardise, match (a failed parse of word-like text is an unknown
    name rather than broken SMILES)."""
    try:
        mol = parse_smiles(text)
    except InvalidStructure as error:
        if _WORDLIKE.search(text):
            raise _unknown_name(index, text, smiles_reason=error.message) from None
        raise
    return _from_structure(index, mol, standardise(mol))


# Text that rules out the quick path: a charge or an isotope label (inside a bracket atom, the only place
# SMILES writes them), a dummy atom, an explicit hydrogen atom (the light parse keeps it), several
# fragments, or blanks. With the formula's elements (only common non-metals: no metal to disconnect,
# nothing to neutralise or normalise) it replaces a substructure search on the molecule.
_NOT_QUICK_TEXT = re.compile(r"\[\d|\[[^\]]*[+-]|\*|\[H|[.\s]")
_PLAIN_ELEMENTS = frozenset({"H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I"})
_FORMULA_ELEMENT = re.compile(r"[A-Z][a-z]?")


@lru_cache(maxsize=8192)
def _plain_formula(formula: str) -> bool:
    return _PLAIN_ELEMENTS.issuperset(_FORMULA_ELEMENT.findall(formula))


@lru_cache(maxsize=8192)
def _formula_facts(formula: str) -> tuple[bool, str]:
    """Whether a Hill formula has only common non-metals, and its heavy-atom composition (one cached
    look-up per query instead of two)."""
    return _plain_formula(formula), heavy_atom_composition(formula)


def _quick_negative(index: ScreeningIndex, text: str, mol: Chem.Mol) -> Resolution | None:
    """A resolution without matches for a plain structure that provably matches nothing, else None.

    Most structures submitted are far from every list. For an uncharged, single-fragment molecule of
    common non-metal elements (the caller checks the text with ``_NOT_QUICK_TEXT`` and parses it with
    :func:`parse_smiles_lightly`), standardisation changes nothing that matching sees (it moves charges,
    bond orders and hydrogens, never heavy-atom bonds). So: a heavy-atom composition, or failing that a
    heavy-atom graph, unlike every listed structure's rules out an identity match, and the family rules
    and the similarity watch run on the parsed molecule. Only when all three are negative is
    standardisation skipped, and with it InChI generation (whose cost dominates) and canonical SMILES:
    such a result's identity is the SMILES as submitted, without InChIKey. Any hint of a match takes the
    full path. The tests and the benchmark check on real data sets that both paths agree.
    """
    if not provably_unlisted(index, [mol])[0]:
        return None
    return quick_resolution(text)


def quick_resolution(text: str) -> Resolution:
    """The resolution of SMILES ``text`` whose molecule :func:`provably_unlisted` cleared."""
    return Resolution(identity=Identity(smiles=text), quick=True)


def provably_unlisted(index: ScreeningIndex, mols: Sequence[Chem.Mol]) -> list[bool]:
    """For each lightly parsed plain molecule (see :func:`_quick_negative`), whether it provably matches
    no listed structure, no family rule and nothing similar enough for a watch.

    The checks run stage by stage over all the molecules (every formula, then every family check, then
    every fingerprint), each stage only on the molecules the previous ones left: the same decisions as
    one molecule at a time, but each RDKit routine runs many times in a row with its code and data hot in
    the processor's caches, which is what makes batch screening cheaper per structure. The family matcher
    and the similarity index are asked yes/no questions (:meth:`FamilyMatcher.matches_any`,
    :meth:`ScreeningIndex.near_any`): the same answers as ``match`` and ``nearest`` on a provisional
    structure, without building it or any record.
    """
    formulas = [rdMolDescriptors.CalcMolFormula(mol) for mol in mols]
    alive: list[int] = []
    for position, formula in enumerate(formulas):
        plain, composition = _formula_facts(formula)
        if not plain:
            continue
        if (
            composition in index.compositions
            and heavy_atom_graph_signature(mols[position]) in index.graph_signatures
        ):
            continue
        alive.append(position)
    families = index.family_matcher
    alive = [position for position in alive if not families.matches_any(mols[position], formulas[position])]
    threshold = get_settings().watch_similarity
    alive = [position for position in alive if not index.near_any(mols[position], threshold)]
    unlisted = [False] * len(mols)
    for position in alive:
        unlisted[position] = True
    return unlisted


def _unknown_name(index: ScreeningIndex, text: str, smiles_reason: str | None = None) -> UnknownName:
    suggestions = suggest_names(text, index.suggestions_source())
    message = f"unknown name {text!r}: not a name or synonym in any list"
    if smiles_reason:
        message += ", nor valid SMILES"
    if suggestions:
        message += "; did you mean: " + ", ".join(suggestions) + "?"
    else:
        message += "; give a CAS number, SMILES or InChI instead"
    return UnknownName(message, details={"query": text, "suggestions": suggestions})


def _identity(refs: list[EntryRef], structure: Structure | None, cas: str | None = None) -> Identity:
    first = refs[0] if refs else None
    return Identity(
        cas=cas or (first.entry.cas[0] if first and first.entry.cas else None),
        name=first.entry.name if first else None,
        smiles=structure.smiles if structure else None,
        inchikey=structure.inchikey if structure else None,
    )


def _structure_of(refs: tuple[EntryRef, ...] | list[EntryRef]) -> tuple[Chem.Mol, Structure] | None:
    for ref in refs:
        if ref.structure is not None and ref.entry.smiles is not None:
            return parse_smiles(ref.entry.smiles), ref.structure
    return None


def _from_cas(index: ScreeningIndex, cas: str) -> Resolution:
    refs = list(index.by_cas.get(cas, ()))
    found = _structure_of(refs)
    structure = found[1] if found else None
    resolution = Resolution(identity=_identity(refs, structure, cas=cas), structure=structure)
    for ref in refs:
        resolution.add(Match(ref, "cas", f"CAS {cas} is printed in the entry ({ref.entry.name})"))
    if not found and not refs and cas in index.named_in_families:
        name, smiles = index.named_in_families[cas]
        mol = parse_smiles(smiles)
        found = (mol, standardise(mol))
        resolution.structure = found[1]
        resolution.identity = Identity(cas=cas, name=name, smiles=found[1].smiles, inchikey=found[1].inchikey)
    if found:
        _match_structure(index, resolution, *found)
    elif not refs:
        resolution.notes.append(
            f"CAS {cas} is printed in none of the lists; without a structure (SMILES or InChI), structural "
            "families and similarity to listed chemicals were not checked"
        )
    return resolution


def _from_name(index: ScreeningIndex, text: str, refs: tuple[EntryRef, ...]) -> Resolution:
    found = _structure_of(refs)
    structure = found[1] if found else None
    resolution = Resolution(identity=_identity(list(refs), structure), structure=structure)
    cas_numbers = dict.fromkeys(cas for ref in refs for cas in ref.entry.cas)
    for cas in cas_numbers:
        for ref in index.by_cas.get(cas, ()):
            resolution.add(
                Match(ref, "cas", f"CAS {cas} of {text!r} is printed in the entry ({ref.entry.name})")
            )
    for ref in refs:
        resolution.add(Match(ref, "name", f"the entry names {text!r} ({ref.entry.name})"))
    if found:
        _match_structure(index, resolution, *found)
    return resolution


def _from_inchikey(index: ScreeningIndex, key: str) -> Resolution:
    refs = list(index.by_whole.get(key.split("-")[0], ()))
    found = _structure_of(refs)
    structure = found[1] if found else None
    identity = _identity(refs, None)
    resolution = Resolution(
        identity=Identity(
            cas=identity.cas, name=identity.name, smiles=structure.smiles if structure else None, inchikey=key
        ),
        structure=structure,
    )
    for ref in refs:
        exact = ref.structure is not None and (ref.is_salt or ref.structure.inchikey == key)
        if exact:
            resolution.add(Match(ref, "structure", f"the InChIKey is that of {ref.entry.name}"))
        elif ref.covers_isomers and ref.isomer_scope == "stereo":
            # An InChIKey cannot be mirrored: "optical isomers only" entries need the structure itself.
            resolution.add(
                Match(
                    ref,
                    "structure",
                    f"the InChIKey is that of an isomer of {ref.entry.name} (isomers covered)",
                    "isomer",
                )
            )
        else:
            resolution.notes.append(_isomer_not_covered(ref))
    if found:
        _match_families(index, resolution, found[1])
    elif not refs:
        resolution.notes.append(
            "the InChIKey is in none of the lists; an InChIKey cannot be turned back into a structure, so "
            "structural families and similarity were not checked: submit SMILES or InChI"
        )
    return resolution


def _from_structure(index: ScreeningIndex, mol: Chem.Mol, structure: Structure) -> Resolution:
    resolution = Resolution(identity=None, structure=structure)
    _match_structure(index, resolution, mol, structure)
    exact = [m.ref for m in resolution.matches if m.basis == "structure"]
    identity = _identity(exact, structure)
    if structure.is_salt_or_mixture_parent and not any(
        a.GetAtomicNum() == 6 for a in structure.mol.GetAtoms()
    ):
        # An inorganic salt has no meaningful "parent": identify it as submitted (ammonium nitrate).
        identity = identity.model_copy(
            update={"smiles": Chem.MolToSmiles(mol), "inchikey": inchikey_of(mol) or None}
        )
    resolution.identity = identity
    return resolution


# Names of the fragments standardisation most often strips, for reasons a compliance officer reads.
_FRAGMENT_NAMES = {
    "Cl": "hydrochloride",
    "[Cl-]": "chloride",
    "Br": "hydrobromide",
    "[Br-]": "bromide",
    "I": "hydroiodide",
    "[I-]": "iodide",
    "O": "water",
    "O=S(=O)(O)O": "sulfate",
    "O=C(O)C(=O)O": "oxalate",
    "O=C(O)CC(O)(CC(=O)O)C(=O)O": "citrate",
    "O=C(O)C(O)C(O)C(=O)O": "tartrate",
    "O=C(O)/C=C\\C(=O)O": "maleate",
    "O=C(O)/C=C/C(=O)O": "fumarate",
    "CS(=O)(=O)O": "mesylate",
    "[Na+]": "sodium",
    "[K+]": "potassium",
}


def describe_removed(fragments: tuple[str, ...]) -> str:
    """The stripped fragments of a salt in words ("hydrochloride removed"), SMILES where unnamed."""
    if not fragments:
        return "charge neutralised"
    return ", ".join(_FRAGMENT_NAMES.get(fragment, fragment) for fragment in fragments) + " removed"


def _isomer_not_covered(ref: EntryRef) -> str:
    if ref.covers_isomers and ref.isomer_scope == "optical":
        return (
            f"{ref.label} covers {ref.entry.name} and its optical isomers only: the submitted stereoisomer "
            "is not its mirror image (or was given as an InChIKey, which cannot be mirrored), so no finding"
        )
    return (
        f"{ref.label} lists {ref.entry.name} as a defined stereoisomer and "
        "does not cover other isomers: no finding for the submitted isomer"
    )


def _match_structure(
    index: ScreeningIndex, resolution: Resolution, mol: Chem.Mol, structure: Structure
) -> None:
    """Whole-substance, parent-of-salt and family matches of a standardised structure."""
    is_salt = structure.is_salt_or_mixture_parent
    for ref in index.by_whole.get(whole_key(mol, structure), ()):
        if resolution.matched(ref):
            continue
        assert ref.structure is not None  # indexed by structure
        same_stereo = is_salt or ref.is_salt or ref.structure.inchikey == structure.inchikey
        if same_stereo:
            resolution.add(Match(ref, "structure", f"the submitted structure is {ref.entry.name}"))
        elif ref.covers_isomer(structure.mol):
            resolution.add(
                Match(
                    ref,
                    "structure",
                    f"the submitted structure is a stereoisomer (or isotopologue) of {ref.entry.name}; "
                    "the entry covers isomers",
                    "isomer",
                )
            )
        else:
            resolution.notes.append(_isomer_not_covered(ref))
    if is_salt:
        removed = describe_removed(structure.removed_fragments)
        for ref in index.by_parent.get(structure.skeleton_key, ()):
            if resolution.matched(ref):
                continue
            where = ref.label
            assert ref.structure is not None  # indexed by structure
            if ref.structure.inchikey != structure.inchikey:
                if ref.covers_salts and ref.covers_isomer(structure.mol):
                    resolution.add(
                        Match(
                            ref,
                            "structure",
                            f"the parent of the submitted salt ({removed}) is a stereoisomer of "
                            f"{ref.entry.name}; the entry covers its salts and isomers",
                            "isomer",
                        )
                    )
                continue
            if ref.covers_salts:
                resolution.add(
                    Match(
                        ref,
                        "structure",
                        f"the parent of the submitted salt ({removed}) is {ref.entry.name}, and the "
                        "entry covers its salts",
                        "salt",
                    )
                )
            else:
                resolution.notes.append(
                    f"the parent of the submitted salt ({removed}) is {ref.entry.name}, listed in "
                    f"{where}, but that list does not cover salts: no finding"
                )
    _link_by_cas(index, resolution)
    _match_families(index, resolution, structure)


def _link_by_cas(index: ScreeningIndex, resolution: Resolution) -> None:
    """Entries that print no structure but the CAS of an entry matched by structure (DEA prints names
    and the knowledge base adds the CAS): the substance, or its salt where covered, matches them too.
    Isomer matches are not linked: an entry's CAS names one stereoisomer."""
    for match in list(resolution.matches):
        if match.basis != "structure" or match.form == "isomer":
            continue
        for cas in match.ref.entry.cas:
            for ref in index.by_cas.get(cas, ()):
                if resolution.matched(ref):
                    continue
                if match.form == "salt" and not ref.covers_salts:
                    resolution.notes.append(
                        f"the parent of the submitted salt is CAS {cas}, listed in {ref.label}, but that "
                        "list does not cover salts: no finding"
                    )
                    continue
                resolution.add(
                    Match(ref, "structure", f"{match.detail}; {ref.label} lists it as CAS {cas}", match.form)
                )


def _match_families(index: ScreeningIndex, resolution: Resolution, structure: Structure) -> None:
    for family_match in index.family_matcher.match(structure):
        refs = index.by_family.get(family_match.rule_id, ())
        if family_match.exempted_by:
            entries = ", ".join(r.label for r in refs) or family_match.rule_id
            resolution.notes.append(
                f"falls under the family {entries} but is exempted by name ({family_match.exempted_by}): "
                f"no finding. {family_match.explanation}"
            )
            continue
        for ref in refs:
            if structure.is_salt_or_mixture_parent and not ref.covers_salts:
                resolution.notes.append(
                    f"the parent of the submitted salt falls under {ref.label}, but that entry does not "
                    "cover salts: no finding"
                )
                continue
            detail = family_match.explanation.removeprefix(f"{family_match.entry}: ")
            detail = f"falls under the family rule: {detail}"
            form: Form = "exact"
            if structure.is_salt_or_mixture_parent:
                detail = f"the parent of the submitted salt falls under the family (salts covered): {detail}"
                form = "salt"
            resolution.add(Match(ref, "family", detail, form))


__all__ = ["Match", "Resolution", "provably_unlisted", "query_route", "quick_resolution", "resolve"]
