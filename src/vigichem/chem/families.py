"""Family entries of the regulatory lists as structural rules, and the matcher that applies them.

The law writes many entries as families ("O-Alkyl (<=C10, incl. cycloalkyl) alkyl (Me, Et, n-Pr or i-Pr)
phosphonofluoridates"). ``data/families.yaml`` encodes each one as a
:class:`~vigichem.chem.models.FamilyRule`:
a SMARTS core with mapped atoms, predicates on the groups attached at those atoms, whole-molecule element
predicates, and the exemptions the law names. ``docs/families.md`` documents the vocabulary and each rule.

:class:`FamilyMatcher` compiles the rules once. Matching a structure first runs a cheap prefilter (element
counts and heavy-atom count the core needs, forbidden elements, carbon bounds), so that most structures
never reach the SMARTS search; only then are the core matches enumerated and the predicates evaluated.
Every rule a structure falls under is reported: precedence between lists ("except those listed in
Schedule 1") is the screening layer's business.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import ValidationError
from rdkit import Chem, rdBase

from vigichem.chem.models import AlkylName, FamilyRule, NamedStructure, SubstituentRule
from vigichem.chem.structure import Structure, structure_from_text
from vigichem.errors import InvalidStructure, KnowledgeBaseError

__all__ = [
    "DEFAULT_FAMILIES_PATH",
    "FamilyMatch",
    "FamilyMatcher",
    "load_family_rules",
]

DEFAULT_FAMILIES_PATH = Path(__file__).parent / "data" / "families.yaml"
_MAX_CORE_MATCHES = 1000  # far above any real molecule; bounds the work on adversarial input
_PERIODIC_TABLE = Chem.GetPeriodicTable()
_FORMULA_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)")


@dataclass(frozen=True, slots=True)
class FamilyMatch:
    """A structure falls under a family rule.

    ``explanation`` is a sentence with the evidence (which core, which groups at which atoms).
    ``exempted_by`` names the exemption when the structure is one the law exempts (e.g. fonofos from
    CWC 2B(4)): the match is still reported so that screening can say "exempted" rather than stay silent.
    """

    rule_id: str
    entry: str
    explanation: str
    exempted_by: str | None = None

    @property
    def exempted(self) -> bool:
        """True when a named exemption of the rule applies."""
        return self.exempted_by is not None


# ---- loading ------------------------------------------------------------------------------------------


def load_family_rules(path: Path | None = None) -> tuple[FamilyRule, ...]:
    """Load and validate the family rules of ``path`` (default: the packaged ``families.yaml``).

    Raises :class:`KnowledgeBaseError` naming the file and the place of the first error: YAML syntax,
    a field of the wrong type, an unparsable SMARTS or SMILES, a predicate on an atom map number the
    SMARTS does not have, an unknown element symbol, or a duplicate rule id.
    """
    source = path or DEFAULT_FAMILIES_PATH
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise KnowledgeBaseError(
            f"{source}: cannot read: {error.strerror}", details={"path": str(source)}
        ) from None
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(f"{source}: invalid YAML: {error}", details={"path": str(source)}) from None
    raw_rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(raw_rules, list):
        raise KnowledgeBaseError(
            f"{source}: expected a mapping with a 'rules' list", details={"path": str(source)}
        )
    rules: list[FamilyRule] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_rules):
        where = f"{source}: rules[{position}]"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            where += f" ({raw['id']})"
        try:
            rule = FamilyRule.model_validate(raw)
        except ValidationError as error:
            first = error.errors()[0]
            location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
            raise KnowledgeBaseError(
                f"{where}{location}: {first['msg']}", details={"path": str(source), "rule": position}
            ) from None
        if rule.id in seen:
            raise KnowledgeBaseError(f"{where}: duplicate rule id {rule.id!r}", details={"path": str(source)})
        seen.add(rule.id)
        try:
            _check_rule(rule, where)
        except KnowledgeBaseError as error:
            raise KnowledgeBaseError(error.message, details={"path": str(source), "rule": position}) from None
        rules.append(rule)
    return tuple(rules)


def _check_rule(rule: FamilyRule, where: str) -> None:
    """Semantic checks that the schema cannot express."""
    pattern = _compile_smarts(rule.smarts, f"{where}.smarts")
    map_numbers = {atom.GetAtomMapNum() for atom in pattern.GetAtoms()} - {0}
    for index, spec in enumerate(rule.substituents):
        place = f"{where}.substituents[{index}]"
        if spec.atom not in map_numbers:
            raise KnowledgeBaseError(f"{place}.atom: the SMARTS has no atom mapped :{spec.atom}")
        low, high = spec.count
        if low > high:
            raise KnowledgeBaseError(f"{place}.count: minimum {low} above maximum {high}")
        if spec.satisfying is not None and spec.satisfying > high:
            raise KnowledgeBaseError(f"{place}.satisfying: {spec.satisfying} above the branch count {high}")
        if spec.kind == "alkyl_set" and not spec.allowed:
            raise KnowledgeBaseError(f"{place}.allowed: kind 'alkyl_set' needs the allowed groups")
        if spec.max_carbons is not None and spec.max_carbons < spec.min_carbons:
            raise KnowledgeBaseError(f"{place}.max_carbons: below min_carbons")
        if spec.root_element is not None:
            _atomic_number(spec.root_element, f"{place}.root_element")
    for symbol in (*rule.elements.required, *rule.elements.forbidden):
        _atomic_number(symbol, f"{where}.elements")
    for index, count in enumerate(rule.elements.counts):
        _compile_smarts(count.smarts, f"{where}.elements.counts[{index}].smarts")
    for field_name in ("positives", "negatives", "exemptions"):
        chemicals: tuple[NamedStructure, ...] = getattr(rule, field_name)
        for index, chemical in enumerate(chemicals):
            try:
                structure_from_text(chemical.smiles)
            except InvalidStructure as error:
                raise KnowledgeBaseError(
                    f"{where}.{field_name}[{index}] ({chemical.name}): {error.message}"
                ) from None


def _compile_smarts(smarts: str, where: str) -> Chem.Mol:
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
        pattern = Chem.MolFromSmarts(smarts)
    if pattern is None or pattern.GetNumAtoms() == 0:
        reason = " ".join(line.split("]", 1)[-1].strip() for line in capture.messages.splitlines() if line)
        raise KnowledgeBaseError(f"{where}: invalid SMARTS {smarts!r}: {reason or 'no atoms'}")
    compiled: Chem.Mol = pattern
    return compiled


def _atomic_number(symbol: str, where: str) -> int:
    try:
        number = int(_PERIODIC_TABLE.GetAtomicNumber(symbol))
    except RuntimeError:
        number = 0
    if number <= 0 or _PERIODIC_TABLE.GetElementSymbol(number) != symbol:
        raise KnowledgeBaseError(f"{where}: unknown element symbol {symbol!r}")
    return number


# ---- compilation --------------------------------------------------------------------------------------


def _definite_element(query_atom: Chem.Atom) -> int | None:
    """The element a SMARTS query atom demands, when every alternative of it names the same one.

    RDKit writes query atoms as ``[P&X4:1]`` or ``[N&X3,N&X4&+:3]``: alternatives joined by ``,`` whose
    primitives are joined by ``&``. Negations, low-precedence ``;`` and recursive SMARTS are not guessed
    (None: no prefilter from this atom), so the prefilter never rejects a structure the SMARTS accepts.
    """
    smarts = query_atom.GetSmarts()
    body = smarts[1:-1] if smarts.startswith("[") else smarts
    body = re.sub(r":\d+$", "", body)  # the atom map
    if any(token in body for token in ("$(", "!", ";")):
        return None
    elements: set[int] = set()
    for alternative in body.split(","):
        found = [_element_of_primitive(primitive) for primitive in alternative.split("&")]
        named = {number for number in found if number is not None}
        if len(named) != 1:
            return None
        elements |= named
    return elements.pop() if len(elements) == 1 else None


def _element_of_primitive(primitive: str) -> int | None:
    """The atomic number a SMARTS primitive names ("P", "Cl", "c", "#6"), or None ("X4", "H2", "+")."""
    if primitive.startswith("#") and primitive[1:].isdigit():
        return int(primitive[1:])
    if primitive in ("H", "D", "X", "R", "A", "a", "*") or not primitive[:1].isalpha():
        return None
    symbol = primitive.capitalize() if primitive.islower() else primitive
    if not symbol.isalpha():
        return None
    try:
        number = int(_PERIODIC_TABLE.GetAtomicNumber(symbol))
    except RuntimeError:
        return None
    # Hydrogen is left out: the prefilter counts heavy atoms (and "h" is an implicit-H primitive).
    return number if number > 1 and _PERIODIC_TABLE.GetElementSymbol(number) == symbol else None


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: FamilyRule
    pattern: Chem.Mol
    atom_of_map: dict[int, int]  # map number -> query atom index
    needed_elements: tuple[tuple[int, int], ...]  # (atomic number, minimum count) the core implies
    needed_mask: int  # bit Z set for every element Z the core needs: one AND rejects most structures
    required_mask: int  # the rule's own `elements.required`
    forbidden_mask: int  # the rule's own `elements.forbidden`
    min_heavy_atoms: int
    counts: tuple[tuple[Chem.Mol, int, int | None, str], ...]
    exempt_keys: dict[str, NamedStructure]


def _compile(rule: FamilyRule) -> _CompiledRule:
    pattern = _compile_smarts(rule.smarts, rule.id)
    atom_of_map = {atom.GetAtomMapNum(): atom.GetIdx() for atom in pattern.GetAtoms() if atom.GetAtomMapNum()}
    needed: Counter[int] = Counter()
    for atom in pattern.GetAtoms():
        element = _definite_element(atom)
        if element is not None:
            needed[element] += 1
    for symbol in rule.elements.required:
        number = _atomic_number(symbol, rule.id)
        needed[number] = max(needed[number], 1)
    if rule.elements.min_carbons is not None:
        needed[6] = max(needed[6], rule.elements.min_carbons)
    forbidden = {_atomic_number(symbol, rule.id) for symbol in rule.elements.forbidden}
    exempt_keys = {structure_from_text(item.smiles).skeleton_key: item for item in rule.exemptions}
    counts = tuple(
        (_compile_smarts(item.smarts, rule.id), item.min, item.max, item.label)
        for item in rule.elements.counts
    )
    return _CompiledRule(
        rule=rule,
        pattern=pattern,
        atom_of_map=atom_of_map,
        needed_elements=tuple(sorted(needed.items())),
        needed_mask=_mask(needed),
        required_mask=_mask(_atomic_number(symbol, rule.id) for symbol in rule.elements.required),
        forbidden_mask=_mask(forbidden),
        min_heavy_atoms=sum(1 for atom in pattern.GetAtoms() if atom.GetAtomicNum() != 1),
        counts=counts,
        exempt_keys=exempt_keys,
    )


# ---- matching -----------------------------------------------------------------------------------------


class FamilyMatcher:
    """Applies compiled family rules to standardised structures.

    Build it once (compiling SMARTS and standardising the exemptions) and call :meth:`match` per query;
    it holds no per-query state, so one instance can serve concurrent callers.
    """

    def __init__(self, rules: Iterable[FamilyRule]) -> None:
        self._compiled = tuple(_compile(rule) for rule in rules)
        self._by_id = {compiled.rule.id: compiled for compiled in self._compiled}

    @property
    def rules(self) -> tuple[FamilyRule, ...]:
        """The rules, in file order."""
        return tuple(compiled.rule for compiled in self._compiled)

    def rule(self, rule_id: str) -> FamilyRule:
        """The rule with id ``rule_id`` (``KeyError`` when there is none)."""
        return self._by_id[rule_id].rule

    def match(
        self, structure: Structure, rule_ids: Sequence[str] | None = None, *, prefilter: bool = True
    ) -> list[FamilyMatch]:
        """Every rule (of ``rule_ids``, default all) that ``structure`` falls under, in file order.

        An unknown id in ``rule_ids`` raises ``KeyError``. ``prefilter=False`` runs the SMARTS search for
        every rule (same answer, slower: it exists to check that the prefilter never rejects a match).
        """
        mol = structure.mol
        element_mask, element_counts = _element_profile(structure.formula)
        heavy_atoms = mol.GetNumHeavyAtoms()
        candidates = self._compiled if rule_ids is None else tuple(self._by_id[i] for i in rule_ids)
        found: list[FamilyMatch] = []
        facts = _LazyFacts(mol)  # built only if some core matches
        for compiled in candidates:
            if prefilter and (
                compiled.needed_mask & ~element_mask  # inline: most rules fail here (phosphorus)
                or not _core_may_match(compiled, element_mask, element_counts, heavy_atoms)
            ):
                continue
            if not _satisfies_elements(compiled, element_mask, element_counts):
                continue
            evidence = _match_rule(compiled, facts)
            if evidence is None:
                continue
            exemption = compiled.exempt_keys.get(structure.skeleton_key)
            explanation = f"{compiled.rule.entry}: {evidence}"
            if exemption is not None:
                explanation += f"; named exemption {exemption.name}" + (
                    f" (CAS {exemption.cas})" if exemption.cas else ""
                )
            found.append(
                FamilyMatch(
                    rule_id=compiled.rule.id,
                    entry=compiled.rule.entry,
                    explanation=explanation,
                    exempted_by=exemption.name if exemption is not None else None,
                )
            )
        return found

    def matches_any(self, mol: Chem.Mol, formula: str) -> bool:
        """True when ``mol`` (with Hill formula ``formula``) falls under some rule, exempted or not.

        The same answer as ``bool(match(structure))`` for a structure of that molecule and formula, without
        building the structure, the evidence sentences or the match records: screening's quick negative
        path asks only this, for nearly every query. It stops at the first rule that matches.
        """
        element_mask, element_counts = _element_profile(formula)
        heavy_atoms = mol.GetNumHeavyAtoms()
        facts: _LazyFacts | None = None
        for compiled in self._compiled:
            # The prefilter of `match` and the rule's element predicates, inlined: most rules stop at the
            # first mask test (phosphorus, fluorine), and this runs for every rule of every query.
            if (
                (compiled.needed_mask | compiled.required_mask) & ~element_mask
                or compiled.forbidden_mask & element_mask
                or heavy_atoms < compiled.min_heavy_atoms
            ):
                continue
            if not _core_may_match(compiled, element_mask, element_counts, heavy_atoms):
                continue
            if not _satisfies_elements(compiled, element_mask, element_counts):
                continue
            if facts is None:
                facts = _LazyFacts(mol)
            if _match_rule(compiled, facts) is not None:
                return True
        return False


def _mask(elements: Iterable[int]) -> int:
    mask = 0
    for element in elements:
        mask |= 1 << element
    return mask


# Atomic numbers of element symbols, filled on first sight of each symbol: a dictionary lookup instead of
# a call into RDKit's periodic table for every atom of every formula.
_ATOMIC_NUMBERS: dict[str, int] = {}


@lru_cache(maxsize=8192)
def _element_profile(formula: str) -> tuple[int, Mapping[int, int]]:
    """Element bit mask and atom counts by atomic number, read from a Hill formula ("C5H14NO+").

    Cached per formula and returned read-only: many queries share a formula. A miss (most real queries
    have a formula not seen before) is one pass over the formula's tokens with plain integers.
    """
    counts: dict[int, int] = {}
    mask = 0
    for symbol, digits in _FORMULA_TOKEN.findall(formula):
        number = _ATOMIC_NUMBERS.get(symbol)
        if number is None:
            number = _ATOMIC_NUMBERS[symbol] = int(_PERIODIC_TABLE.GetAtomicNumber(symbol))
        counts[number] = counts.get(number, 0) + (int(digits) if digits else 1)
        mask |= 1 << number
    return mask, MappingProxyType(counts)


def _core_may_match(
    compiled: _CompiledRule, element_mask: int, element_counts: Mapping[int, int], heavy_atoms: int
) -> bool:
    """Necessary conditions for the core SMARTS to match: its elements, their counts, its size."""
    if compiled.needed_mask & ~element_mask or heavy_atoms < compiled.min_heavy_atoms:
        return False
    return all(element_counts.get(element, 0) >= minimum for element, minimum in compiled.needed_elements)


def _satisfies_elements(
    compiled: _CompiledRule, element_mask: int, element_counts: Mapping[int, int]
) -> bool:
    """The rule's whole-molecule element predicates: required and forbidden elements, carbon bounds."""
    if compiled.required_mask & ~element_mask or compiled.forbidden_mask & element_mask:
        return False
    carbons = element_counts.get(6, 0)
    bounds = compiled.rule.elements
    if bounds.min_carbons is not None and carbons < bounds.min_carbons:
        return False
    return bounds.max_carbons is None or carbons <= bounds.max_carbons


