"""The ledger's only coupling with the screening API (:func:`vigichem.chem.screen`).

A product's composition is screened as one mixture, so the screening's concentration rules (limit values,
mixture thresholds) apply to each component with its % w/w; each component's identity and findings are
kept with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigichem.chem.models import Component as ChemComponent
from vigichem.chem.models import Finding
from vigichem.ledger.masterdata_models import Component


@dataclass(frozen=True, slots=True)
class ScreenedComponent:
    """What screening made of one component: resolved CAS and name (when known) and its findings."""

    cas: str | None
    name: str | None
    findings: tuple[Finding, ...]
    identified: bool = True
    note: str | None = None


def screen_composition(components: Sequence[Component], jurisdiction: str | None) -> list[ScreenedComponent]:
    """Screen a composition; one result per component, in order. Raises the screening's ``InvalidInput``."""
    from vigichem.chem import screen

    query = [ChemComponent(query=c.substance, concentration=c.percent) for c in components]
    result = screen(query, jurisdiction=jurisdiction)
    parts = result.components or (result,)
    screened = []
    for part in parts:
        identity = part.identity
        screened.append(
            ScreenedComponent(
                cas=identity.cas if identity else None,
                name=identity.name if identity else None,
                findings=tuple(part.findings),
                identified=identity is not None,
                note=part.notes[0] if part.notes else None,
            )
        )
    return screened


__all__ = ["ScreenedComponent", "screen_composition"]
