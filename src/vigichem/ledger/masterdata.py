"""Master data of the ledger: register organisations, sites, products (screened) and lots.

Records come from code (:class:`MasterData` methods) or from a YAML/JSON file (:meth:`MasterData.load`), whose
format is documented in ``docs/events.md``. A load is all-or-nothing: every record is checked (shape,
ranges, references to organisations, sites and products in the file or already stored, units, composition
sums) and every product is screened with :mod:`vigichem.chem` before anything is written; one bad record
rejects the load with every error, each with its path in the file (``products[2].composition[1].percent``).

Registering a record whose id exists replaces it (a product's components and findings are re-screened), so
loading the same file twice is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from vigichem.errors import (
    InvalidComposition,
    InvalidInput,
    NotFound,
    UnknownName,
    UnknownUnit,
    VigichemError,
)
from vigichem.ledger import inventory_tables as t
from vigichem.ledger.masterdata_models import (
    ComponentFinding,
    LoadReport,
    Lot,
    MasterDataFile,
    NetContent,
    Organisation,
    Product,
    RegisteredComponent,
    RegisteredProduct,
    Site,
)
from vigichem.ledger.screening import ScreenedComponent, screen_composition

MAX_FILE_BYTES = 16 * 1024 * 1024
SUM_TOLERANCE = 0.5
"""Percentage points by which a composition may sum above 100 % (label rounding, as in vigichem.chem)."""


def _error(
    path: str, message: str, kind: type[InvalidInput] = InvalidInput
) -> tuple[str, str, type[InvalidInput]]:
    return path, message, kind


def _raise(errors: Sequence[tuple[str, str, type[InvalidInput]]]) -> None:
    if not errors:
        return
    kinds = {kind for _, _, kind in errors}
    kind = kinds.pop() if len(kinds) == 1 else InvalidInput
    listed = [{"path": path, "message": message} for path, message, _ in errors]
    summary = "; ".join(f"{path}: {message}" for path, message, _ in errors[:10])
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    raise kind(f"invalid master data: {summary}{more}", details={"errors": listed})


def _pydantic_errors(error: ValidationError, prefix: str) -> list[tuple[str, str, type[InvalidInput]]]:
    found = []
    for item in error.errors():
        path = prefix
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = str(item["msg"]).removeprefix("Value error, ")
        kind: type[InvalidInput] = InvalidInput
        if "percent" in path or "composition" in path:
            kind = InvalidComposition
        if path.endswith(".unit"):
            kind = UnknownUnit
        found.append(_error(path, message, kind))
    return found


def read_masterdata_file(path: Path) -> MasterDataFile:
    """Parse a YAML or JSON master-data file (precise errors with the path inside the file)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the file ({exc.strerror})") from exc
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path}: {size} bytes, above the limit of {MAX_FILE_BYTES} bytes")
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}"
        ) from exc
    return parse_masterdata(raw if raw is not None else {})