def _match_rule(compiled: _CompiledRule, lazy: _LazyFacts) -> str | None:
    """The evidence sentence when the molecule falls under the rule, else None."""
    mol = lazy.mol
    count_notes: list[str] = []
    for pattern, low, high, label in compiled.counts:
        found = len(mol.GetSubstructMatches(pattern, uniquify=True, maxMatches=_MAX_CORE_MATCHES))
        if found < low or (high is not None and found > high):
            return None
        count_notes.append(f"{label}: {found}")
    matches = mol.GetSubstructMatches(compiled.pattern, uniquify=False, maxMatches=_MAX_CORE_MATCHES)
    if not matches:
        return None
    facts = lazy.get()
    for match in matches:
        core = frozenset(match)
        notes: list[str] = []
        for spec in compiled.rule.substituents:
            note = _judge(facts, match[compiled.atom_of_map[spec.atom]], core, spec)
            if note is None:
                break
            notes.append(note)
        else:
            return "; ".join([compiled.rule.core_label, *notes, *count_notes])
    return None


# ---- substituent predicates -----------------------------------------------------------------------------

_ALKYL_ABBREVIATION: dict[AlkylName, str] = {
    "methyl": "Me",
    "ethyl": "Et",
    "n-propyl": "n-Pr",
    "isopropyl": "i-Pr",
}
# [CX4;+0]: an aliphatic, uncharged carbon with four single connections (implicit H included), i.e. a
# saturated carbon with no double bond and no radical.
_SATURATED_CARBON = Chem.MolFromSmarts("[CX4;+0]")
_HYDROGEN = Chem.MolFromSmarts("[#1]")


