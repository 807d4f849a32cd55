"""The screening index: every lookup table screening needs, built once from the knowledge base.

Tables (all values are :class:`EntryRef` tuples, in knowledge-base order):

* ``by_cas``: CAS number as printed in the regulation;
* ``by_name``: normalised name (:func:`vigichem.chem.names.normalise_name`) of every English and French
  name and synonym;
* ``by_whole``: the stereo-insensitive key of the *whole* listed substance, counter-ions included (so that
  ammonium nitrate and sodium nitrate, whose parents are both nitrate, stay apart);
* ``by_parent``: the skeleton key of the standardised parent, for listed substances that are themselves
  single organic molecules; a salt, hydrate or stereoisomer submitted by a user reaches them here;
* ``by_family``: family-rule id to the entries written as that family.

Building standardises every entry SMILES once. It takes a fraction of a second for the packaged lists, so
the index is cached in memory per knowledge base (:func:`get_index`) and no file cache is kept.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rdkit import Chem, rdBase
from rdkit.Chem import rdinchi

from vigichem.chem.knowledge import KnowledgeBase, load_knowledge_base
from vigichem.chem.models import Entry, FamilyRule, IsomerScope, RegulatoryList
from vigichem.chem.names import normalise_name
from vigichem.chem.structure import Structure, parse_smiles, standardise
from vigichem.errors import InvalidStructure, KnowledgeBaseError

if TYPE_CHECKING:
    from vigichem.chem.families import FamilyMatcher
    from vigichem.chem.similarity import SimilarityIndex


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The cached value, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value``, forgetting the least recently used item beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


@dataclass(frozen=True, slots=True, eq=False)
class EntryRef:
    """A list entry with its standardised structure (when the entry gives a SMILES)."""

    regulatory_list: RegulatoryList
    entry: Entry
    structure: Structure | None = None
    whole_key: str | None = None  # stereo-insensitive key of the whole substance, counter-ions included
    is_salt: bool = False  # the listed substance itself has several fragments or a charged parent
    mass_fractions: dict[str, float] = field(default_factory=dict)  # element -> mass fraction (whole)

    @property
    def list_id(self) -> str:
        """Id of the entry's list."""
        return self.regulatory_list.id

    @property
    def label(self) -> str:
        """How a reason names the entry: the list's short name and the entry number, once each."""
        short, number = self.regulatory_list.short, self.entry.entry
        return short if number in short else f"{short} {number}"

    @property
    def covers_salts(self) -> bool:
        """Whether the entry extends to salts (the entry's own rule, else its list's default)."""
        if self.entry.covers_salts is not None:
            return self.entry.covers_salts
        return self.regulatory_list.covers_salts

    @property
    def covers_isomers(self) -> bool:
        """Whether the entry extends to stereoisomers (the entry's own rule, else its list's default)."""
        if self.entry.covers_isomers is not None:
            return self.entry.covers_isomers
        return self.regulatory_list.covers_isomers

    @property
    def isomer_scope(self) -> IsomerScope:
        """Which isomers the entry covers when it covers any (the entry's own rule, else its list's)."""
        return self.entry.isomer_scope or self.regulatory_list.isomer_scope

    def covers_isomer(self, submitted: Chem.Mol) -> bool:
        """Whether the entry covers ``submitted``, a stereoisomer of its listed structure.

        With ``isomer_scope: optical`` only the mirror image counts (a diastereomer such as pseudoephedrine
        is not an optical isomer of ephedrine); a submission without any defined stereocentre cannot be
        told apart from the listed isomer, so it is covered.
        """
        if not self.covers_isomers:
            return False
        if self.isomer_scope == "stereo" or self.structure is None:
            return True
        if not has_defined_stereocentre(submitted):
            return True
        return mirror_inchikey(submitted) == self.structure.inchikey


_INVERTED = {
    Chem.ChiralType.CHI_TETRAHEDRAL_CW: Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW: Chem.ChiralType.CHI_TETRAHEDRAL_CW,
}


