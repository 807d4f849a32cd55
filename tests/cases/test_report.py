"""The suspicious-transaction report: JSON (schema-valid, from the ledger, vault and master data) and PDF."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from pypdf import PdfReader

from tests.cases.factories import T0, document, masterdata, sale
from vigichem.cases import build_report, get_case, link_evidence, record_alerts, render_pdf, verify_audit
from vigichem.cases.report import STR_SCHEMA, report_digest
from vigichem.detect.models import Alert, Scope, Severity
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger import capture, event_hash_ids
from vigichem.ledger.masterdata import MasterData, parse_masterdata
from vigichem.ledger.store import LedgerStore
from vigichem.ledger.vault import PersonalData, Vault

# Invented buyer: FAKE personal data.
BUYER = PersonalData(
    full_name="Jeanne Invented-Buyer",
    id_document_type="passport",
    id_document_number="X0000000 (fake)",
    address="1 rue Imaginaire, 00000 Nulle-Part",
    country="FR",
)


@pytest.fixture
def reported_case(store: LedgerStore) -> tuple[LedgerStore, int, str]:
    """A case on an invented buyer who bought 2 x 10 kg of hydrogen peroxide 30 % in cash at one counter."""
    MasterData(store.engine).load(parse_masterdata(masterdata()))
    ref = Vault(store.engine).register_party(BUYER, actor="till-1")
    doc = document(sale(T0 - timedelta(hours=3), ref, 10.0), sale(T0 - timedelta(hours=2), ref, 10.0))
    capture(store, doc)
    hashes = tuple(event_hash_ids(doc))
    alert = Alert(
        rule="split_purchase",
        typology="split_purchase",
        detail=None,
        basis="Regulation (EU) 2019/1148 Art. 9 (invented test alert)",
        severity=Severity.HIGH,
        scope=Scope.OPERATOR,
        subject_type="party",
        subject_id=ref,
        jurisdiction="EU",
        event_hash_ids=hashes,
        first_event_time=T0 - timedelta(hours=3),
        last_event_time=T0 - timedelta(hours=2),
        detected_at=T0,
        explanation="2 purchases of 10 kg within 1 hour, together 20 kg (invented)",
    )
    case_id = record_alerts(store.engine, [alert]).cases_opened[0]
    return store, case_id, ref


def test_json_report_gathers_case_ledger_vault_and_screening(
    reported_case: tuple[LedgerStore, int, str],
) -> None:
    store, case_id, ref = reported_case
    report = build_report(
        store.engine, case_id, reporter="Compliance Officer (invented)", free_text="Buyer left in a hurry."
    )
    jsonschema.validate(report, STR_SCHEMA)
    assert report["saleOutcome"] == "completed"
    assert report["reporter"]["organisation"] == "Test node"
    assert report["buyers"] == [{"ref": ref, "identity": BUYER.model_dump(), "note": None}]
    peroxide = [s for s in report["substances"] if s["cas"] == "7722-84-1"]
    assert len(peroxide) == 2
    assert {(s["concentrationPercent"], s["quantity"], s["unit"], s["substanceKg"]) for s in peroxide} == {
        (30.0, 10.0, "KGM", 3.0)
    }
    assert any("2019/1148" in finding or "Annex I" in finding for finding in peroxide[0]["findings"])
    water = [s for s in report["substances"] if s["cas"] == "7732-18-5"]
    assert water and all(s["findings"] == [] for s in water)
    assert {t["payment"] for t in report["transactions"]} == {"cash"}
    assert {t["idVerified"] for t in report["transactions"]} == {False}
    assert report["indicators"][0]["explanation"].startswith("2 purchases of 10 kg")
    assert all(item["inLedger"] for item in report["evidence"]) and len(report["evidence"]) == 2
    assert report["times"]["deadline"] == "2026-03-03T09:00:00Z"
    assert report["times"]["overdueAtGeneration"] is True  # generated now, long after the invented 2026-03-03
    assert report["freeText"] == "Buyer left in a hurry."


def test_reading_the_buyer_is_logged_and_the_report_is_audited(
    reported_case: tuple[LedgerStore, int, str],
) -> None:
    store, case_id, ref = reported_case
    report = build_report(
        store.engine, case_id, reporter="officer-1", outcome="refused", at=T0 + timedelta(hours=2)
    )
    assert report["times"]["overdueAtGeneration"] is False
    assert report["saleOutcome"] == "refused"
    reads = [e for e in Vault(store.engine).access_log(ref) if e.action == "read"]
    assert [(e.actor, e.purpose) for e in reads] == [
        ("officer-1", f"suspicious-transaction report, case {case_id}")
    ]
    last = get_case(store.engine, case_id).audit[-1]
    assert (last.action, last.new_value) == ("report", report_digest(report))
    assert verify_audit(store.engine).ok


def test_an_erased_buyer_is_reported_as_such(reported_case: tuple[LedgerStore, int, str]) -> None:
    store, case_id, ref = reported_case
    Vault(store.engine).erase_party(ref, "end of retention (invented)", actor="dpo")
    report = build_report(store.engine, case_id, reporter="officer-1")
    assert report["buyers"][0]["identity"] is None
    assert "erased" in report["buyers"][0]["note"]


def _pdf_text(report: dict[str, Any], lang: str) -> str:
    buffer = io.BytesIO()
    render_pdf(report, buffer, lang=lang)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(buffer.getvalue())).pages)


def test_pdf_in_english_and_french_and_bad_options(reported_case: tuple[LedgerStore, int, str]) -> None:
    store, case_id, _ = reported_case
    report = build_report(store.engine, case_id, reporter="officer-1", free_text="Paid in notes of 50.")
    for lang, title, outcome in (
        ("en", "Suspicious transaction report", "completed"),
        ("fr", "Déclaration de transaction suspecte", "réalisée"),
    ):
        text = _pdf_text(report, lang)
        assert title in text
        assert outcome in text
        assert "Jeanne Invented-Buyer" in text
        assert "7722-84-1" in text
        assert "2 purchases of 10 kg" in text
        assert "Paid in notes of 50." in text
        assert report["evidence"][0]["hashId"][:40] in text.replace("\n", "")
    # Markup in free text is printed as text, not interpreted by reportlab's paragraph parser.
    marked = dict(report, freeText="<b>bold?</b> & <unclosed")
    assert "<b>bold?</b> & <unclosed" in _pdf_text(marked, "en")
    with pytest.raises(InvalidInput, match="language 'de' is not available"):
        render_pdf(report, io.BytesIO(), lang="de")
    with pytest.raises(InvalidInput, match="sale outcome 'sold' is not one of completed, refused, attempted"):
        build_report(store.engine, case_id, reporter="officer-1", outcome="sold")
    with pytest.raises(InvalidInput, match="reporter's name"):
        build_report(store.engine, case_id, reporter=" ")


def test_substance_mass_goes_through_net_content_and_density() -> None:
    from vigichem.cases.report import substance_kg
    from vigichem.ledger.masterdata_models import NetContent, RegisteredProduct

    # Invented product: 1 L bottles of density 1.1 kg/L.
    bottle = RegisteredProduct(
        id="bottle",
        name="invented 1 L bottle",
        gtin=None,
        organisation=None,
        density_kg_per_l=1.1,
        net_content=NetContent(value=1.0, uom="LTR"),
        components=(),
        screened_at=None,
    )
    assert substance_kg(2.0, None, 30.0, bottle) == pytest.approx(0.66)
    assert substance_kg(2.0, "EA", 30.0, bottle) == pytest.approx(0.66)
    assert substance_kg(500.0, "GRM", 30.0, None) == pytest.approx(0.15)
    assert substance_kg(2.0, "LTR", 30.0, bottle.model_copy(update={"density_kg_per_l": None})) is None
    assert substance_kg(2.0, None, 30.0, None) is None
    assert substance_kg(2.0, "KGM", None, bottle) is None


def test_analysts_link_further_ledger_events(reported_case: tuple[LedgerStore, int, str]) -> None:
    store, case_id, ref = reported_case
    later = document(sale(T0 + timedelta(hours=1), ref, 5.0, payment="card"))
    capture(store, later)
    (extra,) = event_hash_ids(later)
    with pytest.raises(NotFound, match="not in this ledger: ni:///sha-256;"):
        link_evidence(store.engine, case_id, [extra, "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"], actor="a1")
    assert extra not in get_case(store.engine, case_id).evidence
    case = link_evidence(store.engine, case_id, [extra, extra], actor="a1")
    assert case.evidence[-1] == extra and len(case.evidence) == 3
    assert link_evidence(store.engine, case_id, [extra], actor="a1").audit == case.audit
    report = build_report(store.engine, case_id, reporter="officer-1")
    assert {t["payment"] for t in report["transactions"]} == {"cash", "card"}
