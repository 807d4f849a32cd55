"""The curated knowledge base: loads, is internally consistent, refuses corrupted files precisely."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from vigichem.chem.cas import normalise_cas
from vigichem.chem.coverage import END_MARKER, START_MARKER, coverage_rows, render_markdown, update_document
from vigichem.chem.knowledge import DEFAULT_DATA_DIR, KnowledgeBase, in_force, load_knowledge_base
from vigichem.chem.models import Entry, Limit, RegulatoryList
from vigichem.errors import KnowledgeBaseError, UnknownJurisdiction

REPO = Path(__file__).resolve().parents[2]
REQUIRED_LISTS = {
    "cwc-1", "cwc-2", "cwc-3", "ag-cw", "eu-2019-1148-annex-i", "eu-2019-1148-annex-ii", "uk-poisons-1a",
    "eu-dp-1", "eu-dp-3", "eu-dp-4", "un-1988-i", "un-1988-ii", "us-dea-list-i", "us-dea-list-ii",
}  # fmt: skip
FAMILY_IDS = {
    "cwc-1A1", "cwc-1A2", "cwc-1A3", "cwc-1A13", "cwc-1A14", "cwc-1A16", "cwc-1B9", "cwc-1B10",
    "cwc-2B4", "cwc-2B5", "cwc-2B6", "cwc-2B10", "cwc-2B11", "cwc-2B12",
}  # fmt: skip


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def _entry(kb: KnowledgeBase, list_id: str, cas: str) -> Entry:
    found = [entry for entry in kb.lists[list_id].entries if cas in entry.cas]
    assert len(found) == 1, f"{cas} in {list_id}: {len(found)} entries"
    return found[0]


# ---- the real data ---------------------------------------------------------------------------------


def test_default_knowledge_base_is_cached(kb: KnowledgeBase) -> None:
    assert load_knowledge_base() is kb


def test_every_required_list_and_jurisdiction_exists(kb: KnowledgeBase) -> None:
    assert set(kb.lists) >= REQUIRED_LISTS
    assert {"eu-dp-2a", "eu-dp-2b"} <= set(kb.lists)  # Regulation 273/2004 splits Category 2
    assert {"INTL", "EU", "FR", "UK", "US", "MA"} <= set(kb.jurisdictions)


def test_every_list_and_entry_names_its_legal_source(kb: KnowledgeBase) -> None:
    for regulatory_list, entry in kb.entries():
        assert regulatory_list.source.strip()
        assert entry.source.strip(), f"{regulatory_list.id} {entry.entry} {entry.name}"
        for limit in (*entry.limits, *regulatory_list.limits):
            assert limit.source.strip()


def test_every_cas_passes_the_check_digit_and_is_canonical(kb: KnowledgeBase) -> None:
    count = 0
    for _, entry in kb.entries():
        for cas in entry.cas:
            assert normalise_cas(cas) == cas
            count += 1
    assert count > 250


def test_entry_and_name_are_unique_per_list(kb: KnowledgeBase) -> None:
    for regulatory_list in kb.lists.values():
        keys = [(entry.entry, entry.name.casefold()) for entry in regulatory_list.entries]
        assert len(keys) == len(set(keys)), regulatory_list.id


def test_family_entries_use_the_agreed_ids(kb: KnowledgeBase) -> None:
    assert kb.family_ids() == FAMILY_IDS


def test_families_file_defines_every_family_referenced(kb: KnowledgeBase) -> None:
    families_file = DEFAULT_DATA_DIR / "families.yaml"
    if not families_file.exists():
        pytest.skip("families.yaml (structure engineer's file) not present in this checkout")
    raw = yaml.safe_load(families_file.read_text(encoding="utf-8"))
    items = raw.get("families", raw.get("rules", [])) if isinstance(raw, dict) else raw
    defined = {item["id"] for item in items if isinstance(item, dict) and "id" in item}
    assert kb.family_ids() <= defined, sorted(kb.family_ids() - defined)


def test_every_jurisdiction_resolves_to_existing_lists(kb: KnowledgeBase) -> None:
    for code in kb.jurisdictions:
        lists = kb.lists_for(code)
        assert lists, code
        assert all(isinstance(item, RegulatoryList) for item in lists)
        assert len({item.id for item in lists}) == len(lists)


def test_inheritance_fr_gets_eu_and_treaty_lists(kb: KnowledgeBase) -> None:
    fr = [item.id for item in kb.lists_for("fr")]
    assert "eu-2019-1148-annex-i" in fr and "cwc-1" in fr and "un-1988-i" in fr
    assert "uk-poisons-1a" not in fr
    assert "eu-2019-1148-annex-i" not in [item.id for item in kb.lists_for("UK")]
    assert [item.id for item in kb.lists_for("MA")] == [item.id for item in kb.lists_for("INTL")]
    assert [j.code for j in kb.jurisdiction_chain("FR")] == ["FR", "EU", "INTL"]
    assert "MA" in kb.jurisdictions_of("cwc-2") and "MA" not in kb.jurisdictions_of("ag-cw")


def test_unknown_jurisdiction_is_a_precise_error(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownJurisdiction, match="unknown jurisdiction 'XX'; known: EU, FR"):
        kb.lists_for("XX")


def test_precedence_follows_the_convention(kb: KnowledgeBase) -> None:
    assert kb.lists["cwc-2"].precedence_over_me == ("cwc-1",)
    assert kb.lists["cwc-1"].precedence_over_me == ()


# ---- spot checks of real values (legal texts named in the list files) --------------------------------


def test_hydrogen_peroxide_in_annex_i(kb: KnowledgeBase) -> None:
    entry = _entry(kb, "eu-2019-1148-annex-i", "7722-84-1")
    (limit,) = entry.limits
    assert (limit.kind, limit.value, limit.unit) == ("concentration", 12, "% w/w")
    assert (limit.status, limit.status_below) == ("restricted", "reportable")
    assert limit.licence_upper_limit == 35 and limit.licence_permitted is True
    assert kb.lists["eu-2019-1148-annex-i"].effective_from == dt.date(2021, 2, 1)
    assert entry.names_fr == ("Peroxyde d'hydrogène",)


def test_annex_i_licence_not_permitted_for_chlorates_and_ammonium_nitrate(kb: KnowledgeBase) -> None:
    for cas in ("3811-04-9", "7775-09-9", "6484-52-2"):
        (limit,) = _entry(kb, "eu-2019-1148-annex-i", cas).limits
        assert limit.licence_permitted is False and limit.licence_upper_limit is None


def test_annex_ii_is_reportable(kb: KnowledgeBase) -> None:
    annex_ii = kb.lists["eu-2019-1148-annex-ii"]
    assert annex_ii.status == "reportable"
    assert "Acetone" in {entry.name for entry in annex_ii.entries}
    (powder_limit,) = _entry(kb, "eu-2019-1148-annex-ii", "7429-90-5").limits  # "70 % w/w or more"
    assert (powder_limit.value, powder_limit.inclusive) == (70, True)
    (peroxide_limit,) = _entry(kb, "eu-2019-1148-annex-i", "7722-84-1").limits  # "higher than" the limit
    assert peroxide_limit.inclusive is False


def test_uk_differs_from_eu_where_the_law_does(kb: KnowledgeBase) -> None:
    (uk_limit,) = _entry(kb, "uk-poisons-1a", "75-52-5").limits
    (eu_limit,) = _entry(kb, "eu-2019-1148-annex-i", "75-52-5").limits
    assert (uk_limit.value, eu_limit.value) == (30, 16)
    assert not _entry(kb, "uk-poisons-1a", "100-97-0").limits  # hexamine: regulated at any concentration
    assert "7704-34-9" in {cas for entry in kb.lists["uk-poisons-1b"].entries for cas in entry.cas}


def test_uk_2023_changes_carry_their_dates(kb: KnowledgeBase) -> None:
    hexamine_part_1 = _entry(kb, "uk-poisons-1a", "100-97-0")
    hexamine_part_3 = _entry(kb, "uk-poisons-1b", "100-97-0")
    assert hexamine_part_1.effective_from == dt.date(2023, 10, 1) == hexamine_part_3.effective_to
    before, after = dt.date(2023, 9, 30), dt.date(2023, 10, 1)
    assert in_force(hexamine_part_3, before) and not in_force(hexamine_part_3, after)
    assert in_force(hexamine_part_1, after) and not in_force(hexamine_part_1, before)


def test_sarin_is_cwc_1a1_and_thiodiglycol_cwc_2b13(kb: KnowledgeBase) -> None:
    assert _entry(kb, "cwc-1", "107-44-8").entry == "1A(1)"
    assert _entry(kb, "cwc-2", "111-48-8").entry == "2B(13)"
    family = [e for e in kb.lists["cwc-1"].entries if e.entry == "1A(1)" and e.family]
    assert [e.family for e in family] == ["cwc-1A1"]


def _quantities(limits: tuple[Limit, ...]) -> list[tuple[float, str]]:
    return [(limit.value, limit.unit) for limit in limits if limit.kind == "quantity"]


def test_cwc_declaration_thresholds(kb: KnowledgeBase) -> None:
    assert (100, "g") in _quantities(kb.lists["cwc-1"].limits)
    assert _quantities(kb.lists["cwc-2"].limits) == [(1, "t")]
    assert _quantities(_entry(kb, "cwc-2", "6581-06-2").limits) == [(1, "kg")]  # BZ, 2A*
    assert _quantities(_entry(kb, "cwc-2", "78-53-5").limits) == [(100, "kg")]  # Amiton
    assert _quantities(kb.lists["cwc-3"].limits) == [(30, "t")]
    assert all(lim.status == "declarable" for lim in kb.lists["cwc-3"].limits)


def test_national_mixture_rules_are_limited_to_their_jurisdiction(kb: KnowledgeBase) -> None:
    us_only = [lim for lim in kb.lists["cwc-2"].limits if lim.kind == "concentration"]
    assert [(lim.value, lim.jurisdictions) for lim in us_only] == [(10, ("US",))]
    assert "15 CFR 713.1" in us_only[0].source
    bz = [lim for lim in _entry(kb, "cwc-2", "6581-06-2").limits if lim.kind == "concentration"]
    assert [(lim.value, lim.jurisdictions) for lim in bz] == [(1, ("US",))]


def test_named_exemptions_are_recorded_on_the_family_entries(kb: KnowledgeBase) -> None:
    notes = {e.entry: e.note or "" for e in kb.lists["cwc-2"].entries if e.family}
    assert "944-22-9" in notes["2B(4)"]
    assert "108-01-0" in notes["2B(11)"] and "100-37-8" in notes["2B(11)"]


def test_2020_schedule_1_additions_carry_their_date(kb: KnowledgeBase) -> None:
    added = [e for e in kb.lists["cwc-1"].entries if e.entry in {"1A(13)", "1A(14)", "1A(15)", "1A(16)"}]
    assert len(added) >= 9
    assert all(e.effective_from == dt.date(2020, 6, 7) for e in added)
    assert all("C-24/DEC." in e.source for e in added)
    assert not in_force(added[0], dt.date(2020, 1, 1))
    assert in_force(added[0], dt.date(2020, 6, 7))
    assert in_force(_entry(kb, "cwc-1", "107-44-8"), dt.date(2000, 1, 1))


def test_designer_precursor_listing_dates(kb: KnowledgeBase) -> None:
    mapa_eu = _entry(kb, "eu-dp-1", "16648-44-5")
    assert mapa_eu.effective_from == dt.date(2020, 12, 13) and "2020/1737" in mapa_eu.source
    mapa_un = _entry(kb, "un-1988-i", "16648-44-5")
    assert mapa_un.effective_from == dt.date(2020, 3, 4) and "63/1" in mapa_un.source
    assert "2023/196" in _entry(kb, "eu-dp-1", "23056-29-3").source  # 4-AP
    assert _entry(kb, "eu-dp-1", "21409-26-7").effective_from == dt.date(2018, 6, 7)  # ANPP, 2018/729
    assert _entry(kb, "un-1988-i", "21409-26-7").effective_from == dt.date(2017, 3, 16)  # CND 60/12
    assert _entry(kb, "eu-dp-1", "5413-05-8").effective_from == dt.date(2022, 10, 3)  # EAPA, 2022/1518
    # Every EU Category 1 entry added after the list itself names the act that added it.
    category_1 = kb.lists["eu-dp-1"]
    for entry in category_1.entries:
        if entry.effective_from is not None:
            assert "added by" in entry.source, entry.name


def test_drug_precursor_salt_rules(kb: KnowledgeBase) -> None:
    assert kb.lists["eu-dp-1"].covers_salts and kb.lists["eu-dp-3"].covers_salts
    assert _entry(kb, "eu-dp-3", "7647-01-0").covers_salts is False  # salts of HCl excluded
    assert _entry(kb, "eu-dp-3", "67-64-1").covers_salts is None  # list default applies


def test_dea_entries_have_codes_and_borrowed_cas_only_with_a_named_source(kb: KnowledgeBase) -> None:
    for entry in kb.lists["us-dea-list-i"].entries:
        if entry.cas:
            assert entry.note and re.search(r"in [a-z0-9-]+\.yaml", entry.note), entry.name
    ephedrine = _entry(kb, "us-dea-list-i", "299-42-3")
    assert ephedrine.codes["dea"] == "8113"


def test_ag_list_has_all_89_cas_with_names(kb: KnowledgeBase) -> None:
    ag = kb.lists["ag-cw"]
    assert len(ag.entries) == 89
    assert len({cas for entry in ag.entries for cas in entry.cas}) == 89
    assert _entry(kb, "ag-cw", "111-48-8").name == "Thiodiglycol"


def test_no_placeholder_structures(kb: KnowledgeBase) -> None:
    # chemcrow's placeholders ("C" for ricin and others) must never become an identity.
    for regulatory_list, entry in kb.entries():
        assert entry.smiles not in {"C", "[K+]", "[Na+]", "[NH4+]"}, (regulatory_list.id, entry.name)
    assert _entry(kb, "cwc-1", "9009-86-3").smiles is None


# ---- corrupted copies are refused with the path of the error -----------------------------------------


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(DEFAULT_DATA_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copy_loads_like_the_original(kb_copy: Path, kb: KnowledgeBase) -> None:
    copy = load_knowledge_base(kb_copy)
    assert set(copy.lists) == set(kb.lists)
    assert copy is not kb


def test_bad_check_digit_is_refused_with_file_and_path(kb_copy: Path) -> None:
    # Invented corruption: thiodiglycol's CAS with its check digit changed from 8 to 3.
    _edit(kb_copy / "lists" / "cwc-2.yaml", '"111-48-8"', '"111-48-3"')
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(kb_copy)
    message = caught.value.message
    assert message.startswith("lists/cwc-2.yaml: entries[14].cas[0]: ")
    assert "check digit is 3, expected 8" in message
    assert caught.value.details == {"file": "lists/cwc-2.yaml", "path": "entries[14].cas[0]"}


def test_missing_source_is_refused(kb_copy: Path) -> None:
    path = kb_copy / "lists" / "cwc-3.yaml"
    _edit(path, 'source: "CWC Annex on Chemicals, Schedule 3, A.2"', 'source: "  "')
    with pytest.raises(KnowledgeBaseError, match=r"lists/cwc-3.yaml: entries\[1\].source: "):
        load_knowledge_base(kb_copy)


def test_schema_error_names_the_field(kb_copy: Path) -> None:
    _edit(
        kb_copy / "lists" / "eu-2019-1148-annex-i.yaml",
        "status: restricted\ncovers_salts",
        "status: banned\ncovers_salts",
    )
    with pytest.raises(KnowledgeBaseError, match=r"lists/eu-2019-1148-annex-i.yaml: status: Input should be"):
        load_knowledge_base(kb_copy)


def test_duplicate_entry_is_refused(kb_copy: Path) -> None:
    path = kb_copy / "lists" / "eu-dp-3.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entries"].append(dict(data["entries"][0]))
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"lists/eu-dp-3.yaml: entries\[6\].name: duplicate entry"):
        load_knowledge_base(kb_copy)


def test_unknown_list_in_jurisdiction_is_refused(kb_copy: Path) -> None:
    _edit(kb_copy / "jurisdictions.yaml", "lists: [cwc-1, cwc-2,", "lists: [cwc-9, cwc-2,")
    with pytest.raises(
        KnowledgeBaseError, match=r"jurisdictions.yaml: jurisdictions\[0\].lists\[0\]: unknown list 'cwc-9'"
    ):
        load_knowledge_base(kb_copy)


def test_unknown_precedence_list_is_refused(kb_copy: Path) -> None:
    _edit(kb_copy / "lists" / "cwc-2.yaml", "precedence_over_me: [cwc-1]", "precedence_over_me: [cwc-0]")
    with pytest.raises(
        KnowledgeBaseError, match=r"lists/cwc-2.yaml: precedence_over_me\[0\]: unknown list 'cwc-0'"
    ):
        load_knowledge_base(kb_copy)


def test_inheritance_cycle_is_refused(kb_copy: Path) -> None:
    _edit(kb_copy / "jurisdictions.yaml", "    lists: [cwc-1, cwc-2, cwc-3, un-1988-i, un-1988-ii]\n",
          "    lists: [cwc-1, cwc-2, cwc-3, un-1988-i, un-1988-ii]\n    inherits: [FR]\n")  # fmt: skip
    with pytest.raises(KnowledgeBaseError, match="cycle"):
        load_knowledge_base(kb_copy)


def test_yaml_syntax_error_gives_the_line(kb_copy: Path) -> None:
    (kb_copy / "lists" / "cwc-3.yaml").write_text("id: cwc-3\nentries: [\n", encoding="utf-8")
    with pytest.raises(
        KnowledgeBaseError, match=r"lists/cwc-3.yaml: line \d+, column \d+: YAML syntax error"
    ):
        load_knowledge_base(kb_copy)


def test_list_id_must_match_file_name(kb_copy: Path) -> None:
    (kb_copy / "lists" / "cwc-3.yaml").rename(kb_copy / "lists" / "cwc-three.yaml")
    with pytest.raises(KnowledgeBaseError, match=r"lists/cwc-three.yaml: id: list id 'cwc-3' must equal"):
        load_knowledge_base(kb_copy)


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no lists/ directory"):
        load_knowledge_base(tmp_path)


# ---- the coverage document cannot drift ----------------------------------------------------------------


def test_coverage_doc_matches_the_data(kb: KnowledgeBase) -> None:
    text = (REPO / "docs" / "screening.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- coverage:start -->\n(.*?)<!-- coverage:end -->", text, re.DOTALL)
    assert match, "coverage markers missing from docs/screening.md"
    assert match.group(1) == render_markdown(coverage_rows(kb))


def test_update_document_rewrites_only_between_markers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"  # invented document
    doc.write_text(f"intro\n{START_MARKER}\nold table\n{END_MARKER}\noutro\n", encoding="utf-8")
    assert update_document(doc, "| new |\n")
    assert doc.read_text(encoding="utf-8") == f"intro\n{START_MARKER}\n| new |\n{END_MARKER}\noutro\n"
    assert not update_document(doc, "| new |\n")
    doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        update_document(doc, "| new |\n")


def test_coverage_counts(kb: KnowledgeBase) -> None:
    rows = {row.list_id: row for row in coverage_rows(kb)}
    cwc_1 = rows["cwc-1"]
    assert cwc_1.entries == len(kb.lists["cwc-1"].entries)
    assert cwc_1.by_family == 8
    assert "Ricin" in cwc_1.missing
    assert rows["eu-dp-4"].names_only == 2
    assert render_markdown(list(rows.values())).count("\n") == len(rows) + 3
