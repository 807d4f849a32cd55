"""Detection: explainable rules over the custody ledger, streaming and history runs, point-of-sale decisions.

* :class:`Alert` (``models.py``): what a rule's finding becomes; the contract with ``vigichem.cases``.
* :class:`DetectionEngine` / :func:`detect_history` / :func:`replay_directory`: the rules run on each captured
  event (streaming) and over history (``vigichem detect --since``), with the same code.
* :func:`decide`: ``allow``, ``allow_and_report``, ``licence_required`` or ``refuse`` for a proposed sale.
* :func:`evaluate`: precision, recall and time to alert against a simulator's ``labels.jsonl``.
* :func:`load_rule_pack`: the rule parameters (``data/rules.yaml``), validated at load.

See ``docs/detection.md``. Everything but the models is imported on first use, so that ``vigichem.cases``
can read :class:`Alert` without loading the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigichem._lazy import lazy_attributes
from vigichem.detect.models import Alert, Scope, Severity, SubjectType

if TYPE_CHECKING:
    from vigichem.detect.config import RulePack, load_rule_pack
    from vigichem.detect.decide import Decider, Decision, ProposedSale, Reason, decide, parse_proposed_sale
    from vigichem.detect.engine import DetectionEngine, RunReport, SkippedEvent, detect_history
    from vigichem.detect.evaluate import Evaluation, Label, TypologyScore, evaluate, load_labels
    from vigichem.detect.replay import replay_directory
    from vigichem.detect.rule import LedgerRule, Rule, RuleFinding
    from vigichem.detect.rules import RULE_CLASSES

_LAZY = {
    "RulePack": "vigichem.detect.config",
    "load_rule_pack": "vigichem.detect.config",
    "Decider": "vigichem.detect.decide",
    "Decision": "vigichem.detect.decide",
    "ProposedSale": "vigichem.detect.decide",
    "Reason": "vigichem.detect.decide",
    "decide": "vigichem.detect.decide",
    "parse_proposed_sale": "vigichem.detect.decide",
    "DetectionEngine": "vigichem.detect.engine",
    "RunReport": "vigichem.detect.engine",
    "SkippedEvent": "vigichem.detect.engine",
    "detect_history": "vigichem.detect.engine",
    "Evaluation": "vigichem.detect.evaluate",
    "Label": "vigichem.detect.evaluate",
    "TypologyScore": "vigichem.detect.evaluate",
    "evaluate": "vigichem.detect.evaluate",
    "load_labels": "vigichem.detect.evaluate",
    "replay_directory": "vigichem.detect.replay",
    "LedgerRule": "vigichem.detect.rule",
    "Rule": "vigichem.detect.rule",
    "RuleFinding": "vigichem.detect.rule",
    "RULE_CLASSES": "vigichem.detect.rules",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "RULE_CLASSES",
    "Alert",
    "Decider",
    "Decision",
    "DetectionEngine",
    "Evaluation",
    "Label",
    "LedgerRule",
    "ProposedSale",
    "Reason",
    "Rule",
    "RuleFinding",
    "RulePack",
    "RunReport",
    "Scope",
    "Severity",
    "SkippedEvent",
    "SubjectType",
    "TypologyScore",
    "decide",
    "detect_history",
    "evaluate",
    "load_labels",
    "load_rule_pack",
    "parse_proposed_sale",
    "replay_directory",
]
