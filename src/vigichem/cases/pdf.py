"""The suspicious-transaction report as a PDF (reportlab), in English or French.

Every label comes from one table, :data:`I18N`; the report's own content (names, explanations, free text)
is printed as written. The PDF carries the report's SHA-256 (:func:`vigichem.cases.report.report_digest`),
so a printed copy can be matched with the case's audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from vigichem.cases.report import report_digest
from vigichem.errors import InvalidInput

__all__ = ["I18N", "LANGUAGES", "render_pdf"]

I18N: dict[str, dict[str, str]] = {
    "en": {
        "title": "Suspicious transaction report",
        "case": "Case",
        "subject": "Subject",
        "jurisdiction": "Jurisdiction",
        "typologies": "Typologies",
        "reporter": "Reporter",
        "organisation": "Organisation",
        "country": "Country",
        "times": "Times",
        "firstEventTime": "First event",
        "lastEventTime": "Last event",
        "detectedAt": "Detected",
        "deadline": "Reporting deadline (24 h)",
        "generatedAt": "Report generated",
        "overdueAtGeneration": "Past the deadline when generated",
        "outcome": "The sale was",
        "completed": "completed",
        "refused": "refused",
        "attempted": "attempted",
        "buyers": "Buyer identity (from the personal-data vault)",
        "ref": "Reference",
        "full_name": "Name",
        "id_document": "Identity document",
        "address": "Address",
        "email": "E-mail",
        "phone": "Telephone",
        "not_available": "not available",
        "substances": "Substances",
        "substance": "Substance",
        "cas": "CAS",
        "concentration": "Conc. % w/w",
        "quantity": "Product quantity",
        "substance_kg": "Subst. kg",
        "product": "Product",
        "findings": "Regulatory findings",
        "transactions": "Transactions",
        "time": "Time",
        "payment": "Payment",
        "delivery": "Delivery",
        "stated_use": "Stated use",
        "id_verified": "ID shown",
        "yes": "yes",
        "no": "no",
        "indicators": "Indicators observed",
        "basis": "Basis",
        "free_text": "Free text",
        "evidence": "Evidence (ledger event hash IDs)",
        "not_in_ledger": "not in this ledger",
        "none": "none",
        "digest": "Report SHA-256",
    },
    "fr": {
        "title": "Déclaration de transaction suspecte",
        "case": "Dossier",
        "subject": "Objet",
        "jurisdiction": "Juridiction",
        "typologies": "Typologies",
        "reporter": "Déclarant",
        "organisation": "Organisme",
        "country": "Pays",
        "times": "Dates et heures",
        "firstEventTime": "Premier événement",
        "lastEventTime": "Dernier événement",
        "detectedAt": "Détection",
        "deadline": "Échéance de déclaration (24 h)",
        "generatedAt": "Déclaration établie le",
        "overdueAtGeneration": "Échéance dépassée à l'établissement",
        "outcome": "La vente a été",
        "completed": "réalisée",
        "refused": "refusée",
        "attempted": "tentée",
        "buyers": "Identité de l'acheteur (coffre des données personnelles)",
        "ref": "Référence",
        "full_name": "Nom",
        "id_document": "Pièce d'identité",
        "address": "Adresse",
        "email": "Courriel",
        "phone": "Téléphone",
        "not_available": "non disponible",
        "substances": "Substances",
        "substance": "Substance",
        "cas": "CAS",
        "concentration": "Conc. % m/m",
        "quantity": "Quantité de produit",
        "substance_kg": "Subst. kg",
        "product": "Produit",
        "findings": "Constats réglementaires",
        "transactions": "Transactions",
        "time": "Heure",
        "payment": "Paiement",
        "delivery": "Livraison",
        "stated_use": "Usage déclaré",
        "id_verified": "Pièce présentée",
        "yes": "oui",
        "no": "non",
        "indicators": "Indicateurs observés",
        "basis": "Fondement",
        "free_text": "Texte libre",
        "evidence": "Preuves (identifiants de hachage des événements du registre)",
        "not_in_ledger": "absent de ce registre",
        "none": "aucun",
        "digest": "SHA-256 de la déclaration",
    },
}
"""Every label of the PDF, per language."""

LANGUAGES = tuple(I18N)


class _Writer:
    """Builds the flowables of one report in one language."""

    def __init__(self, lang: str) -> None:
        self.words = I18N[lang]
        styles = getSampleStyleSheet()
        self.title = ParagraphStyle("title", parent=styles["Title"])
        self.heading = ParagraphStyle("heading", parent=styles["Heading2"])
        self.body = ParagraphStyle("body", parent=styles["BodyText"])
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, leading=10)
        self.mono = ParagraphStyle("mono", parent=self.small, fontName="Courier", fontSize=7, leading=9)
        self.flow: list[Flowable] = []

    def t(self, key: str) -> str:
        return self.words[key]

    def p(self, text: object, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(escape("" if text is None else str(text)), style or self.small)

    def section(self, key: str) -> None:
        self.flow.append(Paragraph(escape(self.t(key)), self.heading))

    def pairs(self, rows: list[tuple[str, object]]) -> None:
        data = [[self.p(label), self.p(value if value not in (None, "") else "—")] for label, value in rows]
        table = Table(data, colWidths=[50 * mm, 120 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        self.flow.append(table)

    def grid(self, header: list[str], rows: list[list[object]], widths: list[float]) -> None:
        if not rows:
            self.flow.append(self.p(self.t("none")))
            return
        data = [[self.p(self.t(key)) for key in header]] + [[self.p(cell) for cell in row] for row in rows]
        table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        self.flow.append(table)


def _yes_no(writer: _Writer, value: object) -> str:
    if value is None:
        return "—"
    return writer.t("yes") if value else writer.t("no")


def _flowables(report: Mapping[str, Any], writer: _Writer) -> list[Flowable]:
    case = report["case"]
    writer.flow.append(Paragraph(escape(writer.t("title")), writer.title))
    writer.pairs(
        [
            (writer.t("case"), f"{case['id']} ({case['status']})"),
            (writer.t("subject"), f"{case['subject']['type']} {case['subject']['id']}"),
            (writer.t("jurisdiction"), case["jurisdiction"]),
            (writer.t("typologies"), ", ".join(case["typologies"])),
            (writer.t("outcome"), writer.t(report["saleOutcome"])),
        ]
    )
    writer.section("reporter")
    reporter = report["reporter"]
    writer.pairs(
        [
            (writer.t("reporter"), reporter["name"]),
            (writer.t("organisation"), reporter["organisation"]),
            (writer.t("country"), reporter["country"]),
        ]
    )
    writer.section("times")
    writer.pairs(
        [
            (writer.t(key), _yes_no(writer, value) if isinstance(value, bool) else value)
            for key, value in report["times"].items()
        ]
    )
    writer.section("buyers")
    for buyer in report["buyers"]:
        identity = buyer["identity"]
        if identity is None:
            writer.pairs([(writer.t("ref"), buyer["ref"]), (writer.t("not_available"), buyer["note"])])
            continue
        document = " ".join(
            str(identity[k]) for k in ("id_document_type", "id_document_number") if identity[k]
        )
        writer.pairs(
            [
                (writer.t("ref"), buyer["ref"]),
                (writer.t("full_name"), identity["full_name"]),
                (writer.t("id_document"), document),
                (writer.t("address"), identity["address"]),
                (writer.t("country"), identity["country"]),
                (writer.t("email"), identity["email"]),
                (writer.t("phone"), identity["phone"]),
            ]
        )
        writer.flow.append(Spacer(1, 2 * mm))
    writer.section("substances")
    writer.grid(
        ["substance", "cas", "concentration", "quantity", "substance_kg", "product", "findings"],
        [
            [
                s["name"],
                s["cas"],
                s["concentrationPercent"],
                f"{s['quantity']} {s['unit'] or 'EA'}",
                s["substanceKg"],
                s["product"],
                "; ".join(s["findings"]),
            ]
            for s in report["substances"]
        ],
        [28, 19, 14, 18, 16, 33, 42],
    )
    writer.section("transactions")
    writer.grid(
        ["time", "payment", "delivery", "stated_use", "id_verified"],
        [
            [
                t["eventTime"],
                t["payment"],
                t["deliveryType"],
                t["statedUse"],
                _yes_no(writer, t["idVerified"]),
            ]
            for t in report["transactions"]
        ],
        [40, 25, 30, 50, 25],
    )
    writer.section("indicators")
    for indicator in report["indicators"]:
        label = indicator["typology"] + (f" ({indicator['detail']})" if indicator["detail"] else "")
        writer.flow.append(writer.p(f"{label}: {indicator['explanation']}", writer.body))
        writer.flow.append(writer.p(f"{writer.t('basis')}: {indicator['basis']}"))
    writer.section("free_text")
    writer.flow.append(writer.p(report["freeText"] or writer.t("none"), writer.body))
    writer.section("evidence")
    for item in report["evidence"]:
        note = "" if item["inLedger"] else f" ({writer.t('not_in_ledger')})"
        writer.flow.append(writer.p(item["hashId"] + note, writer.mono))
    writer.flow.append(Spacer(1, 4 * mm))
    writer.flow.append(writer.p(f"{writer.t('digest')}: {report_digest(report)}", writer.mono))
    return writer.flow


def render_pdf(report: Mapping[str, Any], target: Path | IO[bytes], *, lang: str = "en") -> None:
    """Write the report (from :func:`vigichem.cases.build_report`) as a PDF to a path or binary stream."""
    if lang not in I18N:
        raise InvalidInput(f"language {lang!r} is not available; choose one of {', '.join(LANGUAGES)}")
    destination: str | IO[bytes] = str(target) if isinstance(target, Path) else target
    title = f"{I18N[lang]['title']} — {I18N[lang]['case']} {report['case']['id']}"
    document = SimpleDocTemplate(
        destination,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=str(report["reporter"]["name"]),
    )
    document.build(_flowables(report, _Writer(lang)))
