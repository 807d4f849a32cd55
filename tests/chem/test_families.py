"""Tests of vigichem.chem.families: the packaged CWC family rules and the predicate mechanics.

The packaged rules are tested on their own positives (chemicals the CWC Annex or the Australia Group
list names), negatives and named exemptions, all read from families.yaml. The predicate mechanics
(carbon-count bounds, the Me/Et/n-Pr/i-Pr set, "H or alkyl", alkylated salts, root elements, pattern
counts) are tested with test-only rules written here on benign scaffolds (acetate esters, acetamides,
ethanolamines): invented rules over ordinary chemicals, never members of a scheduled family.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdkit

from vigichem.chem.cas import is_valid_cas
from vigichem.chem.families import DEFAULT_FAMILIES_PATH, FamilyMatch, FamilyMatcher, load_family_rules
from vigichem.chem.models import FamilyRule, NamedStructure
from vigichem.chem.structure import Structure, structure_from_text
from vigichem.errors import InvalidStructure, KnowledgeBaseError

RULES = load_family_rules()
MATCHER = FamilyMatcher(RULES)
EXPECTED_IDS = {
    "cwc-1A1",
    "cwc-1A2",
    "cwc-1A3",
    "cwc-1A13",
    "cwc-1A14",
    "cwc-1A16",
    "cwc-1B9",
    "cwc-1B10",
    "cwc-2B4",
    "cwc-2B5",
    "cwc-2B6",
    "cwc-2B10",
    "cwc-2B11",
    "cwc-2B12",
}


def _matches(smiles: str, matcher: FamilyMatcher = MATCHER) -> dict[str, FamilyMatch]:
    return {m.rule_id: m for m in matcher.match(structure_from_text(smiles))}


def _cases(field: str) -> list[tuple[str, str, str]]:
    return [(rule.id, item.name, item.smiles) for rule in RULES for item in getattr(rule, field)]


def test_packaged_rules_have_the_expected_ids_sources_and_examples() -> None:
    assert {rule.id for rule in RULES} == EXPECTED_IDS
    for rule in RULES:
        assert rule.source.startswith("CWC Annex on Chemicals")
        assert rule.description
        assert rule.positives, f"{rule.id} has no positive"
        assert rule.negatives, f"{rule.id} has no negative"
        for item in (*rule.positives, *rule.negatives, *rule.exemptions):
            assert item.cas, f"{rule.id}: {item.name} has no CAS"
            assert is_valid_cas(item.cas), f"{rule.id}: {item.name}: CAS {item.cas} fails the check digit"


def test_amendment_rules_carry_their_entry_into_force() -> None:
    for rule_id in ("cwc-1A13", "cwc-1A14", "cwc-1A16"):
        rule = MATCHER.rule(rule_id)
        assert str(rule.effective_from) == "2020-06-07"
        assert "C-24/DEC.4" in rule.source and "C-24/DEC.5" in rule.source


@pytest.mark.parametrize(("rule_id", "name", "smiles"), _cases("positives"))
def test_every_positive_matches_its_rule(rule_id: str, name: str, smiles: str) -> None:
    found = _matches(smiles)
    assert rule_id in found, f"{name} should fall under {rule_id}"
    assert found[rule_id].exempted_by is None
    assert found[rule_id].explanation.startswith(MATCHER.rule(rule_id).entry)


@pytest.mark.parametrize(("rule_id", "name", "smiles"), _cases("negatives"))
def test_no_negative_matches_its_rule(rule_id: str, name: str, smiles: str) -> None:
    assert rule_id not in _matches(smiles), f"{name} must not fall under {rule_id}"


@pytest.mark.parametrize(("rule_id", "name", "smiles"), _cases("exemptions"))
def test_named_exemptions_come_out_as_exempted(rule_id: str, name: str, smiles: str) -> None:
    found = _matches(smiles)
    assert found[rule_id].exempted_by == name
    assert found[rule_id].exempted
    assert "exemption" in found[rule_id].explanation


def test_protonated_salt_of_an_exempted_chemical_is_still_exempted() -> None:
    # Hydrochloride of N,N-dimethylaminoethanol (108-01-0): the exemption covers its protonated salts.
    assert _matches("C[NH+](C)CCO.[Cl-]")["cwc-2B11"].exempted_by == "N,N-Dimethylaminoethanol"


def test_a_structure_gets_every_entry_it_falls_under() -> None:
    sarin = _matches("CC(C)OP(C)(=O)F")  # 107-44-8: Schedule 1 A(1) and also within 2B(4)'s words
    assert set(sarin) == {"cwc-1A1", "cwc-2B4"}
    assert "O-alkyl: isopropyl (C3, within ≤C10)" in sarin["cwc-1A1"].explanation
    assert "P-alkyl: methyl" in sarin["cwc-1A1"].explanation
    df = _matches("CP(=O)(F)F")  # 676-99-3
    assert set(df) == {"cwc-1B9", "cwc-2B4"}


def test_protonated_and_alkylated_salts_of_vx_match_1a3() -> None:
    # Salt forms of VX (50782-69-9), which the entry covers by name ("alkylated or protonated salts").
    assert "cwc-1A3" in _matches("CCOP(C)(=O)SCC[NH+](C(C)C)C(C)C.[Cl-]")
    methylated = _matches("CCOP(C)(=O)SCC[N+](C)(C(C)C)C(C)C.[I-]")
    assert "alkylated salt" in methylated["cwc-1A3"].explanation


def test_quaternary_salts_do_not_reach_entries_covering_only_protonated_salts() -> None:
    # Choline chloride is (formally) methylated DMAE; 2B(11) covers protonated salts only.
    assert "cwc-2B11" not in _matches("C[N+](C)(C)CCO.[Cl-]")


def test_charge_separated_drawing_of_a_listed_chemical_matches() -> None:
    # Sarin (107-44-8) drawn with P+-O- instead of P=O.
    assert "cwc-1A1" in _matches("C[P+]([O-])(F)OC(C)C")


def test_deuterated_listed_chemical_still_matches() -> None:
    # DMMP (756-79-6) with a CD3 on phosphorus: explicit isotopic H atoms are part of the alkyl group.
    assert "cwc-2B4" in _matches("[2H]C([2H])([2H])P(=O)(OC)OC")


def test_benign_chemicals_match_nothing() -> None:
    benign = ["CCO", "CC(=O)Oc1ccccc1C(=O)O", "OCC(O)CO", "c1ccccc1", "CN1C=NC2=C1C(=O)N(C)C(=O)N2C", "O"]
    for smiles in benign:
        assert MATCHER.match(structure_from_text(smiles)) == []


def _nci_structures(limit: int) -> list[str]:
    path = Path(rdkit.__file__).parent / "Data" / "NCI" / "first_5K.smi"
    return [line.split()[0] for line in path.read_text().splitlines()[:limit] if line.strip()]


def test_the_prefilter_never_rejects_a_match() -> None:
    # Real molecules (RDKit's NCI sample, which holds a few 2B(10)/2B(11)/2B(4) chemicals) and every
    # chemical named in the rules: the answer must not depend on the prefilter.
    texts = _nci_structures(1000) + [item.smiles for _, _, item in _all_named()]
    compared = 0
    for text in texts:
        try:
            structure = structure_from_text(text)
        except InvalidStructure:
            continue
        assert MATCHER.match(structure) == MATCHER.match(structure, prefilter=False), text
        compared += 1
    assert compared > 900


def test_matches_any_answers_as_match_does() -> None:
    # The yes/no question of screening's quick path must give the answer of `match`, on the standardised
    # structure and on the lightly parsed molecule alike, for real molecules and every named chemical
    # (positives, negatives, exemptions: an exempted match still counts as a match).
    from rdkit.Chem import rdMolDescriptors

    from vigichem.chem.structure import parse_smiles_lightly

    texts = _nci_structures(1000) + [item.smiles for _, _, item in _all_named()]
    compared = matched = 0
    for text in texts:
        try:
            structure = structure_from_text(text)
        except InvalidStructure:
            continue
        expected = bool(MATCHER.match(structure))
        assert MATCHER.matches_any(structure.mol, structure.formula) is expected, text
        light = parse_smiles_lightly(text)
        if light is not None:
            formula = rdMolDescriptors.CalcMolFormula(light)
            provisional = Structure(
                mol=light, smiles="", inchi="", inchikey="", skeleton_key="", formula=formula
            )
            assert MATCHER.matches_any(light, formula) is bool(MATCHER.match(provisional)), text
        compared += 1
        matched += expected
    assert compared > 900
    assert matched >= len(_cases("positives")), "every positive should have been a match"


def _all_named() -> list[tuple[str, str, NamedStructure]]:
    return [
        (rule.id, field, item)
        for rule in RULES
        for field in ("positives", "negatives", "exemptions")
        for item in getattr(rule, field)
    ]


# ---- predicate mechanics on benign scaffolds (test-only rules) ---------------------------------------------


def _rule(**fields: object) -> FamilyRule:
    base: dict[str, object] = {
        "id": "test-rule",
        "entry": "T(1)",
        "description": "invented test rule",
        "source": "test",
        "core_label": "test core",
        "smarts": "CC(=O)[OX2:1]",
    }
    base.update(fields)
    return FamilyRule.model_validate(base)


ESTER_LE_C10 = FamilyMatcher(
    [_rule(substituents=[{"atom": 1, "label": "O-alkyl", "kind": "alkyl", "max_carbons": 10}])]
)


@pytest.mark.parametrize(
    ("smiles", "expected"),
    [
        ("CC(=O)OC", True),  # methyl acetate
        ("CC(=O)OCCCCCCCCCC", True),  # decyl acetate: C10, at the bound
        ("CC(=O)OCCCCCCCCCCC", False),  # undecyl acetate: C11, above the bound
        ("CC(=O)OC1CCCCC1", True),  # cyclohexyl acetate: cycloalkyl
        ("CC(=O)OCc1ccccc1", False),  # benzyl acetate: aromatic
        ("CC(=O)OCCOC", False),  # 2-methoxyethyl acetate: heteroatom in the group
        ("CC(=O)OC=C", False),  # vinyl acetate: unsaturated
        ("CC(=O)O", False),  # acetic acid: no group where one is required
    ],
)
def test_alkyl_predicate_with_carbon_bound(smiles: str, expected: bool) -> None:
    assert bool(_matches(smiles, ESTER_LE_C10)) is expected


def test_ring_closing_onto_the_core_is_not_a_substituent() -> None:
    # gamma-Butyrolactone: the "O-substituent" closes a ring back onto the core's carbonyl carbon.
    lactone = FamilyMatcher(
        [_rule(smarts="[#6]C(=O)[OX2:1]", substituents=[{"atom": 1, "label": "O", "kind": "alkyl"}])]
    )
    assert _matches("O=C1CCCO1", lactone) == {}


def test_h_or_alkyl_count_range() -> None:
    matcher = FamilyMatcher(
        [_rule(substituents=[{"atom": 1, "label": "O", "kind": "alkyl", "count": [0, 1]}])]
    )
    assert "O: H" in _matches("CC(=O)O", matcher)["test-rule"].explanation
    assert "test-rule" in _matches("CC(=O)OCC", matcher)


AMIDE_SET = FamilyMatcher(
    [
        _rule(
            smarts="CC(=O)[NX3:1]",
            substituents=[
                {
                    "atom": 1,
                    "label": "N-alkyl groups",
                    "kind": "alkyl_set",
                    "count": 2,
                    "allowed": ["methyl", "ethyl", "n-propyl", "isopropyl"],
                }
            ],
        )
    ]
)


@pytest.mark.parametrize(
    ("smiles", "expected"),
    [
        ("CC(=O)N(C)C", True),  # N,N-dimethylacetamide
        ("CC(=O)N(CC)CC", True),  # N,N-diethylacetamide
        ("CC(=O)N(CCC)C(C)C", True),  # n-propyl and isopropyl
        ("CC(=O)N(CCCC)CCCC", False),  # n-butyl is not in the set
        ("CC(=O)N(C)C1CC1", False),  # cyclopropyl is not propyl
        ("CC(=O)NC", False),  # only one group: N,N-dialkyl needs two
        ("CC(=O)N1CCCC1", False),  # a ring through N is not two alkyl groups
    ],
)
def test_alkyl_set_predicate(smiles: str, expected: bool) -> None:
    assert bool(_matches(smiles, AMIDE_SET)) is expected


def test_alkylated_salt_allows_one_more_group_on_a_quaternary_nitrogen() -> None:
    spec = {"atom": 1, "label": "N", "kind": "alkyl_set", "count": 2, "allowed": ["methyl"]}
    plain = FamilyMatcher([_rule(smarts="[NX3,NX4+:1][CH2][CH2][OH]", substituents=[spec])])
    salted = FamilyMatcher(
        [_rule(smarts="[NX3,NX4+:1][CH2][CH2][OH]", substituents=[{**spec, "alkylated_salt": True}])]
    )
    choline = "C[N+](C)(C)CCO.[Cl-]"  # benign: choline chloride
    assert _matches(choline, plain) == {}
    assert "alkylated salt" in _matches(choline, salted)["test-rule"].explanation
    # Benzyl(2-hydroxyethyl)dimethylammonium chloride (benign quaternary): benzylation is an alkylation.
    assert "test-rule" in _matches("C[N+](C)(Cc1ccccc1)CCO.[Cl-]", salted)
    # An aryl group on N+ is not an alkylation: (2-hydroxyethyl)dimethylphenylammonium chloride.
    assert _matches("C[N+](C)(c1ccccc1)CCO.[Cl-]", salted) == {}


def test_root_element_counts_only_branches_starting_with_that_element() -> None:
    # On the carbonyl carbon of an ester: the methyl (C-rooted) counts, the O-substituent does not.
    spec = {"atom": 1, "label": "C groups", "kind": "alkyl_set", "allowed": ["methyl"], "root_element": "C"}
    matcher = FamilyMatcher([_rule(smarts="[CX3:1]=O", substituents=[spec])])
    assert "test-rule" in _matches("CC(=O)OCC", matcher)  # ethyl acetate
    assert _matches("CCC(=O)OC", matcher) == {}  # methyl propanoate: the carbon group is ethyl


def test_pattern_count_predicate() -> None:
    matcher = FamilyMatcher(
        [_rule(smarts="[OX2H]", elements={"counts": [{"smarts": "[OX2H]", "label": "hydroxyls", "min": 3}]})]
    )
    assert "hydroxyls: 3" in _matches("OCC(O)CO", matcher)["test-rule"].explanation  # glycerol
    assert _matches("OCCO", matcher) == {}  # ethylene glycol


def test_forbidden_elements_and_carbon_bounds_prefilter() -> None:
    matcher = FamilyMatcher([_rule(elements={"forbidden": ["Cl"], "max_carbons": 4})])
    assert "test-rule" in _matches("CC(=O)OCC", matcher)  # ethyl acetate, C4
    assert _matches("CC(=O)OCCC", matcher) == {}  # propyl acetate, C5
    assert _matches("CC(=O)OCCCl", matcher) == {}  # 2-chloroethyl acetate: forbidden element


# ---- loading and validation -----------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "families.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_RULE = """
rules:
  - id: t1
    entry: "T(1)"
    description: invented
    source: test
    smarts: "CC(=O)[OX2:1]"
    core_label: acetate
    substituents:
      - {atom: 1, label: O, kind: alkyl}
