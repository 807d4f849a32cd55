"""The streaming writer: documents of at most N events in time order, parties, labels and the manifest.

Only the current document is held in memory; hash IDs are computed for tagged (planted) events only, when
their document is written. JSON is written with a fixed key order and separators, so the same seed gives
byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from vigichem.errors import InvalidInput
from vigichem.sim import epcis
from vigichem.sim.market import Emitted
from vigichem.sim.models import Label, Manifest
from vigichem.sim.typologies import Planted, hash_of


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def check_output_dir(out: Path) -> None:
    """Refuse a directory that already holds a run (before any work is done)."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is not a directory")
    documents = out / "documents"
    if documents.is_dir() and any(documents.iterdir()):
        raise InvalidInput(f"{out} already holds a simulation (documents/): choose an empty directory")


class SimWriter:
    """Writes one simulation run into ``out`` (which must not hold a previous run)."""

    def __init__(self, out: Path, manifest: Manifest, events_per_document: int) -> None:
        check_output_dir(out)
        (out / "documents").mkdir(parents=True, exist_ok=True)
        self.out = out
        self.manifest = manifest
        self.events_per_document = events_per_document
        self.pending: list[Emitted] = []
        self.evidence: dict[str, list[tuple[str, str]]] = {}  # case -> [(event time, hash ID)]
        self._parties: IO[str] = (out / "parties.jsonl").open("w", encoding="utf-8")

    def party(self, record: dict[str, Any]) -> None:
        """Append one fake party record to ``parties.jsonl``."""
        self._parties.write(_dumps(record) + "\n")
        self.manifest.parties += 1

    def events(self, emitted: list[Emitted]) -> None:
        """Queue a day's events (in time order); full documents are written at once."""
        self.pending.extend(emitted)
        while len(self.pending) >= self.events_per_document:
            self._write_document(self.pending[: self.events_per_document])
            del self.pending[: self.events_per_document]

    def _write_document(self, batch: list[Emitted]) -> None:
        events = [item.event for item in batch]
        for item in batch:
            kind = item.event["type"]
            step = item.event.get("bizStep", "use")
            key = f"{kind}:{step}"
            self.manifest.event_types[key] = self.manifest.event_types.get(key, 0) + 1
            if item.tag is not None:
                self.evidence.setdefault(item.tag, []).append((item.event["eventTime"], hash_of(item.event)))
        self.manifest.documents += 1
        self.manifest.events += len(events)
        path = self.out / "documents" / f"{self.manifest.documents:06d}.json"
        path.write_text(_dumps(epcis.document(events)) + "\n", encoding="utf-8")

    def finish(self, planted: list[Planted]) -> list[Label]:
        """Write the last document, the labels and the manifest; return the labels."""
        if self.pending:
            self._write_document(self.pending)
            self.pending = []
        self._parties.close()
        labels = []
        for case in planted:
            evidence = self.evidence.get(case.case, [])
            if not evidence:
                continue  # nothing of it fell inside the run; counted in the manifest as not planted
            labels.append(
                Label(
                    case=case.case,
                    typology=case.typology,
                    detail=case.detail,
                    subject_type=case.subject_type,
                    subject_id=case.subject_id,
                    event_hash_ids=tuple(hash_id for _, hash_id in evidence),
                    first_event_time=min(evidence)[0],
                )
            )
            self.manifest.cases[case.typology] = self.manifest.cases.get(case.typology, 0) + 1
        with (self.out / "labels.jsonl").open("w", encoding="utf-8") as handle:
            for label in labels:
                handle.write(_dumps(label.to_json()) + "\n")
        manifest = json.dumps(self.manifest.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
        (self.out / "manifest.json").write_text(manifest + "\n", encoding="utf-8")
        return labels

    def close(self) -> None:
        """Close the party file (after an error)."""
        if not self._parties.closed:
            self._parties.close()


__all__ = ["SimWriter", "check_output_dir"]
