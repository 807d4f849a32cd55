"""Chemical structures: parsing, routing guesses and standardisation.

Identity by structure means comparing *standardised parents*: the submitted structure is cleaned up
(explicit hydrogens removed, metals disconnected, functional groups normalised), reduced to its parent
fragment (counter-ions, water of hydration and solvents dropped), and neutralised where a neutral form
exists. A salt or hydrate of a listed chemical then gives the same parent as the chemical itself.

Two keys are kept:

* ``inchikey``: the full standard InChIKey of the parent (stereo and isotopes included);
* ``skeleton_key``: the first block (14 characters) of the standard InChIKey of the parent after stereo
  and isotope labels have been removed. It is equal for stereoisomers, isotopologues, salts, hydrates and
  charged forms of one chemical. Limits: tautomers that standard InChI does not treat as mobile-H forms
  (keto/enol, for example) get different keys; a quaternary ammonium cation keeps its charge (it has no
  neutral form) and so keys as the cation; two different skeletons sharing the 14-character hash is
  possible in principle (a 64-bit hash) but not expected at the scale of the regulatory lists.

RDKit reports problems through its log; every call here blocks the warning and info logs and captures
the error log (nothing reaches stderr), and puts RDKit's own reason into the
:class:`~vigichem.errors.InvalidStructure` it raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rdkit import Chem, rdBase
from rdkit.Chem import rdinchi, rdMolDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

from vigichem.errors import InvalidStructure

__all__ = [
    "MAX_HEAVY_ATOMS",
    "MAX_INPUT_LENGTH",
    "Structure",
    "looks_like_inchi",
    "looks_like_inchikey",
    "looks_like_smiles",
    "parse_inchi",
    "parse_smiles",
    "parse_smiles_lightly",
    "standardise",
    "standardise_fragments",
    "structure_from_text",
]

MAX_INPUT_LENGTH = 5000
"""Longest SMILES or InChI accepted; the regulatory lists hold nothing near it."""

MAX_HEAVY_ATOMS = 1000
"""Largest structure standardised: InChI stops at 1024 atoms and canonical SMILES of a few thousand atoms
takes seconds, so a bigger input is refused rather than allowed to stall a screening service."""

_INCHIKEY = re.compile(r"^[A-Z]{14}-[A-Z]{8}[SN][A-Z]-[A-Z]$")
_INCHI = re.compile(r"^InChI=1S?/\S+$")
# Tokens of the SMILES grammar (OpenSMILES): organic-subset atoms, bracket atoms, bonds, branches,
# ring closures, dots. A name such as "acetone" or "sarin" fails at its first non-SMILES letter.
_SMILES_TOKEN = re.compile(r"Cl|Br|[BCNOPSFI]|[bcnops]|\[[^\[\]]+\]|[-=#$:/\\.()]|%\d\d|\d|\*")
_RDKIT_TIMESTAMP = re.compile(r"^\[\d\d:\d\d:\d\d\]\s?")


@dataclass(frozen=True, slots=True)
class Structure:
    """A standardised chemical structure.

    ``mol`` is the standardised parent (treat it as read-only). ``removed_fragments`` lists the canonical
    SMILES of what was stripped (counter-ions, water, solvents); ``charge_changed`` is True when the parent
    was neutralised (a protonated amine, a carboxylate). Together they let a finding say "matched as the
    parent of a salt".
    """

    mol: Chem.Mol = field(compare=False)  # equality and hashing go by the keys below, not by identity
    smiles: str
    inchi: str
    inchikey: str
    skeleton_key: str
    formula: str
    removed_fragments: tuple[str, ...] = ()
    charge_changed: bool = False

    @property
    def is_salt_or_mixture_parent(self) -> bool:
        """True when the parent was obtained by stripping fragments or changing the charge."""
        return bool(self.removed_fragments) or self.charge_changed

    @property
    def formal_charge(self) -> int:
        """Net formal charge of the parent (non-zero only for cations such as quaternary ammoniums)."""
        return int(Chem.GetFormalCharge(self.mol))


# The standardiser objects are built once: constructing them dominates the cost of a small molecule.
_CLEANUP_PARAMS = rdMolStandardize.CleanupParameters()
_NORMALIZER = rdMolStandardize.NormalizerFromParams(_CLEANUP_PARAMS)
_METAL_DISCONNECTOR = rdMolStandardize.MetalDisconnector()
_REIONIZER = rdMolStandardize.Reionizer()
_FRAGMENT_CHOOSER = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
_UNCHARGER = rdMolStandardize.Uncharger(canonicalOrder=True)
_CHARGED_ATOM = Chem.MolFromSmarts("[!+0]")
_PHOSPHORYL_ZWITTERION = Chem.MolFromSmarts("[P+;X4]-[O-,S-;X1]")


def _rdkit_reason(messages: str, fallback: str) -> str:
    """Condense RDKit's captured log into one line, without timestamps or the echo of the input."""
    useful: list[str] = []
    for raw in messages.splitlines():
        line = _RDKIT_TIMESTAMP.sub("", raw).strip()
        line = line.removeprefix("SMILES Parse Error:").strip().rstrip(":")
        # The parser echoes the input, draws a caret under it and repeats the input once more; the
        # statements around them are the explanation.
        if not line or line.startswith(("Failed parsing SMILES", "~", "^")) or line in useful:
            continue
        useful.append(line)
    explaining = [line for line in useful if " " in line]  # drops the bare echo of the input
    chosen = explaining or useful
    return "; ".join(chosen[:3]) if chosen else fallback


