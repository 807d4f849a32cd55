"""Master data: registration from a file and from code, screening, precise errors, nothing stored partially.

All organisations, sites, GTINs and products are invented (see factories.py); the chemicals are listed
ones named by the CAS numbers the law prints, and water as a benign negative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select

from tests.ledger.factories import H2O2_GTIN, PLANT_LOCATION, masterdata, masterdata_dict
from vigichem.errors import InvalidComposition, InvalidInput, NotFound, UnknownName, UnknownUnit
from vigichem.ledger import inventory_tables as t
from vigichem.ledger.gs1 import normalise_gtin, parse_epc_class
from vigichem.ledger.masterdata import MasterData, parse_masterdata
from vigichem.ledger.masterdata_models import Component, Product


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_load_from_yaml_registers_and_screens(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "masterdata.yaml"
    path.write_text(yaml.safe_dump(masterdata_dict()), encoding="utf-8")
    report = MasterData(engine).load(path)
    assert (report.organisations, report.sites, report.products, report.lots) == (3, 3, 3, 1)
    assert set(report.controlled_products) == {"h2o2-30", "tdg", "tea-85"}
    peroxide = MasterData(engine).product("h2o2-30")
    assert peroxide.gtin == H2O2_GTIN and peroxide.controlled
    first, water = peroxide.components
    assert (first.cas, first.percent) == ("7722-84-1", 30)
    assert any(f.list == "EU 2019/1148 Annex I" and f.status == "restricted" for f in first.findings)
    assert water.cas == "7732-18-5" and water.findings == ()  # benign: no finding
    sites = {s["id"]: s for s in MasterData(engine).sites()}
    assert sites["plant"]["location_uri"] == PLANT_LOCATION and sites["plant"]["country"] == "FR"
    assert sites["de-site"]["country"] == "DE"  # from its organisation


def test_load_from_json_and_twice_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "masterdata.json"
    path.write_text(json.dumps(masterdata_dict()), encoding="utf-8")
    MasterData(engine).load(path)
    MasterData(engine).load(path)
    assert _count(engine, t.products) == 3 and _count(engine, t.product_components) == 5
    assert _count(engine, t.lots) == 1


def test_register_through_code(engine: Engine) -> None:
    service = MasterData(engine)
    service.register(organisations=masterdata().organisations, sites=masterdata().sites)
    product = service.register_product(
        Product(
            id="bleach", name="Invented product", composition=(Component(substance="7732-18-5", percent=100),)
        )
    )
    assert product.components[0].cas == "7732-18-5" and not product.controlled
    with pytest.raises(NotFound, match="product 'nothing' is not registered"):
        service.product("nothing")


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            lambda d: d["products"][0].update(net_content={"value": 5, "uom": "XYZ"}),
            UnknownUnit,
            "unknown unit 'XYZ'",
        ),
        (
            lambda d: d["products"][0]["composition"][0].update(percent=150),
            InvalidComposition,
            "less than or equal",
        ),
        (
            lambda d: d["products"][0]["composition"][0].update(percent=0),
            InvalidComposition,
            "greater than 0",
        ),
        (lambda d: d["products"][0]["composition"][1].update(percent=80), InvalidComposition, "sum to 110 %"),
        (lambda d: d["products"][0]["composition"][0].update(unit="% v/v"), UnknownUnit, "% v/v"),
        (lambda d: d["sites"][0].update(organisation="ghost"), InvalidInput, "unknown organisation 'ghost'"),
        (lambda d: d["lots"][0].update(product="ghost"), InvalidInput, "unknown product 'ghost'"),
        (lambda d: d["products"][0].update(gtin="04012345123457"), InvalidInput, "check digit 7, expected 6"),
        (lambda d: d["organisations"][0].update(country="France"), InvalidInput, "ISO 3166-1 alpha-2"),
        (lambda d: d["products"][1].update(id="h2o2-30"), InvalidInput, "duplicate id 'h2o2-30'"),
    ],
)
def test_bad_input_is_refused_precisely_and_nothing_is_stored(
    engine: Engine, change: Any, error: type[Exception], message: str
) -> None:
    data = masterdata_dict()
    change(data)
    with pytest.raises(error, match=message.replace("%", "%").replace("(", r"\(")) as caught:
        MasterData(engine).load(parse_masterdata(data))
    assert caught.value.details["errors"][0]["path"]  # each error says where
    assert _count(engine, t.organisations) == 0 and _count(engine, t.products) == 0


def test_an_unknown_substance_name_is_refused_with_its_path(engine: Engine) -> None:
    data = masterdata_dict()
    data["products"][0]["composition"][1]["substance"] = "unobtainium peroxide"  # invented name
    with pytest.raises(UnknownName, match="give its CAS number or SMILES") as caught:
        MasterData(engine).load(parse_masterdata(data))
    assert caught.value.details["errors"][0]["path"] == "products[0].composition[1].substance"
    assert _count(engine, t.products) == 0


def test_bad_files_get_precise_errors(engine: Engine, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("organisations: [\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        MasterData(engine).load(broken)
    with pytest.raises(InvalidInput, match="cannot read the file"):
        MasterData(engine).load(tmp_path / "missing.yaml")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        parse_masterdata(["not", "a", "mapping"])
    with pytest.raises(InvalidInput, match=r"products\[0\]\.colour"):
        parse_masterdata({"products": [{"id": "x", "name": "y", "colour": "blue"}]})


def test_gs1_keys_and_epc_classes() -> None:
    assert normalise_gtin("4012345123456") == H2O2_GTIN
    assert parse_epc_class("urn:epc:class:lgtin:4012345.012345.L1") == (H2O2_GTIN, "L1")
    assert parse_epc_class(f"https://id.gs1.org/01/{H2O2_GTIN}/10/L%2F1") == (H2O2_GTIN, "L/1")
    assert parse_epc_class("urn:epc:idpat:sgtin:4012345.012345.*") == (H2O2_GTIN, None)
    assert parse_epc_class("urn:vigichem:class:bleach:L7") == ("local:bleach", "L7")
    assert parse_epc_class(f"https://id.gs1.org/01/{H2O2_GTIN[:-1]}7") is None  # check digit wrong
    assert parse_epc_class("urn:example:something") is None
