"""The exception tree of vigichem.

Every error that a user can cause is a :class:`VigichemError` with a stable machine ``code`` (used by
the CLI's JSON output and the API's error envelope), a human ``message`` that says precisely what is
wrong, and optional structured ``details``::

    VigichemError
    ├── InvalidInput                 bad data from a user or a file (CLI exit 2, API 400/422)
    │   ├── InvalidCAS               check digit or format wrong; says which digit was expected
    │   ├── InvalidStructure         SMILES / InChI / InChIKey that RDKit cannot read, with its reason
    │   ├── UnknownName              a name or synonym not in the knowledge base; suggests close names
    │   ├── InvalidComposition       concentrations outside 0–100 %, components summing above 100 %
    │   ├── InvalidQuantity          negative, zero where not allowed, or not a number
    │   ├── UnknownUnit              a unit that is not a known UN/ECE Rec 20 code for mass or volume
    │   ├── InputTooLarge            input above a stated limit
    │   ├── UnknownJurisdiction      a jurisdiction code the knowledge base does not define
    │   └── InvalidDocument          an EPCIS document failing the schema or the semantic checks
    ├── KnowledgeBaseError           a curated data file is invalid (raised at load, with the path)
    ├── NotFound                     a referenced object does not exist (API 404)
    ├── AuthenticationRequired       no valid session or API token, or a wrong password (API 401)
    ├── PermissionDenied             authenticated, but the role, token scope or tenancy forbids it (API 403)
    ├── Conflict                     the request clashes with stored state, e.g. a taken username (API 409)
    ├── IntegrityError               stored ledger data does not verify (names the event)
    ├── ProofError                   an RFC 9162 inclusion or consistency proof does not hold
    └── ConfigurationError           settings refused (e.g. a default secret outside development)
"""

from __future__ import annotations

from typing import Any


class VigichemError(Exception):
    """Base of every error vigichem raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON envelope's ``error`` member."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class InvalidInput(VigichemError, ValueError):
    code = "invalid_input"


class InvalidCAS(InvalidInput):
    code = "invalid_cas"


class InvalidStructure(InvalidInput):
    code = "invalid_structure"


class UnknownName(InvalidInput):
    code = "unknown_name"


class InvalidComposition(InvalidInput):
    code = "invalid_composition"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class UnknownUnit(InvalidInput):
    code = "unknown_unit"


class InputTooLarge(InvalidInput):
    code = "input_too_large"


class UnknownJurisdiction(InvalidInput):
    code = "unknown_jurisdiction"


class InvalidDocument(InvalidInput):
    code = "invalid_document"


class KnowledgeBaseError(VigichemError):
    code = "knowledge_base_error"


class NotFound(VigichemError, LookupError):
    code = "not_found"


class AuthenticationRequired(VigichemError):
    code = "unauthenticated"


class PermissionDenied(VigichemError):
    code = "forbidden"


class Conflict(VigichemError):
    code = "conflict"


class IntegrityError(VigichemError):
    code = "integrity_error"


class ProofError(VigichemError):
    code = "proof_error"


class ConfigurationError(VigichemError):
    code = "configuration_error"


__all__ = [
    "AuthenticationRequired",
    "ConfigurationError",
    "Conflict",
    "InputTooLarge",
    "IntegrityError",
    "InvalidCAS",
    "InvalidComposition",
    "InvalidDocument",
    "InvalidInput",
    "InvalidQuantity",
    "InvalidStructure",
    "KnowledgeBaseError",
    "NotFound",
    "PermissionDenied",
    "ProofError",
    "UnknownJurisdiction",
    "UnknownName",
    "UnknownUnit",
    "VigichemError",
]
