"""Typed records of the ledger's master data: organisations, sites, products with their composition, lots.

These are what a master-data file (YAML or JSON, see ``docs/events.md``) and the code API accept. They check
shape and ranges; :mod:`vigichem.ledger.masterdata` checks references between records and screens products.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vigichem.ledger.gs1 import normalise_gln, normalise_gtin

_LOCAL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

OrganisationKind = Literal["operator", "authority"]
CONCENTRATION_UNITS = ("% w/w", "%w/w", "percent w/w", "P1")
"""Accepted spellings of % w/w (``P1`` is UN/ECE Rec 20 "percent"; w/w is the only basis we can convert)."""


def _local_id(value: str) -> str:
    if not _LOCAL_ID_RE.match(value):
        raise ValueError(f"{value!r} is not a local id: 1-64 letters, digits, '.', '_' or '-' (no ':')")
    return value


def _country(value: str) -> str:
    code = value.strip().upper()
    if not _COUNTRY_RE.match(code):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. FR, MA)")
    return code


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Organisation(_Record):
    """An operator (producer, distributor, shop, user) or an authority, with its country."""

    id: str
    name: str = Field(min_length=1)
    country: str
    kind: OrganisationKind = "operator"
    party_uri: str | None = None  # the EPCIS party id (PGLN URN or Digital Link) used in source/destination

    _check_id = field_validator("id")(_local_id)
    _check_country = field_validator("country")(_country)


class Site(_Record):
    """A site (facility) of an organisation. ``location`` is the URI events use as bizLocation.

    With only a ``gln``, the location defaults to its GS1 Digital Link (``https://id.gs1.org/414/<gln>``).
    The site's country defaults to its organisation's.
    """

    id: str
    organisation: str
    name: str = Field(min_length=1)
    gln: str | None = None
    location: str | None = None
    country: str | None = None

    _check_id = field_validator("id")(_local_id)
    _check_org = field_validator("organisation")(_local_id)

    @field_validator("gln")
    @classmethod
    def _check_gln(cls, value: str | None) -> str | None:
        return None if value is None else normalise_gln(value)

    @field_validator("country")
    @classmethod
    def _check_site_country(cls, value: str | None) -> str | None:
        return None if value is None else _country(value)

    @field_validator("location")
    @classmethod
    def _check_location(cls, value: str | None) -> str | None:
        if value is not None and (":" not in value or any(c.isspace() for c in value)):
            raise ValueError(f"{value!r} is not a URI (e.g. urn:epc:id:sgln:4012345.00001.0)")
        return value

    def location_uri(self) -> str:
        """The URI that identifies this site in events."""
        if self.location:
            return self.location
        if self.gln:
            return f"https://id.gs1.org/414/{self.gln}"
        return f"urn:vigichem:site:{self.id}"


class Component(_Record):
    """One substance of a product: a screening query (CAS, name, SMILES…) and its concentration in % w/w."""

    substance: str = Field(min_length=1, max_length=2000)
    percent: float = Field(gt=0, le=100, description="% w/w")
    unit: str = "% w/w"

    @field_validator("unit")
    @classmethod
    def _check_unit(cls, value: str) -> str:
        if value not in CONCENTRATION_UNITS:
            raise ValueError(
                f"unknown concentration unit {value!r}: only % w/w can be converted to substance mass "
                f"({', '.join(CONCENTRATION_UNITS)})"
            )
        return "% w/w"


class NetContent(_Record):
    """The net content of one trade item (e.g. a 1 L bottle), to convert counts (``EA``) to mass or volume."""

    value: float = Field(gt=0)
    uom: str = Field(min_length=1, description="UN/ECE Rec 20 code of a mass or volume unit (KGM, LTR…)")


class Product(_Record):
    """A trade item: GTIN or local id, its composition and optionally density and net content."""

    id: str
    name: str = Field(min_length=1)
    gtin: str | None = None
    organisation: str | None = None
    composition: tuple[Component, ...] = ()
    density_kg_per_l: float | None = Field(default=None, gt=0, le=30)
    net_content: NetContent | None = None

    _check_id = field_validator("id")(_local_id)

    @field_validator("gtin")
    @classmethod
    def _check_gtin(cls, value: str | None) -> str | None:
        return None if value is None else normalise_gtin(value)


class Lot(_Record):
    """A lot (batch) of a product."""

    product: str
    lot: str = Field(min_length=1, max_length=20)  # GS1 AI (10): up to 20 characters
    site: str | None = None
    produced_on: dt.date | None = None
    expires_on: dt.date | None = None


class MasterDataFile(_Record):
    """The content of a master-data file; every section is optional."""

    organisations: tuple[Organisation, ...] = ()
    sites: tuple[Site, ...] = ()
    products: tuple[Product, ...] = ()
    lots: tuple[Lot, ...] = ()


class ComponentFinding(_Record):
    """A screening finding stored for a product component at registration."""

    position: int
    list: str
    entry: str
    jurisdiction: str
    status: str
    basis: str
    reason: str
    source: str


class RegisteredComponent(_Record):
    """A component as stored: the query, its concentration, what it was resolved to, and its findings."""

    position: int
    substance: str
    percent: float
    cas: str | None = None
    name: str | None = None
    findings: tuple[ComponentFinding, ...] = ()

    @property
    def key(self) -> str:
        """The substance key used in balances: the CAS number when resolved, else the query as written."""
        return self.cas or self.name or self.substance


class RegisteredProduct(_Record):
    """A product as stored, with its screened components."""

    id: str
    name: str
    gtin: str | None
    organisation: str | None
    density_kg_per_l: float | None
    net_content: NetContent | None
    components: tuple[RegisteredComponent, ...]
    screened_at: dt.datetime | None

    @property
    def controlled(self) -> bool:
        """True when a component has a legal (non-watch) finding."""
        return any(f.status != "watch" for c in self.components for f in c.findings)


class LoadReport(_Record):
    """What a master-data load stored."""

    organisations: int = 0
    sites: int = 0
    products: int = 0
    lots: int = 0
    controlled_products: tuple[str, ...] = ()


__all__ = [
    "CONCENTRATION_UNITS",
    "Component",
    "ComponentFinding",
    "LoadReport",
    "Lot",
    "MasterDataFile",
    "NetContent",
    "Organisation",
    "OrganisationKind",
    "Product",
    "RegisteredComponent",
    "RegisteredProduct",
    "Site",
]