def parse_masterdata(raw: Any) -> MasterDataFile:
    """Validate the parsed content of a master-data file into records."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("a master-data file must be a mapping with organisations, sites, products, lots")
    try:
        return MasterDataFile.model_validate(raw)
    except ValidationError as exc:
        _raise(_pydantic_errors(exc, ""))
        raise  # unreachable: _raise raised


def _check_uom(uom: str) -> bool:
    from vigichem.ledger.units import to_base

    try:
        to_base(1.0, uom)
    except VigichemError:
        return False
    return True


class MasterData:
    """Master-data operations on a migrated ledger database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- registration ----------------------------------------------------------------------------------

    def load(self, source: Path | MasterDataFile, jurisdiction: str | None = None) -> LoadReport:
        """Register everything in a master-data file (or parsed content); all-or-nothing."""
        data = read_masterdata_file(source) if isinstance(source, Path) else source
        return self.register(
            organisations=data.organisations,
            sites=data.sites,
            products=data.products,
            lots=data.lots,
            jurisdiction=jurisdiction,
        )

    def register(
        self,
        *,
        organisations: Sequence[Organisation] = (),
        sites: Sequence[Site] = (),
        products: Sequence[Product] = (),
        lots: Sequence[Lot] = (),
        jurisdiction: str | None = None,
    ) -> LoadReport:
        """Check, screen and store records in one transaction; raise with every error, storing nothing."""
        with self.engine.connect() as connection:
            known_orgs = set(connection.scalars(select(t.organisations.c.id)))
            known_sites = set(connection.scalars(select(t.sites.c.id)))
            known_products = set(connection.scalars(select(t.products.c.id)))
        errors = self._check_references(
            organisations,
            sites,
            products,
            lots,
            known_orgs | {o.id for o in organisations},
            known_sites | {s.id for s in sites},
            known_products | {p.id for p in products},
        )
        screened: dict[str, list[ScreenedComponent]] = {}
        for index, product in enumerate(products):
            errors.extend(self._check_product(product, f"products[{index}]"))
            if product.composition:
                try:
                    screened[product.id] = screen_composition(product.composition, jurisdiction)
                except InvalidInput as exc:
                    errors.append(_error(f"products[{index}].composition", exc.message, type(exc)))
                    continue
                # A component nobody could identify would escape screening: refuse it rather than guess.
                for position, result in enumerate(screened[product.id]):
                    if not result.identified:
                        errors.append(
                            _error(
                                f"products[{index}].composition[{position}].substance",
                                result.note or "not identified; give its CAS number or SMILES",
                                UnknownName,
                            )
                        )
        _raise(errors)
        countries = self._organisation_countries(organisations)
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as connection:
            for org in organisations:
                _upsert(
                    connection,
                    t.organisations,
                    {"id": org.id},
                    {
                        "name": org.name,
                        "country": org.country,
                        "kind": org.kind,
                        "party_uri": org.party_uri,
                    },
                )
            for site in sites:
                country = (
                    site.country
                    or countries.get(site.organisation)
                    or self._stored_country(connection, site.organisation)
                )
                _upsert(
                    connection,
                    t.sites,
                    {"id": site.id},
                    {
                        "organisation_id": site.organisation,
                        "name": site.name,
                        "gln": site.gln,
                        "location_uri": site.location_uri(),
                        "country": country,
                    },
                )
            for product in products:
                self._store_product(connection, product, screened.get(product.id, []), now)
            for lot in lots:
                _upsert(
                    connection,
                    t.lots,
                    {"product_id": lot.product, "lot": lot.lot},
                    {
                        "site_id": lot.site,
                        "produced_on": lot.produced_on,
                        "expires_on": lot.expires_on,
                    },
                )
        controlled = tuple(
            p.id
            for p in products
            if any(f.status != "watch" for c in screened.get(p.id, []) for f in c.findings)
        )
        return LoadReport(
            organisations=len(organisations),
            sites=len(sites),
            products=len(products),
            lots=len(lots),
            controlled_products=controlled,
        )

    def register_organisation(self, organisation: Organisation) -> None:
        """Register (or replace) one organisation."""
        self.register(organisations=[organisation])

    def register_site(self, site: Site) -> None:
        """Register (or replace) one site; its organisation must exist."""
        self.register(sites=[site])

    def register_product(self, product: Product, jurisdiction: str | None = None) -> RegisteredProduct:
        """Register (or replace) one product, screening its composition; returns it as stored."""
        self.register(products=[product], jurisdiction=jurisdiction)
        return self.product(product.id)

    def register_lot(self, lot: Lot) -> None:
        """Register (or replace) one lot; its product (and site, if given) must exist."""
        self.register(lots=[lot])

    @staticmethod
    def _check_references(
        organisations: Sequence[Organisation],
        sites: Sequence[Site],
        products: Sequence[Product],
        lots: Sequence[Lot],
        org_ids: set[str],
        site_ids: set[str],
        product_ids: set[str],
    ) -> list[tuple[str, str, type[InvalidInput]]]:
        errors = []
        sections: tuple[tuple[str, list[str]], ...] = (
            ("organisations", [o.id for o in organisations]),
            ("sites", [s.id for s in sites]),
            ("products", [p.id for p in products]),
        )
        for section, ids in sections:
            seen: set[str] = set()
            for index, record_id in enumerate(ids):
                if record_id in seen:
                    errors.append(_error(f"{section}[{index}].id", f"duplicate id {record_id!r}"))
                seen.add(record_id)
        for index, site in enumerate(sites):
            if site.organisation not in org_ids:
                errors.append(
                    _error(f"sites[{index}].organisation", f"unknown organisation {site.organisation!r}")
                )
        for index, product in enumerate(products):
            if product.organisation is not None and product.organisation not in org_ids:
                errors.append(
                    _error(
                        f"products[{index}].organisation", f"unknown organisation {product.organisation!r}"
                    )
                )
        for index, lot in enumerate(lots):
            if lot.product not in product_ids:
                errors.append(_error(f"lots[{index}].product", f"unknown product {lot.product!r}"))
            if lot.site is not None and lot.site not in site_ids:
                errors.append(_error(f"lots[{index}].site", f"unknown site {lot.site!r}"))
        return errors

    @staticmethod
    def _check_product(product: Product, path: str) -> list[tuple[str, str, type[InvalidInput]]]:
        errors = []
        total = sum(component.percent for component in product.composition)
        if total > 100.0 + SUM_TOLERANCE:
            errors.append(
                _error(
                    f"{path}.composition",
                    f"components sum to {total:g} % w/w, above 100 %",
                    InvalidComposition,
                )
            )
        if product.net_content is not None and not _check_uom(product.net_content.uom):
            errors.append(
                _error(
                    f"{path}.net_content.uom",
                    f"unknown unit {product.net_content.uom!r}: give a UN/ECE Rec 20 code of a mass or "
                    "volume (KGM, GRM, TNE, LTR, MLT…)",
                    UnknownUnit,
                )
            )
        return errors

    @staticmethod
    def _organisation_countries(organisations: Iterable[Organisation]) -> dict[str, str]:
        return {org.id: org.country for org in organisations}

    @staticmethod
    def _stored_country(connection: Connection, organisation_id: str) -> str:
        country = connection.scalar(
            select(t.organisations.c.country).where(t.organisations.c.id == organisation_id)
        )
        if country is None:  # checked before the transaction; a concurrent delete is the only way here
            raise NotFound(f"organisation {organisation_id!r} does not exist")
        return str(country)

    @staticmethod
    def _store_product(
        connection: Connection, product: Product, screened: Sequence[ScreenedComponent], now: datetime
    ) -> None:
        net = product.net_content
        _upsert(
            connection,
            t.products,
            {"id": product.id},
            {
                "name": product.name,
                "gtin": product.gtin,
                "organisation_id": product.organisation,
                "density_kg_per_l": product.density_kg_per_l,
                "net_content_value": net.value if net else None,
                "net_content_uom": net.uom if net else None,
                "screened_at": now if product.composition else None,
            },
        )
        connection.execute(delete(t.product_findings).where(t.product_findings.c.product_id == product.id))
        connection.execute(
            delete(t.product_components).where(t.product_components.c.product_id == product.id)
        )
        for position, (component, result) in enumerate(zip(product.composition, screened, strict=True)):
            connection.execute(
                insert(t.product_components).values(
                    product_id=product.id,
                    position=position,
                    substance=component.substance,
                    percent=component.percent,
                    cas=result.cas,
                    name=result.name,
                )
            )
            for finding in result.findings:
                connection.execute(
                    insert(t.product_findings).values(
                        product_id=product.id,
                        position=position,
                        list=finding.list,
                        entry=finding.entry,
                        jurisdiction=finding.jurisdiction,
                        status=finding.status,
                        basis=finding.basis,
                        reason=finding.reason,
                        source=finding.source,
                    )
                )

    # ---- reading -----------------------------------------------------------------------------------------

    def product(self, product_id: str) -> RegisteredProduct:
        """A stored product with its components and findings, or :class:`NotFound`."""
        found = self.products([product_id])
        if not found:
            raise NotFound(f"product {product_id!r} is not registered")
        return found[0]

    def products(self, ids: Sequence[str] | None = None) -> list[RegisteredProduct]:
        """Stored products (all, or those with the given ids), ordered by id."""
        query = select(t.products).order_by(t.products.c.id)
        if ids is not None:
            query = query.where(t.products.c.id.in_(list(ids)))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            wanted = [row.id for row in rows]
            components = connection.execute(
                select(t.product_components)
                .where(t.product_components.c.product_id.in_(wanted))
                .order_by(t.product_components.c.product_id, t.product_components.c.position)
            ).all()
            findings = connection.execute(
                select(t.product_findings)
                .where(t.product_findings.c.product_id.in_(wanted))
                .order_by(t.product_findings.c.id)
            ).all()
        by_component: dict[tuple[str, int], list[ComponentFinding]] = {}
        for f in findings:
            by_component.setdefault((f.product_id, f.position), []).append(
                ComponentFinding(
                    position=f.position,
                    list=f.list,
                    entry=f.entry,
                    jurisdiction=f.jurisdiction,
                    status=f.status,
                    basis=f.basis,
                    reason=f.reason,
                    source=f.source,
                )
            )
        by_product: dict[str, list[RegisteredComponent]] = {}
        for c in components:
            by_product.setdefault(c.product_id, []).append(
                RegisteredComponent(
                    position=c.position,
                    substance=c.substance,
                    percent=c.percent,
                    cas=c.cas,
                    name=c.name,
                    findings=tuple(by_component.get((c.product_id, c.position), [])),
                )
            )
        return [
            RegisteredProduct(
                id=row.id,
                name=row.name,
                gtin=row.gtin,
                organisation=row.organisation_id,
                density_kg_per_l=row.density_kg_per_l,
                net_content=NetContent(value=row.net_content_value, uom=row.net_content_uom)
                if row.net_content_value is not None and row.net_content_uom is not None
                else None,
                components=tuple(by_product.get(row.id, [])),
                screened_at=row.screened_at,
            )
            for row in rows
        ]

    def sites(self) -> list[dict[str, Any]]:
        """Stored sites as dicts (id, organisation_id, name, gln, location_uri, country), ordered by id."""
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(t.sites).order_by(t.sites.c.id))]

    def organisations(self) -> list[dict[str, Any]]:
        """Stored organisations as dicts (id, name, country, kind, party_uri), ordered by id."""
        query = select(t.organisations).order_by(t.organisations.c.id)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def product_page(
        self, text: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> tuple[list[RegisteredProduct], int]:
        """One page of products ordered by id, optionally only those whose id, name or GTIN contains
        ``text`` (case-insensitive); and how many match in all."""
        condition: ColumnElement[bool] = true()
        if text is not None and text.strip():
            pattern = f"%{_escape_like(text.strip().lower())}%"
            condition = or_(
                func.lower(t.products.c.id).like(pattern, escape="\\"),
                func.lower(t.products.c.name).like(pattern, escape="\\"),
                func.coalesce(t.products.c.gtin, "").like(pattern, escape="\\"),
            )
        query = select(t.products.c.id).where(condition).order_by(t.products.c.id)
        with self.engine.connect() as connection:
            total = int(connection.scalar(select(func.count()).select_from(t.products).where(condition)) or 0)
            ids = list(connection.scalars(query.offset(offset).limit(limit)))
        return self.products(ids), total

    def organisation_page(
        self, where: ColumnElement[bool] | None = None, *, limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of organisations meeting ``where`` (e.g. a tenancy rule), ordered by id; and the total."""
        return _page(self.engine, t.organisations, where, limit, offset)

    def site_page(
        self, where: ColumnElement[bool] | None = None, *, limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of sites meeting ``where`` (e.g. a tenancy rule), ordered by id; and the total."""
        return _page(self.engine, t.sites, where, limit, offset)

    def lots(self) -> list[dict[str, Any]]:
        """Stored lots as dicts (product_id, lot, site_id, produced_on, expires_on)."""
        query = select(t.lots).order_by(t.lots.c.product_id, t.lots.c.lot)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]


def _escape_like(text: str) -> str:
    """``text`` with the LIKE wildcards escaped, so a search for ``50%`` means the characters."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _page(
    engine: Engine, table: Table, where: ColumnElement[bool] | None, limit: int | None, offset: int
) -> tuple[list[dict[str, Any]], int]:
    condition = true() if where is None else where
    with engine.connect() as connection:
        total = int(connection.scalar(select(func.count()).select_from(table).where(condition)) or 0)
        query = select(table).where(condition).order_by(table.c.id).offset(offset).limit(limit)
        return [dict(row._mapping) for row in connection.execute(query)], total


def _upsert(connection: Connection, table: Table, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Update the row with ``key`` or insert it (portable across SQLite and PostgreSQL)."""
    condition = [table.c[name] == value for name, value in key.items()]
    exists = connection.execute(select(*[table.c[name] for name in key]).where(*condition)).first()
    if exists is None:
        connection.execute(insert(table).values(**key, **values))
    else:
        connection.execute(update(table).where(*condition).values(**values))


__all__ = ["MAX_FILE_BYTES", "SUM_TOLERANCE", "MasterData", "parse_masterdata", "read_masterdata_file"]