"""


def test_a_valid_file_loads(tmp_path: Path) -> None:
    rules = load_family_rules(_write(tmp_path, GOOD_RULE))
    assert [rule.id for rule in rules] == ["t1"]


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("rules: [\n  - id: t1\n", "invalid YAML"),
        ("- just a list\n", "'rules' list"),
        (GOOD_RULE.replace("kind: alkyl", "kind: alkly"), "substituents[0].kind"),
        (GOOD_RULE.replace('"CC(=O)[OX2:1]"', '"CC(=O)[OX2:1"'), "invalid SMARTS"),
        (GOOD_RULE.replace("atom: 1", "atom: 7"), "no atom mapped :7"),
        (GOOD_RULE.replace("    source: test\n", ""), "source"),
        (GOOD_RULE + GOOD_RULE.replace("rules:\n", ""), "duplicate rule id"),
        (GOOD_RULE.replace("kind: alkyl", "kind: alkyl_set"), "needs the allowed groups"),
        (GOOD_RULE.replace("kind: alkyl}", "kind: alkyl, count: [2, 1]}"), "minimum 2 above maximum 1"),
        (GOOD_RULE + "    elements: {required: [Xx]}\n", "unknown element symbol"),
        (
            GOOD_RULE + "    positives:\n      - {name: bad, cas: '64-17-5', smiles: 'C1CC('}\n",
            "positives[0]",
        ),
    ],
)
def test_a_corrupted_rule_file_is_refused_with_its_path(tmp_path: Path, text: str, message_part: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(KnowledgeBaseError) as caught:
        load_family_rules(path)
    assert str(path) in caught.value.message
    assert message_part in caught.value.message
    assert caught.value.details["path"] == str(path)


def test_a_missing_rule_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        load_family_rules(tmp_path / "absent.yaml")


def test_default_path_is_the_packaged_file() -> None:
    assert DEFAULT_FAMILIES_PATH.name == "families.yaml"
    assert DEFAULT_FAMILIES_PATH.is_file()
