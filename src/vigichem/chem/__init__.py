"""Regulatory screening: is a chemical, a salt of it, or a product containing it, on a regulatory list?

>>> from vigichem.chem import screen
>>> result = screen("7722-84-1", jurisdiction="EU")
>>> [(f.list, f.status) for f in result.findings]
[('EU 2019/1148 Annex I', 'restricted')]

See ``docs/screening.md`` for the routing of queries, identity by structure, families, precedence,
mixtures, quantities, effective dates and the designer-precursor watch.
"""

from vigichem.chem.cas import is_valid_cas, normalise_cas
from vigichem.chem.knowledge import KnowledgeBase, load_knowledge_base
from vigichem.chem.mixtures import Quantity, parse_mixture, parse_quantity
from vigichem.chem.models import (
    Basis,
    Component,
    Entry,
    Finding,
    Identity,
    Jurisdiction,
    Limit,
    RegulatoryList,
    ScreeningResult,
    Status,
)
from vigichem.chem.names import normalise_name
from vigichem.chem.service import screen, screen_batch, screen_safely
from vigichem.errors import (
    InputTooLarge,
    InvalidCAS,
    InvalidComposition,
    InvalidInput,
    InvalidQuantity,
    InvalidStructure,
    KnowledgeBaseError,
    UnknownJurisdiction,
    UnknownName,
    UnknownUnit,
)

__all__ = [
    "Basis",
    "Component",
    "Entry",
    "Finding",
    "Identity",
    "InputTooLarge",
    "InvalidCAS",
    "InvalidComposition",
    "InvalidInput",
    "InvalidQuantity",
    "InvalidStructure",
    "Jurisdiction",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Limit",
    "Quantity",
    "RegulatoryList",
    "ScreeningResult",
    "Status",
    "UnknownJurisdiction",
    "UnknownName",
    "UnknownUnit",
    "is_valid_cas",
    "load_knowledge_base",
    "normalise_cas",
    "normalise_name",
    "parse_mixture",
    "parse_quantity",
    "screen",
    "screen_batch",
    "screen_safely",
]