def has_defined_stereocentre(mol: Chem.Mol) -> bool:
    """True when at least one tetrahedral centre of ``mol`` has a defined configuration."""
    return any(atom.GetChiralTag() in _INVERTED for atom in mol.GetAtoms())


def mirror_inchikey(mol: Chem.Mol) -> str:
    """The standard InChIKey of the mirror image of ``mol`` (every tetrahedral centre inverted)."""
    mirror = Chem.Mol(mol)
    for atom in mirror.GetAtoms():
        atom.SetChiralTag(_INVERTED.get(atom.GetChiralTag(), atom.GetChiralTag()))
    with rdBase.BlockLogs():
        inchi: str = rdinchi.MolToInchi(mirror, "")[0] or ""
        return str(rdinchi.InchiToInchiKey(inchi)) if inchi else ""


def whole_key(mol: Chem.Mol, structure: Structure) -> str:
    """Stereo-insensitive key of a whole submitted molecule, counter-ions and water included.

    For a single neutral molecule it is the skeleton key of its parent; for a salt it is the first block
    of the InChIKey of everything submitted, with stereo and isotope labels removed.
    """
    if not structure.is_salt_or_mixture_parent:
        return structure.skeleton_key
    flat = Chem.Mol(mol)
    Chem.RemoveStereochemistry(flat)
    for atom in flat.GetAtoms():
        atom.SetIsotope(0)
    key = inchikey_of(flat)
    return key.split("-")[0] if key else Chem.MolToSmiles(flat, isomericSmiles=False)


def inchikey_of(mol: Chem.Mol) -> str:
    """The standard InChIKey of a whole molecule (empty when InChI cannot represent it); no log output."""
    with rdBase.BlockLogs():
        inchi: str = rdinchi.MolToInchi(mol, "")[0] or ""
        key: str = (rdinchi.InchiToInchiKey(inchi) or "") if inchi else ""
    return key


def mass_fractions(mol: Chem.Mol) -> dict[str, float]:
    """Mass fraction of each element in a whole molecule (used for limits such as "% N")."""
    with_h = Chem.AddHs(mol)
    totals: dict[str, float] = defaultdict(float)
    for atom in with_h.GetAtoms():
        totals[atom.GetSymbol()] += atom.GetMass()
    mass = sum(totals.values())
    return {symbol: value / mass for symbol, value in totals.items()} if mass else {}


_HYDROGEN_COUNT = re.compile(r"H(?![a-z])\d*")


def heavy_atom_composition(formula: str) -> str:
    """A molecular formula (RDKit's Hill formula) without its hydrogens: ``C2H6O`` -> ``C2O``."""
    return _HYDROGEN_COUNT.sub("", formula)


def heavy_atom_graph_signature(mol: Chem.Mol) -> tuple[tuple[int, int], ...]:
    """Each heavy atom as (atomic number, number of heavy neighbours), sorted.

    Bond orders, charges and hydrogen positions do not enter it, so tautomers and charge-separated
    drawings of one chemical share it; two molecules with different signatures have different
    heavy-atom graphs, hence different InChI connection layers and skeleton keys.
    """
    signature: list[tuple[int, int]] = []
    for atom in mol.GetAtoms():
        element = atom.GetAtomicNum()
        if element != 1:
            hydrogen_neighbours = atom.GetTotalNumHs(includeNeighbors=True) - atom.GetTotalNumHs()
            signature.append((element, atom.GetDegree() - hydrogen_neighbours))
    return tuple(sorted(signature))


def _has_carbon(structure: Structure) -> bool:
    return any(atom.GetAtomicNum() == 6 for atom in structure.mol.GetAtoms())


