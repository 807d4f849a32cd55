"""Detection: explainable rules over the custody ledger, streaming and history runs, point-of-sale decisions.

See ``docs/detection.md``.
"""

from __future__ import annotations

from vigichem.detect.models import Alert, Scope, Severity, SubjectType

__all__ = ["Alert", "Scope", "Severity", "SubjectType"]