def _check_text(text: str, kind: str) -> str:
    if not isinstance(text, str):
        raise InvalidStructure(f"{kind} must be text, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidStructure(f"empty {kind}")
    if len(stripped) > MAX_INPUT_LENGTH:
        raise InvalidStructure(
            f"{kind} is {len(stripped)} characters long, above the limit of {MAX_INPUT_LENGTH}",
            details={"length": len(stripped), "limit": MAX_INPUT_LENGTH},
        )
    if not stripped.isascii():
        # SMILES and InChI are ASCII; RDKit would echo a non-ASCII input into its log cut mid-character.
        position, character = next((i, c) for i, c in enumerate(stripped) if not c.isascii())
        raise InvalidStructure(
            f"{kind} must be ASCII: character {character!r} at position {position + 1}",
            details={"input": stripped, "position": position + 1},
        )
    return stripped


def parse_smiles(text: str) -> Chem.Mol:
    """Parse and sanitise a SMILES string.

    Raises :class:`InvalidStructure` with RDKit's reason (syntax error position, valence, aromaticity)
    when RDKit cannot read it; RDKit's log is captured, nothing is printed.
    """
    smiles = _check_text(text, "SMILES")
    if len(smiles.split(maxsplit=1)) > 1:
        # RDKit treats text after whitespace as a name; a query with spaces is not one structure.
        raise InvalidStructure(f"SMILES {smiles!r} contains whitespace", details={"input": smiles})
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        reason = _rdkit_reason(capture.messages, "no atoms")
        raise InvalidStructure(
            f"cannot read SMILES {smiles!r}: {reason}", details={"input": smiles, "reason": reason}
        )
    return mol


# Sanitisation without the steps that only hybridisation, conjugation and stereo perception need. What
# the screening quick path reads of a molecule (formula, heavy atoms, ring- and aromaticity-aware SMARTS
# without hybridisation or chirality primitives, Morgan connectivity fingerprints) comes out the same:
# checked on the 180,518 structures of the MOSES test set, RDKit's NCI sample and the listed structures.
_LIGHT_SANITIZE = Chem.SanitizeFlags.SANITIZE_ALL ^ (
    Chem.SanitizeFlags.SANITIZE_SETCONJUGATION
    | Chem.SanitizeFlags.SANITIZE_SETHYBRIDIZATION
    | Chem.SanitizeFlags.SANITIZE_CLEANUPCHIRALITY
    | Chem.SanitizeFlags.SANITIZE_CLEANUPATROPISOMERS
)


def parse_smiles_lightly(smiles: str) -> Chem.Mol | None:
    """A cheaper parse for screening's quick negative path, or None where :func:`parse_smiles` must decide.

    The molecule is sanitised except for conjugation, hybridisation and chirality clean-up, and stereo is
    not assigned: about a third cheaper, and enough for formulas, ring- and aromaticity-aware substructure
    searches and Morgan fingerprints. Explicit hydrogen atoms are not removed, so callers pass only text
    without them (nor blanks). None for anything RDKit refuses, so that the full parser gives the error.
    """
    if len(smiles) > MAX_INPUT_LENGTH or not smiles.isascii():
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None or mol.GetNumAtoms() == 0:
            return None
        if Chem.SanitizeMol(mol, sanitizeOps=_LIGHT_SANITIZE, catchErrors=True) != Chem.SANITIZE_NONE:
            return None
    return mol


def parse_inchi(text: str) -> Chem.Mol:
    """Parse a standard or non-standard InChI (``InChI=1S/...`` or ``InChI=1/...``).

    Raises :class:`InvalidStructure` with the InChI library's message when it cannot be read.
    """
    inchi = _check_text(text, "InChI")
    if not inchi.startswith("InChI="):
        raise InvalidStructure(f"InChI {inchi!r} does not start with 'InChI='", details={"input": inchi})
    with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
        mol, return_code, message, log = rdinchi.InchiToMol(inchi, True, True)
    if mol is None or mol.GetNumAtoms() == 0:
        reason = _inchi_reason(message, log) or _rdkit_reason(capture.messages, f"return code {return_code}")
        raise InvalidStructure(
            f"cannot read InChI {inchi!r}: {reason}", details={"input": inchi, "reason": reason}
        )
    parsed: Chem.Mol = mol
    return parsed


def _inchi_reason(message: str, log: str) -> str:
    """The InChI library's diagnosis: its message, or the ``Structure: ...`` line of its log."""
    if message.strip():
        return message.strip()
    for line in reversed(log.splitlines()):
        if line.startswith("Structure:"):
            # "Structure: 1 Syntax error (-2) in POLYMER_LAYER (36)" -> drop the structure number.
            return re.sub(r"^Structure:\s*\d+\s*", "", line).strip()
    return ""


def looks_like_inchikey(text: str) -> bool:
    """True when ``text`` has the shape of a standard InChIKey (14-8+flag+version-protonation)."""
    return bool(_INCHIKEY.match(text.strip()))


def looks_like_inchi(text: str) -> bool:
    """True when ``text`` starts like an InChI string (``InChI=1S/`` or ``InChI=1/``)."""
    return bool(_INCHI.match(text.strip()))


def looks_like_smiles(text: str) -> bool:
    """A cheap, syntax-only guess that ``text`` is a SMILES string.

    The whole text must split into SMILES tokens with balanced branches. Names with ordinary letters
    ("acetone", "sarin", "phosgene") fail; short names made only of element symbols ("CO", "CS", "NO")
    pass because they *are* valid SMILES, so a router should try an exact name or CAS hit first. A True
    answer does not promise that RDKit can sanitise the structure: :func:`parse_smiles` decides that.
    """
    candidate = text.strip()
    if not candidate or any(ch.isspace() for ch in candidate) or looks_like_inchi(candidate):
        return False
    position = 0
    depth = 0
    has_atom = False
    while position < len(candidate):
        token = _SMILES_TOKEN.match(candidate, position)
        if token is None:
            return False
        value = token.group()
        if value == "(":
            depth += 1
        elif value == ")":
            depth -= 1
            if depth < 0:
                return False
        elif value[0].isalpha() or value[0] in "[*":
            has_atom = True
        position = token.end()
    return depth == 0 and has_atom


def _canonical_fragment_smiles(mol: Chem.Mol) -> tuple[str, ...]:
    return tuple(sorted(Chem.MolToSmiles(fragment) for fragment in Chem.GetMolFrags(mol, asMols=True)))


def _cleanup(mol: Chem.Mol) -> Chem.Mol:
    """RDKit's Cleanup (remove Hs, disconnect metals, normalise, reionise) with prebuilt objects.

    Reionisation only moves charges between acid groups, so it is skipped for a molecule without
    charged atoms (most queries); that is a third of the cost of a small molecule.
    """
    cleaned = Chem.RemoveHs(mol, sanitize=True)
    cleaned = _METAL_DISCONNECTOR.Disconnect(cleaned)
    cleaned = _NORMALIZER.normalize(cleaned)
    if cleaned.HasSubstructMatch(_PHOSPHORYL_ZWITTERION):
        cleaned = _neutral_phosphoryl(cleaned)
    if cleaned.HasSubstructMatch(_CHARGED_ATOM):
        cleaned = _REIONIZER.reionize(cleaned)
    Chem.AssignStereochemistry(cleaned, cleanIt=True, force=True)
    return cleaned


def _neutral_phosphoryl(mol: Chem.Mol) -> Chem.Mol:
    """Rewrite charge-separated P+-O- / P+-S- (as some databases draw phosphoryl groups) as P=O / P=S.

    RDKit's default normalisations leave them alone; InChI already treats both drawings as one, but the
    family rules' SMARTS and the canonical SMILES need the one drawing.
    """
    editable = Chem.RWMol(mol)
    done: set[int] = set()
    for phosphorus, chalcogen in mol.GetSubstructMatches(_PHOSPHORYL_ZWITTERION):
        if phosphorus in done:
            continue  # a P+ bonded to several O- gives up one charge only
        done.add(phosphorus)
        editable.GetAtomWithIdx(phosphorus).SetFormalCharge(0)
        editable.GetAtomWithIdx(chalcogen).SetFormalCharge(0)
        editable.GetBondBetweenAtoms(phosphorus, chalcogen).SetBondType(Chem.BondType.DOUBLE)
    Chem.SanitizeMol(editable)
    rewritten: Chem.Mol = editable.GetMol()
    return rewritten


def _charged_atoms(mol: Chem.Mol) -> int:
    return len(mol.GetSubstructMatches(_CHARGED_ATOM, uniquify=True, maxMatches=100_000))


def _inchi_and_key(mol: Chem.Mol) -> tuple[str, str]:
    with rdBase.BlockLogs():
        inchi: str = rdinchi.MolToInchi(mol, "")[0] or ""
        key: str = rdinchi.InchiToInchiKey(inchi) if inchi else ""
    return inchi, key or ""


def _structure_of_parent(parent: Chem.Mol, removed: tuple[str, ...], charge_changed: bool) -> Structure:
    inchi, inchikey = _inchi_and_key(parent)
    # The first InChIKey block hashes the main layer only (formula, connections, hydrogens); stereo and
    # isotope layers go into the second block, so the first block is already the skeleton key.
    skeleton = inchikey.split("-")[0] if inchikey else Chem.MolToSmiles(parent, isomericSmiles=False)
    return Structure(
        mol=parent,
        smiles=Chem.MolToSmiles(parent),
        inchi=inchi,
        inchikey=inchikey,
        skeleton_key=skeleton,
        formula=rdMolDescriptors.CalcMolFormula(parent),
        removed_fragments=removed,
        charge_changed=charge_changed,
    )


def _refuse_oversized(mol: Chem.Mol) -> None:
    heavy_atoms = mol.GetNumHeavyAtoms()
    if heavy_atoms > MAX_HEAVY_ATOMS:
        raise InvalidStructure(
            f"structure has {heavy_atoms} heavy atoms, above the limit of {MAX_HEAVY_ATOMS}",
            details={"heavy_atoms": heavy_atoms, "limit": MAX_HEAVY_ATOMS},
        )


def standardise(mol: Chem.Mol) -> Structure:
    """Standardise ``mol`` to its parent and compute its identity keys.

    Steps: cleanup (explicit H removal, metal disconnection, normalisation, reionisation), the largest
    organic fragment as parent, then neutralisation where a neutral form exists. Raises
    :class:`InvalidStructure` when RDKit cannot standardise the molecule.
    """
    if mol is None or mol.GetNumAtoms() == 0:
        raise InvalidStructure("no structure to standardise (empty molecule)")
    _refuse_oversized(mol)
    try:
        with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
            cleaned = _cleanup(mol)
            single = len(Chem.GetMolFrags(cleaned)) == 1
            chosen = cleaned if single else _FRAGMENT_CHOOSER.choose(cleaned)
            charged_before = _charged_atoms(chosen)
            parent = _UNCHARGER.uncharge(chosen) if charged_before else chosen
    except (RuntimeError, ValueError) as error:  # RDKit raises these on sanitisation failures
        reason = _rdkit_reason(capture.messages, str(error))
        raise InvalidStructure(
            f"cannot standardise structure: {reason}", details={"reason": reason}
        ) from None
    removed = () if single else _removed_fragments(cleaned, chosen)
    # The uncharger only adds or removes protons on charged atoms, so any change lowers this count.
    charge_changed = bool(charged_before) and _charged_atoms(parent) != charged_before
    return _structure_of_parent(parent, removed, charge_changed)


def standardise_fragments(mol: Chem.Mol) -> tuple[Structure, ...]:
    """Standardise every distinct fragment of ``mol`` on its own, largest first.

    :func:`standardise` keeps one parent; for a salt whose counter-ion is itself a chemical of interest
    (an amine salt of a larger acid, say) a screener should look at each fragment. Inorganic counter-ions
    and water come back too (as their own neutral forms); the caller decides what to screen.
    """
    if mol is None or mol.GetNumAtoms() == 0:
        raise InvalidStructure("no structure to standardise (empty molecule)")
    _refuse_oversized(mol)
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    results: dict[str, Structure] = {}
    for fragment in sorted(fragments, key=lambda f: -f.GetNumHeavyAtoms()):
        structure = standardise(fragment)
        results.setdefault(structure.inchikey or structure.smiles, structure)
    return tuple(results.values())


def _removed_fragments(cleaned: Chem.Mol, chosen: Chem.Mol) -> tuple[str, ...]:
    """Canonical SMILES of the fragments of ``cleaned`` other than the chosen parent fragment."""
    if cleaned.GetNumAtoms() == chosen.GetNumAtoms():
        return ()
    all_fragments = list(_canonical_fragment_smiles(cleaned))
    chosen_smiles = Chem.MolToSmiles(chosen)
    if chosen_smiles in all_fragments:
        all_fragments.remove(chosen_smiles)
    return tuple(all_fragments)


def structure_from_text(text: str) -> Structure:
    """Parse SMILES or InChI text (chosen by its prefix) and standardise it."""
    stripped = _check_text(text, "structure")
    mol = parse_inchi(stripped) if stripped.startswith("InChI=") else parse_smiles(stripped)
    return standardise(mol)