class ScreeningIndex:
    """Lookup tables over one knowledge base; see the module docstring."""

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self.knowledge_base = knowledge_base
        self.refs: list[EntryRef] = []
        by_cas: dict[str, list[EntryRef]] = defaultdict(list)
        by_name: dict[str, list[EntryRef]] = defaultdict(list)
        by_whole: dict[str, list[EntryRef]] = defaultdict(list)
        by_parent: dict[str, list[EntryRef]] = defaultdict(list)
        by_inchikey: dict[str, list[EntryRef]] = defaultdict(list)
        by_family: dict[str, list[EntryRef]] = defaultdict(list)
        self.display_names: dict[str, str] = {}
        for regulatory_list, entry in knowledge_base.entries():
            ref = _make_ref(regulatory_list, entry)
            self.refs.append(ref)
            for cas in entry.cas:
                by_cas[cas].append(ref)
            for name in (entry.name, *entry.names_fr, *entry.synonyms):
                for variant in _name_variants(name):
                    key = normalise_name(variant)
                    if key and ref not in by_name[key]:
                        by_name[key].append(ref)
                        self.display_names.setdefault(key, variant)
            if ref.structure is not None and ref.whole_key is not None:
                by_whole[ref.whole_key].append(ref)
                by_inchikey[ref.structure.inchikey].append(ref)
                if not ref.is_salt and _has_carbon(ref.structure):
                    by_parent[ref.structure.skeleton_key].append(ref)
            if entry.family is not None:
                by_family[entry.family].append(ref)
        self.by_cas = {key: tuple(value) for key, value in by_cas.items()}
        self.by_name = {key: tuple(value) for key, value in by_name.items()}
        self.by_whole = {key: tuple(value) for key, value in by_whole.items()}
        self.by_parent = {key: tuple(value) for key, value in by_parent.items()}
        self.by_inchikey = {key: tuple(value) for key, value in by_inchikey.items()}
        self.by_family = {key: tuple(value) for key, value in by_family.items()}
        self.home_jurisdictions = self._home_jurisdictions()
        # Heavy-atom compositions of every listed structure: a query with another composition cannot be
        # any listed substance (the quick negative path of screening relies on it).
        self.compositions = frozenset(
            heavy_atom_composition(ref.structure.formula) for ref in self.refs if ref.structure is not None
        )
        # And their heavy-atom graphs, for a query whose composition is a listed one (isomers are common).
        self.graph_signatures = frozenset(
            heavy_atom_graph_signature(ref.structure.mol) for ref in self.refs if ref.structure is not None
        )
        self._lock = threading.RLock()
        self._family_matcher: FamilyMatcher | None = None
        self._similarity: SimilarityIndex[EntryRef] | None = None
        self._named_in_families: dict[str, tuple[str, str]] | None = None
        # Resolutions of query texts (vigichem.chem.matching), per index so that they never outlive it.
        self.resolutions: LruCache[tuple[str, float], Any] = LruCache(_RESOLUTION_CACHE_SIZE)
        # Whole screening results of string queries (vigichem.chem.service), keyed by all their inputs.
        self.results: LruCache[tuple[object, ...], Any] = LruCache(_RESOLUTION_CACHE_SIZE)

    def _home_jurisdictions(self) -> dict[str, tuple[str, ...]]:
        """For each list, the jurisdictions that name it directly (not through inheritance)."""
        homes: dict[str, list[str]] = defaultdict(list)
        for code, jurisdiction in self.knowledge_base.jurisdictions.items():
            for list_id in jurisdiction.lists:
                homes[list_id].append(code)
        return {list_id: tuple(codes) for list_id, codes in homes.items()}

    def suggestions_source(self) -> Iterable[str]:
        """Every display name that close-name suggestions may offer."""
        return self.display_names.values()

    @property
    def family_matcher(self) -> FamilyMatcher:
        """The family-rule matcher over the families the lists refer to (built on first use)."""
        with self._lock:
            if self._family_matcher is None:
                from vigichem.chem.families import FamilyMatcher

                self._family_matcher = FamilyMatcher(_load_rules())
            return self._family_matcher

    @property
    def similarity(self) -> SimilarityIndex[EntryRef]:
        """Fingerprint index over every listed structure, for the designer-precursor watch."""
        with self._lock:
            if self._similarity is None:
                from vigichem.chem.similarity import SimilarityIndex

                items = [(ref, ref.structure) for ref in self.refs if ref.structure is not None]
                self._similarity = SimilarityIndex[EntryRef](items)
            return self._similarity

    @property
    def named_in_families(self) -> dict[str, tuple[str, str]]:
        """CAS -> (name, SMILES) of the chemicals the family rules name (examples and exemptions).

        They let a CAS query reach a structure when no list entry prints that CAS (fonofos, exempted
        from CWC 2B(4) by name, is in no list), so the family rules can say why it is or is not listed.
        """
        with self._lock:
            if self._named_in_families is None:
                named: dict[str, tuple[str, str]] = {}
                for rule in self._rules():
                    for chemical in (*rule.exemptions, *rule.positives):
                        if chemical.cas:
                            named.setdefault(chemical.cas, (chemical.name, chemical.smiles))
                self._named_in_families = named
            return self._named_in_families

    def _rules(self) -> tuple[FamilyRule, ...]:
        return self.family_matcher.rules if self._family_matcher is not None else _load_rules()

    def nearest(self, structure: Structure, threshold: float) -> list[tuple[EntryRef, float]]:
        """Listed entries whose structure has a Tanimoto similarity >= ``threshold``, most similar first."""
        # A threshold of 0 would "watch" everything; the similarity index accepts (0, 1].
        return self.similarity.nearest(structure, max(threshold, 1e-6), limit=_NEAREST_LIMIT)

    def near_any(self, mol: Chem.Mol, threshold: float) -> bool:
        """True when :meth:`nearest` would find some entry for a structure of ``mol`` (same threshold)."""
        return self.similarity.reaches(mol, max(threshold, 1e-6))