@dataclass(frozen=True, slots=True)
class _MolFacts:
    """What the predicates ask of a molecule, computed once per query (C++ SMARTS, one pass over bonds)."""

    mol: Chem.Mol
    neighbours: tuple[tuple[int, ...], ...]
    saturated_carbons: frozenset[int]
    hydrogens: frozenset[int]
    ring_atoms: frozenset[int]


def _atoms_matching(mol: Chem.Mol, pattern: Chem.Mol) -> frozenset[int]:
    return frozenset(hit[0] for hit in mol.GetSubstructMatches(pattern, uniquify=True, maxMatches=1_000_000))


def _facts(mol: Chem.Mol) -> _MolFacts:
    # The adjacency matrix comes from C++ in one call; walking mol.GetBonds() from Python costs ~3x more.
    rows, columns = Chem.GetAdjacencyMatrix(mol).nonzero()
    adjacency: list[list[int]] = [[] for _ in range(mol.GetNumAtoms())]
    for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
        adjacency[row].append(column)
    has_explicit_h = mol.GetNumAtoms() != mol.GetNumHeavyAtoms()
    return _MolFacts(
        mol=mol,
        neighbours=tuple(tuple(row) for row in adjacency),
        saturated_carbons=_atoms_matching(mol, _SATURATED_CARBON),
        hydrogens=_atoms_matching(mol, _HYDROGEN) if has_explicit_h else frozenset(),
        ring_atoms=frozenset(index for ring in mol.GetRingInfo().AtomRings() for index in ring),
    )


