"""Detection quality against ground truth: precision and recall per typology, and time to alert.

Labels are the simulator's ``labels.jsonl`` (one planted case per line). An alert *matches* a label when
they share the typology and either an evidence event (Event Hash ID) or the subject (for an alert that
fired once the case had begun). Recall of a typology is
the share of its planted cases matched by at least one alert; precision is the share of its alerts that
match a planted case of the same typology (strict: an alert of another typology on a planted case counts as
a false positive, and is counted apart in ``on_other_case``). The delay of a detected case is the time from
its first planted event to the earliest matching alert's firing time (``evidence.fired_at``: the event
time at which the pattern became detectable).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigichem.detect.models import Alert
from vigichem.errors import InvalidInput

__all__ = ["Evaluation", "Label", "TypologyScore", "evaluate", "load_labels", "parse_label"]


@dataclass(frozen=True, slots=True)
class Label:
    """One planted case."""

    case: str
    typology: str
    detail: str | None
    subject_type: str
    subject_id: str
    event_hash_ids: frozenset[str]
    first_event_time: dt.datetime


@dataclass(slots=True)
class TypologyScore:
    """Scores of one typology (or ``overall``)."""

    typology: str
    cases: int = 0
    detected: int = 0
    alerts: int = 0
    true_alerts: int = 0
    delays_hours: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        """Detected cases / planted cases (None without cases)."""
        return self.detected / self.cases if self.cases else None

    @property
    def precision(self) -> float | None:
        """Matching alerts / alerts (None without alerts)."""
        return self.true_alerts / self.alerts if self.alerts else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the median and maximum delay in hours."""
        return {
            "typology": self.typology,
            "cases": self.cases,
            "detected": self.detected,
            "alerts": self.alerts,
            "trueAlerts": self.true_alerts,
            "recall": self.recall,
            "precision": self.precision,
            "medianDelayHours": statistics.median(self.delays_hours) if self.delays_hours else None,
            "maxDelayHours": max(self.delays_hours) if self.delays_hours else None,
        }


@dataclass(slots=True)
class Evaluation:
    """Per-typology and overall scores, the missed cases and the false alerts."""

    typologies: list[TypologyScore]
    overall: TypologyScore
    missed: list[str]
    false_alerts: list[Alert]
    on_other_case: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``vigichem evaluate --format json``)."""
        return {
            "typologies": [s.to_dict() for s in self.typologies],
            "overall": self.overall.to_dict(),
            "missed": self.missed,
            "falseAlerts": len(self.false_alerts),
            "falseAlertsOnOtherPlantedCase": self.on_other_case,
        }


def _time(value: Any, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: first_event_time must be an ISO 8601 text")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{where}: first_event_time {value!r} is not ISO 8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_label(raw: Any, where: str = "label") -> Label:
    """Validate one label object; ``InvalidInput`` names the field that is wrong."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: a label must be a JSON object")
    for name in ("case", "typology"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise InvalidInput(f"{where}: {name!r} must be a non-empty text")
    subject = raw.get("subject")
    if not isinstance(subject, dict) or not all(isinstance(subject.get(k), str) for k in ("type", "id")):
        raise InvalidInput(f"{where}: 'subject' must be an object with text 'type' and 'id'")
    hashes = raw.get("event_hash_ids")
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise InvalidInput(f"{where}: 'event_hash_ids' must be a list of Event Hash IDs")
    detail = raw.get("detail")
    return Label(
        case=raw["case"],
        typology=raw["typology"],
        detail=detail if isinstance(detail, str) else None,
        subject_type=subject["type"],
        subject_id=subject["id"],
        event_hash_ids=frozenset(hashes),
        first_event_time=_time(raw.get("first_event_time"), where),
    )


def load_labels(path: Path) -> list[Label]:
    """Read a ``labels.jsonl`` file; ``InvalidInput`` names the line of the first bad label."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InvalidInput(f"cannot read labels {str(path)!r}: {error.strerror}") from None
    labels = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as error:
            raise InvalidInput(f"{path}:{number}: not JSON ({error})") from None
        labels.append(parse_label(raw, f"{path}:{number}"))
    return labels


def _fired_at(alert: Alert) -> dt.datetime:
    fired = alert.evidence.get("fired_at")
    if isinstance(fired, str):
        try:
            return dt.datetime.fromisoformat(fired)
        except ValueError:
            pass
    return alert.last_event_time


def _matches(alert: Alert, label: Label) -> bool:
    if alert.typology != label.typology:
        return False
    if not label.event_hash_ids.isdisjoint(alert.event_hash_ids):
        return True
    # The same subject counts only for an alert that fired once the planted case had begun.
    same_subject = (alert.subject_type, alert.subject_id) == (label.subject_type, label.subject_id)
    return same_subject and _fired_at(alert) >= label.first_event_time


def evaluate(alerts: Iterable[Alert], labels: Iterable[Label]) -> Evaluation:
    """Score alerts against labels (see the module docstring for the definitions)."""
    alert_list = list(alerts)
    label_list = list(labels)
    typologies = sorted({label.typology for label in label_list} | {a.typology for a in alert_list})
    scores = {t: TypologyScore(t) for t in typologies}
    overall = TypologyScore("overall")
    by_hash: dict[str, list[Label]] = {}
    by_subject: dict[tuple[str, str], list[Label]] = {}
    for label in label_list:
        for hash_id in label.event_hash_ids:
            by_hash.setdefault(hash_id, []).append(label)
        by_subject.setdefault((label.subject_type, label.subject_id), []).append(label)
    earliest: dict[str, dt.datetime] = {}
    false_alerts: list[Alert] = []
    on_other_case = 0
    for alert in alert_list:
        candidates = {id(c): c for h in alert.event_hash_ids for c in by_hash.get(h, [])}
        candidates.update({id(c): c for c in by_subject.get((alert.subject_type, alert.subject_id), [])})
        matched = [label for label in candidates.values() if _matches(alert, label)]
        score = scores[alert.typology]
        score.alerts += 1
        overall.alerts += 1
        if matched:
            score.true_alerts += 1
            overall.true_alerts += 1
            fired = _fired_at(alert)
            for label in matched:
                if label.case not in earliest or fired < earliest[label.case]:
                    earliest[label.case] = fired
        else:
            false_alerts.append(alert)
            on_other_case += bool(candidates)
    missed = []
    for label in label_list:
        score = scores[label.typology]
        score.cases += 1
        overall.cases += 1
        if label.case in earliest:
            score.detected += 1
            overall.detected += 1
            delay = max(0.0, (earliest[label.case] - label.first_event_time).total_seconds() / 3600.0)
            score.delays_hours.append(delay)
            overall.delays_hours.append(delay)
        else:
            missed.append(label.case)
    return Evaluation(list(scores.values()), overall, missed, false_alerts, on_other_case)
