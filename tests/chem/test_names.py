"""Name normalisation, close-name suggestions, and name lookup in English and French."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigichem.chem.index import ScreeningIndex, get_index
from vigichem.chem.knowledge import load_knowledge_base
from vigichem.chem.matching import resolve
from vigichem.chem.names import normalise_name, suggest_names
from vigichem.errors import UnknownName


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Hydrogen peroxide", "HYDROGEN  PEROXIDE"),
        ("Peroxyde d'hydrogène", "peroxyde d hydrogene"),
        ("Acide sulfurique", "ACIDE SULFURIQUE"),
        ("Sulphuric acid", "sulfuric acid"),
        ("N,N-Diméthylaminoéthanol", "n n dimethylaminoethanol"),
        ("Aluminium, powders", "aluminum powders"),
        ("Tri\u00adethanol\u200bamine", "triethanolamine"),  # soft hyphen, zero-width space from PDFs
    ],
)
def test_equivalent_spellings_share_a_key(left: str, right: str) -> None:
    assert normalise_name(left) == normalise_name(right)


def test_locants_stay_apart() -> None:
    assert normalise_name("1,2-Bis(2-chloroethylthio)ethane") != normalise_name(
        "12-Bis(2-chloroethylthio)ethane"
    )


@given(st.text(max_size=60))
def test_normalisation_is_idempotent_and_never_fails(text: str) -> None:
    key = normalise_name(text)
    assert normalise_name(key) == key
    assert key == key.strip()


def test_suggestions_come_from_the_knowledge_base() -> None:
    index = get_index()
    suggestions = suggest_names("hydrogen peroxyde", index.suggestions_source())
    assert suggestions and suggestions[0] == "Hydrogen peroxide"
    assert suggest_names("", index.suggestions_source()) == []


def test_suggestions_include_names_containing_the_query() -> None:
    # Invented names for the word-containment fallback.
    assert "Calcium ammonium nitrate" in suggest_names(
        "ammonium nitrate", ["Calcium ammonium nitrate", "Water"]
    )


def test_every_listed_name_resolves_to_its_entry() -> None:
    index = get_index()
    kb = load_knowledge_base()
    for regulatory_list, entry in kb.entries():
        if len(entry.name) > 80 or entry.family:  # family wordings are descriptions, not names
            continue
        resolution = resolve(index, entry.name.upper())
        assert any(m.ref.entry is entry for m in resolution.matches), (regulatory_list.id, entry.name)


def _invented_knowledge_base(root: Path) -> Path:
    # An invented one-list knowledge base (real chemical, invented list) to exercise French names and
    # synonyms independently of which French names the packaged lists carry.
    (root / "lists").mkdir(parents=True)
    (root / "lists" / "test-list.yaml").write_text(
        textwrap.dedent(
            """\
            id: test-list
            title: Invented list for tests
            short: Test list
            authority: none (invented for tests)
            source: invented for tests
            status: restricted
            entries:
              - entry: "T1"
                name: Hydrogen peroxide
                names_fr: ["Peroxyde d'hydrogène"]
                synonyms: ["Perhydrol"]
                cas: ["7722-84-1"]
                smiles: "OO"
                source: invented for tests
            """
        ),
        encoding="utf-8",
    )
    (root / "jurisdictions.yaml").write_text(
        textwrap.dedent(
            """\
            jurisdictions:
              - code: TST
                name: Test land
                name_fr: Pays de test
                lists: [test-list]
                source: invented for tests
            """
        ),
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize("query", ["PEROXYDE D'HYDROGENE", "peroxyde d’hydrogène", "perhydrol", "7722-84-1"])
def test_french_names_and_synonyms_resolve(tmp_path: Path, query: str) -> None:
    index = ScreeningIndex(load_knowledge_base(_invented_knowledge_base(tmp_path)))
    resolution = resolve(index, query)
    assert resolution.identity is not None and resolution.identity.cas == "7722-84-1"
    assert [m.ref.entry.entry for m in resolution.matches] == ["T1"]


def test_unknown_name_in_french_suggests_the_french_name(tmp_path: Path) -> None:
    index = ScreeningIndex(load_knowledge_base(_invented_knowledge_base(tmp_path)))
    with pytest.raises(UnknownName) as raised:
        resolve(index, "peroxide d'hydrogene")
    assert "Peroxyde d'hydrogène" in raised.value.details["suggestions"]


def test_french_names_of_the_packaged_lists_resolve() -> None:
    kb = load_knowledge_base()
    with_french = [(r, e) for r, e in kb.entries() if e.names_fr]
    assert with_french, "the packaged lists give French names (EU annexes)"
    index = get_index()
    for regulatory_list, entry in with_french:
        for name in entry.names_fr:
            shouted = name.upper()  # accents kept in upper case; normalisation drops them
            resolution = resolve(index, shouted)
            assert any(m.ref.entry is entry for m in resolution.matches), (regulatory_list.id, name)
