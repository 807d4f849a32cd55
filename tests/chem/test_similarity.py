"""Tests of vigichem.chem.similarity (Morgan-fingerprint Tanimoto index).

Index items are listed chemicals with the CAS the CWC Annex or the Australia Group list prints (DMMP
756-79-6, diethyl methylphosphonate 683-08-9, triethanolamine 102-71-6, thiodiglycol 111-48-8, pinacolyl
alcohol 464-07-3); queries are those same chemicals and ordinary benign chemicals.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import DataStructs, RDConfig
from rdkit.Chem import rdFingerprintGenerator

from vigichem.chem.index import get_index
from vigichem.chem.similarity import SimilarityIndex
from vigichem.chem.structure import Structure, structure_from_text
from vigichem.errors import InvalidInput

LISTED = {
    "DMMP": "COP(C)(=O)OC",
    "diethyl methylphosphonate": "CCOP(C)(=O)OCC",
    "triethanolamine": "OCCN(CCO)CCO",
    "thiodiglycol": "OCCSCCO",
    "pinacolyl alcohol": "CC(O)C(C)(C)C",
}


def _s(smiles: str) -> Structure:
    return structure_from_text(smiles)


@pytest.fixture(scope="module")
def index() -> SimilarityIndex[str]:
    return SimilarityIndex([(name, _s(smiles)) for name, smiles in LISTED.items()])


def test_a_listed_chemical_is_its_own_nearest_with_similarity_one(index: SimilarityIndex[str]) -> None:
    hits = index.nearest(_s(LISTED["thiodiglycol"]), threshold=0.99)
    assert hits == [("thiodiglycol", 1.0)]


def test_a_salt_of_a_listed_chemical_has_the_parents_fingerprint(index: SimilarityIndex[str]) -> None:
    hits = index.nearest(_s("OCC[NH+](CCO)CCO.[Cl-]"), threshold=0.99)  # triethanolamine hydrochloride
    assert hits == [("triethanolamine", 1.0)]


def test_results_are_sorted_best_first_and_agree_with_rdkit(index: SimilarityIndex[str]) -> None:
    query = _s(LISTED["DMMP"])
    hits = index.nearest(query, threshold=0.01)
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0] == ("DMMP", 1.0)
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    expected = DataStructs.TanimotoSimilarity(
        generator.GetFingerprint(query.mol),
        generator.GetFingerprint(_s(LISTED["diethyl methylphosphonate"]).mol),
    )
    assert dict(hits)["diethyl methylphosphonate"] == pytest.approx(expected, abs=1e-4)


def test_threshold_filters_and_limit_caps(index: SimilarityIndex[str]) -> None:
    query = _s(LISTED["DMMP"])
    everything = index.nearest(query, threshold=0.01)
    strict = index.nearest(query, threshold=0.5)
    assert len(strict) < len(everything)
    assert all(score >= 0.5 for _, score in strict)
    assert index.nearest(query, threshold=0.01, limit=1) == everything[:1]


def test_an_unrelated_chemical_is_not_near_anything(index: SimilarityIndex[str]) -> None:
    assert index.nearest(_s("c1ccc2ccccc2c1"), threshold=0.3) == []  # naphthalene


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_threshold_outside_zero_one_is_refused(index: SimilarityIndex[str], threshold: float) -> None:
    with pytest.raises(InvalidInput):
        index.nearest(_s("CCO"), threshold=threshold)


def test_negative_limit_is_refused(index: SimilarityIndex[str]) -> None:
    with pytest.raises(InvalidInput):
        index.nearest(_s("CCO"), threshold=0.5, limit=-1)


def test_empty_index_and_arbitrary_keys() -> None:
    assert SimilarityIndex[str]([]).nearest(_s("CCO"), threshold=0.5) == []
    keyed = SimilarityIndex([((1, "a"), _s("CCO")), ((2, "b"), _s("CCO"))])
    assert keyed.nearest(_s("CCO"), threshold=0.9) == [((1, "a"), 1.0), ((2, "b"), 1.0)]
    assert len(keyed) == 2


def _brute_force(
    query: Structure, items: list[tuple[str, DataStructs.ExplicitBitVect]], threshold: float
) -> list[tuple[str, float]]:
    fingerprint = _MORGAN.GetFingerprint(query.mol)
    scored = [
        (position, DataStructs.TanimotoSimilarity(fingerprint, item))
        for position, (_, item) in enumerate(items)
    ]
    hits = sorted((hit for hit in scored if hit[1] >= threshold), key=lambda hit: (-hit[1], hit[0]))
    return [(items[position][0], round(score, 4)) for position, score in hits]


_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@pytest.mark.parametrize("threshold", [0.2, 0.4, 0.7, 1.0])
def test_the_bit_count_window_never_drops_a_hit(threshold: float) -> None:
    """Every listed structure of the knowledge base against the others and 300 NCI structures shipped with
    RDKit: the windowed search answers exactly what a comparison with every fingerprint answers."""
    items = [
        (f"{ref.list_id}/{position}", ref.structure)
        for position, ref in enumerate(get_index().refs)
        if ref.structure is not None
    ]
    windowed = SimilarityIndex(items)
    fingerprints = [(key, _MORGAN.GetFingerprint(item.mol)) for key, item in items]
    queries = [item for _, item in items]
    nci = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    for line in nci.read_text(encoding="utf-8").splitlines()[:300]:
        try:
            queries.append(structure_from_text(line.split()[0]))
        except InvalidInput:
            continue  # a few NCI records are not screenable structures (metals, odd valences)
    assert len(queries) > len(items) + 250
    for query in queries:
        assert windowed.nearest(query, threshold) == _brute_force(query, fingerprints, threshold)


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.7, 0.9, 1.0])
def test_reaches_answers_as_nearest_does(threshold: float) -> None:
    """The yes/no question of screening's quick path against the full search, on the knowledge base's
    listed structures and 500 NCI structures shipped with RDKit, at thresholds on both sides of typical
    scores."""
    items = [(ref, ref.structure) for ref in get_index().refs if ref.structure is not None]
    listed = SimilarityIndex(items)
    queries = [item for _, item in items]
    nci = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    for line in nci.read_text(encoding="utf-8").splitlines()[:500]:
        try:
            queries.append(structure_from_text(line.split()[0]))
        except InvalidInput:
            continue
    answers = [listed.reaches(query.mol, threshold) for query in queries]
    assert answers == [bool(listed.nearest(query, threshold)) for query in queries]
    if threshold in (0.3, 0.7):
        assert any(answers) and not all(answers)  # the comparison saw both answers


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_reaches_refuses_a_threshold_outside_the_unit_interval(
    index: SimilarityIndex[str], threshold: float
) -> None:
    with pytest.raises(InvalidInput):
        index.reaches(_s("CCO").mol, threshold)
