"""The synthetic supply chain: a deterministic generator of a national chain with planted, labelled cases.

>>> from vigichem.sim import SimConfig, simulate   # doctest: +SKIP
>>> manifest, labels = simulate(SimConfig(seed=7, days=30), Path("out"))   # doctest: +SKIP

Everything it writes is invented (fake people and companies, invented GTINs and GLNs) except the chemicals,
which come from the knowledge base. See ``docs/simulation.md``.
"""

from vigichem.sim.catalogue import DesignerCandidate, base_catalogue, designer_candidates
from vigichem.sim.labels import read_labels
from vigichem.sim.models import GENERATOR_VERSION, TYPOLOGIES, Label, Manifest, ProductSpec, SimConfig
from vigichem.sim.service import cases_per_typology, simulate
from vigichem.sim.typologies import SALE_INDICATOR_DETAILS
from vigichem.sim.vault_load import load_parties

__all__ = [
    "GENERATOR_VERSION",
    "SALE_INDICATOR_DETAILS",
    "TYPOLOGIES",
    "DesignerCandidate",
    "Label",
    "Manifest",
    "ProductSpec",
    "SimConfig",
    "base_catalogue",
    "cases_per_typology",
    "designer_candidates",
    "load_parties",
    "read_labels",
    "simulate",
]
