"""Screening against the packaged knowledge base: routing, identity, salts, isomers, families, precedence,
effective dates, jurisdictions, the watch, and the errors of bad input.

Expectations are read from the knowledge base (entries, their CAS, SMILES, flags and dates) rather than
restated here, so a test fails when screening and the curated data disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from vigichem.chem import (
    Component,
    InputTooLarge,
    InvalidCAS,
    InvalidInput,
    InvalidStructure,
    ScreeningResult,
    UnknownJurisdiction,
    UnknownName,
    load_knowledge_base,
    screen,
)
from vigichem.chem.models import Entry, RegulatoryList
from vigichem.chem.service import screen_safely
from vigichem.settings import get_settings


def _entry(list_id: str, name: str) -> tuple[RegulatoryList, Entry]:
    regulatory_list = load_knowledge_base().lists[list_id]
    for entry in regulatory_list.entries:
        if entry.name == name:
            return regulatory_list, entry
    raise AssertionError(f"{name!r} is not in {list_id}")


def _findings(result: ScreeningResult, list_short: str) -> list[tuple[str, str, str]]:
    return [(f.entry, f.basis, f.status) for f in result.findings if f.list == list_short]


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


# ---- routing and identity --------------------------------------------------------------------------


def test_cas_query_finds_the_entry_that_prints_it() -> None:
    annex_i, peroxide = _entry("eu-2019-1148-annex-i", "Hydrogen peroxide")
    result = screen(peroxide.cas[0], jurisdiction="EU")
    assert result.identity is not None and result.identity.cas == peroxide.cas[0]
    assert result.identity.name == peroxide.name
    assert (peroxide.entry, "cas", "restricted") in _findings(result, annex_i.short)
    finding = next(f for f in result.findings if f.list == annex_i.short)
    assert finding.jurisdiction == "EU"
    assert finding.source.startswith(peroxide.source)


def test_name_is_case_accent_and_spelling_insensitive() -> None:
    annex_i, sulphuric = _entry("eu-2019-1148-annex-i", "Sulphuric acid")
    for query in ("SULFURIC ACID", "sulphuric   acid", "Sulfuric-acid", "sulfúric acid"):
        result = screen(query, jurisdiction="EU")
        assert result.identity is not None and result.identity.cas == sulphuric.cas[0], query
        assert _findings(result, annex_i.short), query


def test_cas_printed_in_the_regulation_gives_basis_cas_for_a_name_query() -> None:
    annex_ii, acetone = _entry("eu-2019-1148-annex-ii", "Acetone")
    result = screen("acetone", jurisdiction="EU")
    assert (acetone.entry, "cas", "reportable") in _findings(result, annex_ii.short)


def test_smiles_inchi_and_inchikey_reach_the_same_entry() -> None:
    schedule_2, thiodiglycol = _entry("cwc-2", "Thiodiglycol")
    assert thiodiglycol.smiles is not None
    mol = Chem.MolFromSmiles(thiodiglycol.smiles)
    inchi = Chem.MolToInchi(mol)
    inchikey = Chem.MolToInchiKey(mol)
    for query in (thiodiglycol.smiles, inchi, inchikey):
        result = screen(query)
        assert (thiodiglycol.entry, "structure", "declarable") in _findings(result, schedule_2.short), query
        assert result.identity is not None and result.identity.cas == thiodiglycol.cas[0]


def test_benign_chemical_has_no_finding() -> None:
    result = screen("CCO")  # ethanol
    assert result.findings == ()
    assert not result.controlled
    # Far from every list, so the quick path answered: the SMILES as submitted, no InChI computed.
    assert result.identity is not None and result.identity.smiles == "CCO"


# ---- salts and stereoisomers -----------------------------------------------------------------------


def test_salt_of_a_listed_amine_matches_where_the_list_covers_salts() -> None:
    kb = load_knowledge_base()
    _, ephedrine = _entry("eu-dp-1", "Ephedrine")
    assert ephedrine.smiles is not None
    result = screen(ephedrine.smiles + ".Cl")  # the hydrochloride, built from the listed structure
    covering = {
        r.short for r, e in kb.entries() if e.cas == ephedrine.cas and (e.covers_salts or r.covers_salts)
    }
    assert covering, "no list covering ephedrine salts"
    for short in covering:
        assert any(f.list == short and f.basis == "structure" for f in result.findings), short
    reasons = " ".join(f.reason for f in result.findings)
    assert "parent of the submitted salt" in reasons and "removed" in reasons


def test_salt_is_not_matched_where_the_list_does_not_cover_salts() -> None:
    schedule_2, quinuclidinol = _entry("cwc-2", "Quinuclidin-3-ol")
    assert not (quinuclidinol.covers_salts or schedule_2.covers_salts)
    assert quinuclidinol.smiles is not None
    result = screen(quinuclidinol.smiles + ".Cl")
    assert not [f for f in result.findings if f.list == schedule_2.short and f.entry == quinuclidinol.entry]
    assert any("does not cover salts" in note for note in result.notes)


def test_stereoisomer_matches_where_the_list_covers_isomers() -> None:
    schedule_2, pinacolyl = _entry("cwc-2", "Pinacolyl alcohol")
    assert schedule_2.covers_isomers and pinacolyl.covers_isomers is not False
    result = screen("C[C@H](O)C(C)(C)C")  # one enantiomer of the listed (racemic) pinacolyl alcohol
    assert (pinacolyl.entry, "structure", "declarable") in _findings(result, schedule_2.short)


# ---- families, exemptions, precedence --------------------------------------------------------------


def test_family_member_in_salt_form_matches_a_family_that_covers_protonated_salts() -> None:
    kb = load_knowledge_base()
    ag = kb.lists["ag-cw"]
    salt = next(e for e in ag.entries if e.smiles and "." in e.smiles and "CCCl" in e.smiles)
    schedule_2 = kb.lists["cwc-2"]
    family_entry = next(e for e in schedule_2.entries if e.family == "cwc-2B10")
    result = screen(salt.smiles or "")
    assert (family_entry.entry, "family", "declarable") in _findings(result, schedule_2.short)


def test_named_exemption_gives_no_finding_but_a_note() -> None:
    from vigichem.chem.families import load_family_rules

    rule = next(r for r in load_family_rules() if r.id == "cwc-2B4")
    assert rule.exemptions, "2B(4) names fonofos as an exemption"
    exempted = rule.exemptions[0]
    for query in filter(None, (exempted.smiles, exempted.cas)):
        result = screen(query)
        assert not [f for f in result.findings if f.list == "CWC Schedule 2"], query
        assert any("exempted" in note for note in result.notes), query


def test_schedule_1_takes_precedence_over_schedule_2_family() -> None:
    schedule_1, sarin = _entry("cwc-1", "Sarin")
    result = screen(sarin.cas[0])
    assert (sarin.entry, "cas", "controlled") in _findings(result, schedule_1.short)
    assert not _findings(result, "CWC Schedule 2")
    assert any("takes precedence" in note and schedule_1.short in note for note in result.notes)


def test_schedule_2_named_example_matches_without_schedule_1() -> None:
    schedule_2, dmmp = _entry("cwc-2", "Dimethyl methylphosphonate")
    result = screen(dmmp.cas[0])
    assert (dmmp.entry, "cas", "declarable") in _findings(result, schedule_2.short)


# ---- effective dates -------------------------------------------------------------------------------


def _late_schedule_1_entry() -> tuple[RegulatoryList, Entry]:
    kb = load_knowledge_base()
    schedule_1 = kb.lists["cwc-1"]
    entry = next(e for e in schedule_1.entries if e.effective_from and e.cas and e.smiles)
    return schedule_1, entry


def test_schedule_1_addition_is_watch_before_and_controlled_after_it_enters_into_force() -> None:
    schedule_1, entry = _late_schedule_1_entry()
    assert entry.effective_from is not None
    before = entry.effective_from - dt.timedelta(days=200)
    after = entry.effective_from + dt.timedelta(days=200)

    earlier = screen(entry.cas[0], as_of=before)
    watch = [f for f in earlier.findings if f.list == schedule_1.short]
    assert watch and all(f.status == "watch" for f in watch)
    assert str(entry.effective_from) in watch[0].reason

    later = screen(entry.cas[0], as_of=after)
    assert (entry.entry, "cas", "controlled") in _findings(later, schedule_1.short)


def test_list_not_yet_in_force_gives_no_legal_finding() -> None:
    annex_i, peroxide = _entry("eu-2019-1148-annex-i", "Hydrogen peroxide")
    assert annex_i.effective_from is not None
    result = screen(peroxide.cas[0], jurisdiction="EU", as_of=annex_i.effective_from - dt.timedelta(days=1))
    assert all(f.status == "watch" for f in result.findings if f.list == annex_i.short)
    assert screen(peroxide.cas[0], jurisdiction="EU", as_of=annex_i.effective_from).controlled


# ---- jurisdictions ---------------------------------------------------------------------------------


def test_jurisdiction_limits_the_lists() -> None:
    kb = load_knowledge_base()
    annex_i, peroxide = _entry("eu-2019-1148-annex-i", "Hydrogen peroxide")
    for code in kb.jurisdictions:
        result = screen(peroxide.cas[0], jurisdiction=code)
        applies = annex_i.id in {r.id for r in kb.lists_for(code)}
        assert bool(_findings(result, annex_i.short)) == applies, code
        assert all(f.jurisdiction == code for f in result.findings)


def test_without_jurisdiction_findings_carry_the_listing_jurisdiction() -> None:
    schedule_2, thiodiglycol = _entry("cwc-2", "Thiodiglycol")
    result = screen(thiodiglycol.cas[0])
    codes = {f.jurisdiction for f in result.findings if f.list == schedule_2.short}
    assert codes and codes <= set(load_knowledge_base().jurisdictions)


def test_unknown_jurisdiction_lists_the_known_codes() -> None:
    with pytest.raises(UnknownJurisdiction) as raised:
        screen("7722-84-1", jurisdiction="XX")
    for code in load_knowledge_base().jurisdictions:
        assert code in raised.value.message


# ---- designer-precursor watch ----------------------------------------------------------------------


def test_watch_finding_for_a_similar_unlisted_chemical(settings_env: pytest.MonkeyPatch) -> None:
    # Diethanolamine (CAS 111-42-2) is an ordinary unlisted chemical; its Morgan fingerprint shares about
    # a quarter of its bits with small listed ethanolamines, so a low threshold must make it a watch.
    settings_env.setenv("VIGICHEM_WATCH_SIMILARITY", "0.2")
    result = screen("OCCNCCO")
    assert result.findings and all(f.status == "watch" for f in result.findings)
    assert all(f.similarity is not None and f.similarity >= 0.2 for f in result.findings)
    assert "Tanimoto" in result.findings[0].reason
    assert not result.controlled

    settings_env.setenv("VIGICHEM_WATCH_SIMILARITY", "1.0")
    get_settings.cache_clear()
    assert screen("OCCNCCO").findings == ()


def test_no_watch_when_a_legal_finding_was_made(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("VIGICHEM_WATCH_SIMILARITY", "0.1")
    result = screen("OCCSCCO")  # thiodiglycol, listed
    assert result.controlled
    assert not [f for f in result.findings if f.status == "watch"]


# ---- bad input -------------------------------------------------------------------------------------


def test_invalid_cas_says_which_check_digit_was_expected() -> None:
    with pytest.raises(InvalidCAS, match="expected 1"):
        screen("7722-84-2")


def test_unparsable_smiles_gives_rdkits_reason_without_log_noise(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InvalidStructure) as raised:
        screen("C1CC(")
    assert "C1CC(" in raised.value.message
    assert "SMILES" in raised.value.message
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_unparsable_inchi_is_reported() -> None:
    with pytest.raises(InvalidStructure, match="InChI"):
        screen("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3/zz")


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(UnknownName) as raised:
        screen("acetonne")
    assert "Acetone" in raised.value.details["suggestions"]
    assert "did you mean" in raised.value.message


def test_empty_and_oversized_queries() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        screen("   ")
    limit = get_settings().max_query_chars
    with pytest.raises(InputTooLarge, match=str(limit)):
        screen("C" * (limit + 1))


def test_screen_safely_turns_errors_into_the_result() -> None:
    result = screen_safely("7722-84-2")
    assert result.identity is None and result.findings == ()
    assert result.errors[0]["code"] == "invalid_cas"


def test_mixture_as_component_list() -> None:
    annex_i, peroxide = _entry("eu-2019-1148-annex-i", "Hydrogen peroxide")
    result = screen([Component(query=peroxide.cas[0], concentration=30), Component(query="water")], "EU")
    assert result.identity is None
    assert [f.component for f in result.findings if f.list == annex_i.short] == [peroxide.cas[0]]
    assert len(result.components) == 2


# ---- the quick negative path -----------------------------------------------------------------------


def test_quick_negative_path_agrees_with_full_standardisation() -> None:
    from pathlib import Path

    from rdkit import RDConfig

    from vigichem.chem.index import get_index
    from vigichem.chem.matching import _from_structure, resolve
    from vigichem.chem.structure import parse_smiles, standardise

    index = get_index()
    threshold = get_settings().watch_similarity
    nci = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"  # real structures shipped with RDKit
    lines = nci.read_text(encoding="utf-8").splitlines()[:300]
    listed = [ref.entry.smiles for ref in index.refs if ref.entry.smiles]
    quick = 0
    for smiles in [line.split()[0] for line in lines] + listed:
        try:
            mol = parse_smiles(smiles)
            full = _from_structure(index, mol, standardise(mol))
        except InvalidInput:
            continue
        fast = resolve(index, smiles)
        quick += fast.structure is None
        assert {m.ref.entry.name for m in fast.matches} == {m.ref.entry.name for m in full.matches}, smiles
        assert full.structure is not None
        if fast.structure is None:
            assert not full.matches and not index.nearest(full.structure, threshold), smiles
    assert quick > 100, "most NCI structures should take the quick path"


def test_the_quick_result_is_the_one_the_general_path_builds() -> None:
    """A quick negative's result is built without findings_for_matches and the watch; under every law
    context (jurisdiction, date, quantity, concentration, mixture component) it must be exactly what the
    general path makes of the same resolution, down to the fields set."""
    from pathlib import Path

    from rdkit import RDConfig

    from vigichem.chem.findings import LawContext
    from vigichem.chem.index import get_index
    from vigichem.chem.matching import resolve
    from vigichem.chem.mixtures import parse_quantity
    from vigichem.chem.service import _result_of, _screen_single

    index = get_index()
    nci = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    texts = [line.split()[0] for line in nci.read_text(encoding="utf-8").splitlines()[300:400]]
    contexts = [
        (LawContext(index, None, None), None, None, None),
        (LawContext(index, "EU", dt.date(2020, 1, 1)), parse_quantity("500 kg"), 30.0, "component"),
        (LawContext(index, "US", None), None, 5.0, None),
    ]
    quick = 0
    for text in texts:
        resolution = resolve(index, text)
        if not resolution.quick:
            continue
        quick += 1
        assert not resolution.matches and not resolution.notes and resolution.structure is None
        for law, amount, concentration, component in contexts:
            fast = _screen_single(index, text, law, amount, concentration, component)
            general = _result_of(resolution, text, law, amount, concentration, component)
            assert fast == general, text
            assert fast.model_fields_set == general.model_fields_set
    assert quick > 50


def _batch_queries() -> list[str]:
    """Real structures (RDKit's NCI sample: mostly quick negatives, some metals and salts), every listed
    SMILES and CAS number, names, InChIKeys, mixtures, errors, blanks and repeats."""
    from pathlib import Path

    from rdkit import RDConfig

    from vigichem.chem.index import get_index

    index = get_index()
    nci = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    real = [line.split()[0] for line in nci.read_text(encoding="utf-8").splitlines()[:600]]
    listed = [ref.entry.smiles for ref in index.refs if ref.entry.smiles]
    others = [
        *sorted(index.by_cas)[:40],
        *(ref.entry.name for ref in index.refs[:40]),
        *(ref.structure.inchikey for ref in index.refs[:20] if ref.structure is not None),
        "hydrogen peroxide 30%; water 70%",
        "7722-84-2",
        "C1CC(",
        "acetonne",
        "  CCS(=O)(=O)CC  ",
        "",
        "C" * 2500,
        "OCCSCCO",
        "c1ccccc1[N+](=O)[O-]",
    ]
    queries = [*real[:300], *listed, *others, *real[300:]]
    return queries + queries[::7]  # repeats, some within one chunk


@pytest.mark.parametrize(
    ("jurisdiction", "as_of", "quantity"),
    [
        (None, None, None),
        ("EU", dt.date(2021, 6, 1), "500 kg"),
        ("XX", None, None),
        (None, None, "3 furlong"),
    ],
)
def test_screen_batch_gives_what_screen_safely_gives_one_by_one(
    jurisdiction: str | None, as_of: dt.date | None, quantity: str | None
) -> None:
    from vigichem.chem import screen_batch
    from vigichem.chem.index import get_index

    index = get_index()
    queries = _batch_queries()
    index.results.clear()
    index.resolutions.clear()
    one_by_one = [
        screen_safely(q, jurisdiction=jurisdiction, as_of=as_of, quantity=quantity) for q in queries
    ]
    for cold in (True, False):  # empty caches, then caches the first batch filled
        if cold:
            index.results.clear()
            index.resolutions.clear()
        batch = screen_batch(queries, jurisdiction=jurisdiction, as_of=as_of, quantity=quantity)
        assert len(batch) == len(queries)
        for query, expected, got in zip(queries, one_by_one, batch, strict=True):
            assert got == expected, query
            assert got.model_fields_set == expected.model_fields_set, query
    quick = sum(r.identity is not None and r.identity.inchikey is None and not r.findings for r in one_by_one)
    assert quick > 200 or jurisdiction == "XX" or quantity == "3 furlong"


def test_screen_batch_of_nothing_is_empty() -> None:
    from vigichem.chem import screen_batch

    assert screen_batch([]) == []


def test_quick_negatives_stay_out_of_the_resolution_cache() -> None:
    from vigichem.chem.index import get_index
    from vigichem.chem.matching import resolve

    index = get_index()
    threshold = get_settings().watch_similarity
    index.resolutions.clear()
    unlisted = resolve(index, "CCS(=O)(=O)CC")  # diethyl sulfone: quick negative
    listed = resolve(index, "OCCSCCO")  # thiodiglycol: full path
    assert unlisted.quick and not listed.quick
    assert index.resolutions.get(("CCS(=O)(=O)CC", threshold)) is None
    assert index.resolutions.get(("OCCSCCO", threshold)) is listed
    assert resolve(index, "CCS(=O)(=O)CC") == unlisted  # recomputed, and the same


def test_an_isomer_of_a_listed_chemical_takes_the_quick_path_and_a_listed_one_does_not() -> None:
    from vigichem.chem.index import get_index
    from vigichem.chem.matching import resolve

    index = get_index()
    # Diethyl sulfone has thiodiglycol's heavy-atom composition (C4 O2 S) but another heavy-atom graph.
    sulfone = resolve(index, "CCS(=O)(=O)CC")
    assert sulfone.structure is None and not sulfone.matches
    thiodiglycol = resolve(index, "OCCSCCO")  # CWC Schedule 2 B(13), CAS 111-48-8
    assert thiodiglycol.structure is not None
    assert any(m.ref.entry.cas and "111-48-8" in m.ref.entry.cas for m in thiodiglycol.matches)


def test_heavy_atom_graph_signature_ignores_hydrogens_bond_orders_and_tautomers() -> None:
    from vigichem.chem.index import heavy_atom_graph_signature
    from vigichem.chem.structure import parse_smiles

    def signature(smiles: str) -> tuple[tuple[int, int], ...]:
        return heavy_atom_graph_signature(parse_smiles(smiles))

    assert signature("Oc1ccccn1") == signature("O=c1cccc[nH]1")  # 2-hydroxypyridine / 2-pyridone
    assert signature("CO") == signature("[H]OC([H])([H])[H]") == ((6, 1), (8, 1))
    assert signature("OCCSCCO") != signature("CCS(=O)(=O)CC")  # thiodiglycol / diethyl sulfone


# ---- robustness: bad input never crashes -----------------------------------------------------------

_SMILES_ALPHABET = "CNOSPFIclnos()[]=#@+-123456789%./\\Hr "


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(alphabet=_SMILES_ALPHABET, max_size=30)))
def test_any_text_gives_a_result_or_a_typed_error(text: str) -> None:
    result = screen_safely(text)
    assert result.errors or result.identity is not None or result.components
    for error in result.errors:
        assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]


def _dea_entries(result: ScreeningResult) -> set[str]:
    return {finding.entry for finding in result.findings if finding.list == "DEA List I"}


def _dea_entry_with_structure(name_start: str) -> Entry:
    regulatory_list = load_knowledge_base().lists["us-dea-list-i"]
    assert regulatory_list.isomer_scope == "optical"  # 21 CFR 1310.02: "its optical isomers"
    return next(e for e in regulatory_list.entries if e.name.startswith(name_start) and e.smiles)


def _mirror(smiles: str) -> str:
    swapped = smiles.replace("@@", "\0").replace("@", "@@").replace("\0", "@")
    return str(Chem.MolToSmiles(Chem.MolFromSmiles(swapped)))


def test_optical_isomer_scope_covers_the_mirror_image_not_a_diastereomer() -> None:
    ephedrine = _dea_entry_with_structure("Ephedrine")
    pseudoephedrine = _dea_entry_with_structure("Pseudoephedrine")
    assert ephedrine.smiles and pseudoephedrine.smiles
    # The listed ephedrine: the ephedrine entry, and not the pseudoephedrine entry (a diastereomer).
    assert _dea_entries(screen(ephedrine.smiles, jurisdiction="US")) == {ephedrine.entry}
    # Its mirror image is an optical isomer of ephedrine, still not of pseudoephedrine.
    mirrored = screen(_mirror(ephedrine.smiles), jurisdiction="US")
    assert _dea_entries(mirrored) == {ephedrine.entry}
    assert any("optical isomers only" in note for note in mirrored.notes)
    # Without defined stereocentres the structure cannot be told apart: both entries apply.
    flat = Chem.MolToSmiles(Chem.MolFromSmiles(ephedrine.smiles), isomericSmiles=False)
    assert _dea_entries(screen(flat, jurisdiction="US")) == {ephedrine.entry, pseudoephedrine.entry}
