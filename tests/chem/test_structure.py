"""Tests of vigichem.chem.structure: parsing, routing guesses, standardisation keys.

Structures used: listed chemicals with the CAS printed in the CWC Annex on Chemicals (sarin 107-44-8,
soman 96-64-0, VX 50782-69-9, DMMP 756-79-6, N,N-diethylaminoethanol 100-37-8), and ordinary benign
chemicals. Salt, hydrate, charged and isotopically labelled forms are written here as SMILES of those
same chemicals (counter-ions and labels added by hand: invented forms of listed chemicals, not new ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem

from vigichem.chem.structure import (
    Structure,
    looks_like_inchi,
    looks_like_inchikey,
    looks_like_smiles,
    parse_inchi,
    parse_smiles,
    standardise,
    standardise_fragments,
    structure_from_text,
)
from vigichem.errors import InvalidStructure

SARIN = "CC(C)OP(C)(=O)F"  # 107-44-8
VX = "CCOP(C)(=O)SCCN(C(C)C)C(C)C"  # 50782-69-9
DEAE = "CCN(CC)CCO"  # 100-37-8, N,N-diethylaminoethanol


@pytest.mark.parametrize(
    ("form", "parent"),
    [
        # hydrochloride written two ways (neutral HCl and ion pair)
        ("CCN(CC)CCO.Cl", DEAE),
        ("CC[NH+](CC)CCO.[Cl-]", DEAE),
        # protonated salt of VX (the law covers "alkylated or protonated salts")
        ("CCOP(C)(=O)SCC[NH+](C(C)C)C(C)C.[Cl-]", VX),
        # hydrate and a solvate
        ("CCN(CC)CCO.O.O", DEAE),
        # stereoisomers of soman (96-64-0) written with explicit centres
        ("C[C@H](O[P@](C)(=O)F)C(C)(C)C", "CC(OP(C)(=O)F)C(C)(C)C"),
        ("C[C@@H](O[P@@](C)(=O)F)C(C)(C)C", "CC(OP(C)(=O)F)C(C)(C)C"),
        # isotopically labelled sarin
        ("[2H]C([2H])([2H])P(=O)(F)OC(C)C", SARIN),
        # explicit hydrogens
        ("[H]OC([H])([H])C([H])([H])N(CC)CC", DEAE),
    ],
)
def test_salt_hydrate_stereo_and_isotope_forms_share_the_skeleton_key(form: str, parent: str) -> None:
    assert structure_from_text(form).skeleton_key == structure_from_text(parent).skeleton_key


def test_salt_parent_records_what_was_stripped() -> None:
    salt = structure_from_text("CC[NH+](CC)CCO.[Cl-]")
    assert salt.smiles == Chem.MolToSmiles(Chem.MolFromSmiles(DEAE))
    assert salt.removed_fragments == ("[Cl-]",)
    assert salt.charge_changed
    assert salt.is_salt_or_mixture_parent
    plain = structure_from_text(DEAE)
    assert plain.removed_fragments == ()
    assert not plain.charge_changed
    assert plain.inchikey == salt.inchikey


def test_structures_compare_by_their_keys() -> None:
    first, second = structure_from_text("CCN(CC)CCO"), structure_from_text("OCCN(CC)CC")
    assert first == second
    assert len({first, second}) == 1
    assert first != structure_from_text("CCN(CC)CCO.Cl")  # the salt records what was removed


def test_stereoisomers_differ_in_full_inchikey_but_not_in_skeleton_key() -> None:
    r_form = structure_from_text("C[C@H](O[P@](C)(=O)F)C(C)(C)C")
    s_form = structure_from_text("C[C@@H](O[P@](C)(=O)F)C(C)(C)C")
    assert r_form.inchikey != s_form.inchikey
    assert r_form.skeleton_key == s_form.skeleton_key
    assert r_form.inchikey.startswith(r_form.skeleton_key)


def test_quaternary_ammonium_keeps_its_charge() -> None:
    # Choline bromide (benign): a quaternary cation has no neutral form.
    choline = structure_from_text("C[N+](C)(C)CCO.[Br-]")
    assert choline.formal_charge == 1
    assert choline.removed_fragments == ("[Br-]",)
    assert not choline.charge_changed
    assert choline.formula == "C5H14NO+"


def test_charge_separated_phosphoryl_is_drawn_as_p_double_bond_o() -> None:
    # DMMP (756-79-6) as some databases draw it, with P+-O- instead of P=O.
    zwitterion = structure_from_text("C[P+]([O-])(OC)OC")
    plain = structure_from_text("COP(C)(=O)OC")
    assert zwitterion.smiles == plain.smiles
    assert zwitterion.inchikey == plain.inchikey
    assert not zwitterion.charge_changed


def test_structure_fields_for_a_listed_chemical() -> None:
    sarin = structure_from_text(SARIN)
    assert isinstance(sarin, Structure)
    assert sarin.formula == "C4H10FO2P"
    assert sarin.inchikey == "DYAHQFWOVKZOOW-UHFFFAOYSA-N"  # published InChIKey of sarin (PubChem CID 7871)
    assert sarin.skeleton_key == "DYAHQFWOVKZOOW"
    assert sarin.inchi.startswith("InChI=1S/C4H10FO2P/")


def test_inchi_and_smiles_of_one_chemical_give_one_structure() -> None:
    from_smiles = structure_from_text("CCO")
    from_inchi = structure_from_text("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3")
    assert from_inchi.inchikey == from_smiles.inchikey == "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"
    assert parse_inchi(from_smiles.inchi).GetNumAtoms() == 3


def test_amine_salt_of_a_larger_acid_is_visible_through_standardise_fragments() -> None:
    # Invented salt form: tartrate of N,N-dimethylaminoethanol (108-01-0); the acid is the larger fragment.
    mol = parse_smiles("OC(C(O)C(=O)O)C(=O)O.CN(C)CCO")
    keys = {s.smiles for s in standardise_fragments(mol)}
    assert "CN(C)CCO" in keys
    assert len(keys) == 2


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("C1CC(", "syntax error"),
        ("CN(C)(C)(C)C", "valence"),
        ("c1cccc1", "kekulize"),
        ("C1CC", "unclosed ring"),
    ],
)
def test_bad_smiles_raises_with_rdkits_reason_and_prints_nothing(
    text: str, reason_part: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InvalidStructure) as caught:
        parse_smiles(text)
    assert reason_part in caught.value.message.lower()
    assert caught.value.details["input"] == text
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("InChI=1S/garbage", "syntax error"),
        ("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3/zz", "syntax error"),
        ("InChl=1S/CH4/h1H4", "does not start with"),
    ],
)
def test_bad_inchi_raises_with_the_inchi_reason_and_prints_nothing(
    text: str, reason_part: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InvalidStructure) as caught:
        parse_inchi(text)
    assert reason_part in caught.value.message.lower()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("text", ["", "   ", "C C", "x" * 6000, "C" * 1001, "CCé", "0000\x80\x80𐀀"])
def test_empty_spaced_or_huge_input_is_refused(text: str) -> None:
    with pytest.raises(InvalidStructure):
        structure_from_text(text)


def test_standardising_prints_no_rdkit_warnings(capfd: pytest.CaptureFixture[str]) -> None:
    # Undefined stereocentre (InChI warns) and a metal salt (the disconnector warns): benign chemicals.
    structure_from_text("CC(O)CC")
    structure_from_text("CC(=O)O[Na]")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acetone", False),
        ("sarin", False),
        ("Phosgene", False),
        ("VX", False),
        ("DMMP", False),
        ("107-44-8", False),
        ("InChI=1S/CH4/h1H4", False),
        ("sodium chloride", False),
        ("CC(=O)C", True),
        ("c1ccccc1", True),
        ("[Na+].[Cl-]", True),
        ("CO", True),  # methanol's SMILES: routers must try names/CAS first
        ("CC(C", False),
    ],
)
def test_looks_like_smiles(text: str, expected: bool) -> None:
    assert looks_like_smiles(text) is expected


def test_looks_like_inchi_and_inchikey() -> None:
    assert looks_like_inchi("InChI=1S/CH4/h1H4")
    assert not looks_like_inchi("CH4")
    assert looks_like_inchikey("DYAHQFWOVKZOOW-UHFFFAOYSA-N")
    assert not looks_like_inchikey("DYAHQFWOVKZOOW-UHFFFAOYSA")
    assert not looks_like_inchikey("dyahqfwovkzoow-uhfffaoysa-n")


def _nci_sample() -> list[str]:
    path = Path(rdkit.__file__).parent / "Data" / "NCI" / "first_5K.smi"
    return [line.split()[0] for line in path.read_text().splitlines()[:800] if line.strip()]


_NCI = _nci_sample()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_NCI))
def test_standardise_is_idempotent_on_real_molecules(smiles: str) -> None:
    try:
        first = structure_from_text(smiles)
    except InvalidStructure:
        return  # a few NCI records do not sanitise; refusing them is the correct outcome
    second = standardise(first.mol)
    assert second.smiles == first.smiles
    assert second.inchikey == first.inchikey
    assert second.skeleton_key == first.skeleton_key
    assert not second.charge_changed
    assert second.removed_fragments == ()


_SMILES_ALPHABET = "CNOPSFIBrclnos()[]=#@+-123456789%/\\.H* "


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=_SMILES_ALPHABET, max_size=40) | st.text(max_size=20))
def test_any_text_either_parses_or_raises_invalid_structure_silently(
    text: str, capfd: pytest.CaptureFixture[str]
) -> None:
    looks_like_smiles(text)  # a routing guess never raises
    looks_like_inchi(text)
    looks_like_inchikey(text)
    try:
        structure = structure_from_text(text)
    except InvalidStructure as error:
        assert error.message
    else:
        assert structure.smiles
        assert structure.mol.GetNumAtoms() > 0
    out, err = capfd.readouterr()
    assert out == "" and err == ""
