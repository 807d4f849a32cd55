"""Alerts, cases, the audit trail and suspicious-transaction reports (STR). See ``docs/cases.md``.

:func:`record_alerts` turns detection alerts into cases grouped by subject; the workflow functions
(:func:`triage`, :func:`investigate`, :func:`mark_reported`, :func:`close`, :func:`assign`, :func:`comment`)
act on them with an append-only, hash-chained audit trail (:func:`verify_audit`); :func:`build_report` and
:func:`render_pdf` produce the STR as JSON and as a PDF (English or French).
"""

from typing import TYPE_CHECKING

from vigichem._lazy import lazy_attributes
from vigichem.cases.models import (
    REPORTING_DEADLINE,
    TRANSITIONS,
    AuditEntry,
    AuditReport,
    Case,
    CaseAlert,
    CaseStatus,
    RecordResult,
    Resolution,
)
from vigichem.cases.service import (
    assign,
    audit_trail,
    close,
    comment,
    count_cases,
    get_case,
    investigate,
    link_evidence,
    list_alerts,
    list_cases,
    mark_reported,
    record_alerts,
    transition,
    triage,
    verify_audit,
)

if TYPE_CHECKING:
    from vigichem.cases.pdf import render_pdf
    from vigichem.cases.report import build_report

# The report screens substances with RDKit and the PDF needs reportlab: loaded on first use, so that
# migrations and the CLI start without them.
_LAZY = {"build_report": "vigichem.cases.report", "render_pdf": "vigichem.cases.pdf"}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "REPORTING_DEADLINE",
    "TRANSITIONS",
    "AuditEntry",
    "AuditReport",
    "Case",
    "CaseAlert",
    "CaseStatus",
    "RecordResult",
    "Resolution",
    "assign",
    "audit_trail",
    "build_report",
    "close",
    "comment",
    "count_cases",
    "get_case",
    "investigate",
    "link_evidence",
    "list_alerts",
    "list_cases",
    "mark_reported",
    "record_alerts",
    "render_pdf",
    "transition",
    "triage",
    "verify_audit",
]