_NEAREST_LIMIT = 20
_RESOLUTION_CACHE_SIZE = 4096


def _load_rules() -> tuple[FamilyRule, ...]:
    from vigichem.chem.families import load_family_rules

    return load_family_rules()


def _name_variants(name: str) -> list[str]:
    """A listed name and, for "Trivial: systematic" names as the CWC prints them, each half."""
    variants = [name]
    if ": " in name:
        head, _, tail = name.partition(": ")
        variants += [head, tail]
    return variants


def _make_ref(regulatory_list: RegulatoryList, entry: Entry) -> EntryRef:
    if entry.smiles is None:
        return EntryRef(regulatory_list, entry)
    try:
        mol = parse_smiles(entry.smiles)
        structure = standardise(mol)
    except InvalidStructure as error:
        raise KnowledgeBaseError(
            f"lists/{regulatory_list.id}.yaml: entry {entry.entry} {entry.name!r}: {error.message}",
            details={"list": regulatory_list.id, "entry": entry.entry},
        ) from None
    return EntryRef(
        regulatory_list,
        entry,
        structure=structure,
        whole_key=whole_key(mol, structure),
        is_salt=structure.is_salt_or_mixture_parent,
        mass_fractions=mass_fractions(mol),
    )


_CACHE: dict[int, tuple[KnowledgeBase, ScreeningIndex]] = {}
_CACHE_LOCK = threading.Lock()


def get_index(knowledge_base: KnowledgeBase | None = None) -> ScreeningIndex:
    """The index of a knowledge base (the packaged one by default), built once per process."""
    kb = knowledge_base if knowledge_base is not None else load_knowledge_base()
    # Every screening call asks: the built index is read without the lock (a dict read is atomic), which
    # is only taken to build one; the check below is repeated under it so an index is built once.
    cached = _CACHE.get(id(kb))
    if cached is not None and cached[0] is kb:
        return cached[1]
    with _CACHE_LOCK:
        cached = _CACHE.get(id(kb))
        if cached is not None and cached[0] is kb:
            return cached[1]
        index = ScreeningIndex(kb)
        _CACHE[id(kb)] = (kb, index)
        return index


__all__ = [
    "EntryRef",
    "LruCache",
    "ScreeningIndex",
    "get_index",
    "heavy_atom_composition",
    "heavy_atom_graph_signature",
    "inchikey_of",
    "mass_fractions",
    "whole_key",
]