class _LazyFacts:
    """The :class:`_MolFacts` of one query molecule, computed on first use and then shared by the rules."""

    __slots__ = ("_facts", "mol")

    def __init__(self, mol: Chem.Mol) -> None:
        self.mol = mol
        self._facts: _MolFacts | None = None

    def get(self) -> _MolFacts:
        if self._facts is None:
            self._facts = _facts(self.mol)
        return self._facts


@dataclass(frozen=True, slots=True)
class _Branch:
    """A group attached at a mapped atom: its first atom and every atom reachable without the core."""

    root: int
    atoms: frozenset[int]
    attachments: int  # bonds between the group and the core; 1 for an ordinary substituent


def _branches(facts: _MolFacts, atom_index: int, core: frozenset[int]) -> list[_Branch]:
    branches: list[_Branch] = []
    claimed: set[int] = set()
    for start in facts.neighbours[atom_index]:
        if start in core or start in claimed:
            continue  # a ring back to the mapped atom was already collected from its other end
        atoms = {start}
        frontier = [start]
        attachments = 0
        while frontier:
            for other in facts.neighbours[frontier.pop()]:
                if other in core:
                    attachments += 1
                elif other not in atoms:
                    atoms.add(other)
                    frontier.append(other)
        claimed |= atoms
        branches.append(_Branch(root=start, atoms=frozenset(atoms), attachments=attachments))
    return branches


def _alkyl_carbons(facts: _MolFacts, branch: _Branch, allow_rings: bool) -> frozenset[int] | None:
    """The carbons of ``branch`` when it is a saturated hydrocarbon group attached once, else None."""
    if branch.attachments != 1:
        return None  # fused to the core or closing a ring through it: not a substituent group
    carbons = branch.atoms - facts.hydrogens  # explicit (e.g. isotopic) hydrogens are allowed
    if not carbons <= facts.saturated_carbons:
        return None
    if not allow_rings and carbons & facts.ring_atoms:
        return None
    return carbons


def _alkyl_name(facts: _MolFacts, branch: _Branch, carbons: frozenset[int]) -> str:
    """Methyl, ethyl, n-propyl, isopropyl by shape; otherwise n-alkyl, branched alkyl or cycloalkyl."""
    if carbons & facts.ring_atoms:
        return "cycloalkyl" if branch.root in facts.ring_atoms else "cycloalkyl-containing alkyl"

    def degree(index: int) -> int:
        return sum(1 for other in facts.neighbours[index] if other in carbons)

    if len(carbons) == 1:
        return "methyl"
    if len(carbons) == 2:
        return "ethyl"
    if len(carbons) == 3:
        return "isopropyl" if degree(branch.root) == 2 else "n-propyl"
    linear = degree(branch.root) == 1 and all(degree(index) <= 2 for index in carbons)
    return "n-alkyl" if linear else "branched alkyl"


def _describe(facts: _MolFacts, branch: _Branch, spec: SubstituentRule) -> str | None:
    """A description of ``branch`` when it satisfies ``spec.kind``, else None."""
    if spec.kind == "any":
        return str(Chem.MolFragmentToSmiles(facts.mol, atomsToUse=sorted(branch.atoms)))
    if spec.kind == "alkyl_set":
        carbons = _alkyl_carbons(facts, branch, allow_rings=False)
        if carbons is None or len(carbons) > 3:
            return None
        name = _alkyl_name(facts, branch, carbons)
        return name if name in spec.allowed else None
    carbons = _alkyl_carbons(facts, branch, allow_rings=spec.cycloalkyl)
    if carbons is None or len(carbons) < spec.min_carbons:
        return None
    if spec.max_carbons is not None and len(carbons) > spec.max_carbons:
        return None
    bound = f", within ≤C{spec.max_carbons}" if spec.max_carbons is not None else ""
    return f"{_alkyl_name(facts, branch, carbons)} (C{len(carbons)}{bound})"


def _judge(facts: _MolFacts, atom_index: int, core: frozenset[int], spec: SubstituentRule) -> str | None:
    """The evidence note when the groups at ``atom_index`` satisfy ``spec``, else None."""
    branches = _branches(facts, atom_index, core)
    if spec.root_element is not None:
        wanted = _atomic_number(spec.root_element, spec.label)
        branches = [b for b in branches if facts.mol.GetAtomWithIdx(b.root).GetAtomicNum() == wanted]
    note = _judge_set(facts, branches, spec)
    if note is not None or not spec.alkylated_salt:
        return note
    atom = facts.mol.GetAtomWithIdx(atom_index)
    if atom.GetAtomicNum() != 7 or atom.GetFormalCharge() != 1 or atom.GetTotalNumHs():
        return None
    # "Corresponding alkylated salts": a quaternary N+ carries one group more than the free base. Any
    # group bonded to N+ through a saturated carbon (methyl, ethyl, benzyl, allyl ...) is read as the one
    # the alkylation added.
    for extra in branches:
        if extra.attachments != 1 or extra.root not in facts.saturated_carbons:
            continue
        rest = _judge_set(facts, [b for b in branches if b is not extra], spec)
        if rest is not None:
            added = Chem.MolFragmentToSmiles(facts.mol, atomsToUse=sorted(extra.atoms))
            return f"{rest}; N quaternised by {added} (alkylated salt)"
    return None


def _judge_set(facts: _MolFacts, branches: list[_Branch], spec: SubstituentRule) -> str | None:
    low, high = spec.count
    if not low <= len(branches) <= high:
        return None
    if not branches:
        return f"{spec.label}: H"
    descriptions = [_describe(facts, branch, spec) for branch in branches]
    passing = [d for d in descriptions if d is not None]
    needed = spec.satisfying if spec.satisfying is not None else len(branches)
    if len(passing) < needed:
        return None
    allowed = ""
    if spec.kind == "alkyl_set":
        allowed = " (one of " + ", ".join(_ALKYL_ABBREVIATION[name] for name in spec.allowed) + ")"
    return f"{spec.label}: {', '.join(passing)}{allowed}"
