"""CSV import: the column template gives the same events as native capture; every bad cell is reported.

Rows, sites, products and parties are invented (see factories.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.ledger.factories import (
    CHAIN_HEADER,
    DE_LOCATION,
    H2O2_GTIN,
    PLANT_LOCATION,
    STORE_LOCATION,
    chain_csv,
    masterdata,
)
from vigichem.errors import InvalidInput
from vigichem.ledger.csv_import import Resolver, csv_to_document, import_csv, resolver_for
from vigichem.ledger.db import events
from vigichem.ledger.extensions import party_ref_of
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.service import prepare

H2O2_CLASS = f"https://id.gs1.org/01/{H2O2_GTIN}/10/L1"
RESOLVER = Resolver(
    site_locations={"plant": PLANT_LOCATION, "store": STORE_LOCATION, "de-site": DE_LOCATION},
    gln_locations={"4012345000009": PLANT_LOCATION},
    product_gtins={"h2o2-30": H2O2_GTIN, "bleach": None},
)


def _events(text: str) -> list[dict[str, object]]:
    document = csv_to_document(text, RESOLVER)
    return list(document["epcisBody"]["eventList"])  # type: ignore[index]


def test_each_step_maps_to_its_epcis_event() -> None:
    production, shipment, receipt, sale, use, disposal, count, _ = _events(chain_csv())
    assert (production["type"], production["action"], production["bizStep"]) == (
        "ObjectEvent",
        "ADD",
        "commissioning",
    )
    assert production["quantityList"] == [{"epcClass": H2O2_CLASS, "quantity": 1000.0, "uom": "KGM"}]
    assert (
        production["bizLocation"] == {"id": PLANT_LOCATION} and production["eventTimeZoneOffset"] == "+01:00"
    )
    assert (shipment["action"], shipment["bizStep"], shipment["disposition"]) == (
        "OBSERVE",
        "shipping",
        "in_transit",
    )
    assert shipment["destinationList"] == [{"type": "location", "destination": STORE_LOCATION}]
    assert receipt["bizStep"] == "receiving" and receipt["sourceList"] == [
        {"type": "location", "source": PLANT_LOCATION}
    ]
    assert sale["bizStep"] == "retail_selling"
    assert (sale["vc:customerRef"], sale["vc:paymentMethod"], sale["vc:statedEndUse"]) == (
        "pty-buyer-1",
        "cash",
        "swimming pool care",
    )
    assert party_ref_of(sale) == "pty-buyer-1"
    assert use["type"] == "TransformationEvent" and use["inputQuantityList"][0]["quantity"] == 100.0  # type: ignore[index]
    assert str(use["transformationID"]).startswith("urn:uuid:")
    assert (disposal["action"], disposal["bizStep"], disposal["disposition"]) == (
        "DELETE",
        "destroying",
        "destroyed",
    )
    assert (count["action"], count["bizStep"]) == ("OBSERVE", "cycle_counting")


def test_the_document_passes_the_capture_validation() -> None:
    indexed, _meta = prepare(csv_to_document(chain_csv(), RESOLVER))
    assert [item.columns["biz_step"] for item in indexed][:3] == ["commissioning", "shipping", "receiving"]
    assert indexed[3].columns["party_ref"] == "pty-buyer-1"


def test_same_rows_give_the_same_events_so_reimport_is_a_no_op(engine: Engine, tmp_path: Path) -> None:
    MasterData(engine).load(masterdata())
    path = tmp_path / "movements.csv"
    path.write_text(chain_csv(), encoding="utf-8")
    first = import_csv(engine, path)
    second = import_csv(engine, path)
    assert (len(first.new), len(second.new), len(second.duplicates)) == (8, 0, 8)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(events)) == 8


def test_sites_and_products_resolve_by_id_gln_uri_and_gtin(engine: Engine) -> None:
    MasterData(engine).load(masterdata())
    resolver = resolver_for(engine)
    rows = [
        f"2026-01-05T08:00:00+00:00,production,4012345000009,{H2O2_GTIN[1:]},L1,1,KGM,,,,",
        "2026-01-05T08:00:00+00:00,production,urn:epc:id:sgln:0614141.00999.0,h2o2-30,,2,LTR,,,,",
        f"2026-01-05T08:00:00+00:00,count,store,{H2O2_GTIN},L1,0,,,,,",
    ]
    first, second, third = csv_to_document(chain_csv(rows), resolver)["epcisBody"]["eventList"]
    assert first["bizLocation"]["id"] == PLANT_LOCATION and first["quantityList"][0]["epcClass"] == H2O2_CLASS
    assert second["quantityList"][0] == {
        "epcClass": f"https://id.gs1.org/01/{H2O2_GTIN}",
        "quantity": 2.0,
        "uom": "LTR",
    }
    assert third["quantityList"][0] == {"epcClass": H2O2_CLASS, "quantity": 0.0}  # a count of zero items


def test_every_bad_cell_is_reported_with_line_and_column_and_nothing_is_stored(engine: Engine) -> None:
    MasterData(engine).load(masterdata())
    rows = [
        f"2026-01-05T08:00:00+01:00,production,plant,{H2O2_GTIN},L1,10,KGM,,,,",  # line 2: good
        f"2026-01-05T08:00:00,production,plant,{H2O2_GTIN},L1,10,KGM,,,,",  # line 3: no offset
        f"2026-01-05T08:00:00+01:00,theft,plant,{H2O2_GTIN},L1,10,KGM,,,,",  # line 4: unknown step
        f"2026-01-05T08:00:00+01:00,production,nowhere,{H2O2_GTIN},L1,10,KGM,,,,",  # line 5: unknown site
        f"2026-01-05T08:00:00+01:00,production,plant,{H2O2_GTIN},L1,-5,KGM,,,,",  # line 6: negative
        f"2026-01-05T08:00:00+01:00,production,plant,{H2O2_GTIN},L1,10,XYZ,,,,",  # line 7: unknown unit
        f"2026-01-05T08:00:00+01:00,shipment,plant,{H2O2_GTIN},L1,10,KGM,,,,",  # line 8: no destination
        f"2026-01-05T08:00:00+01:00,sale,store,{H2O2_GTIN},L1,1,KGM,,Jeanne Exemple,bitcoin,",  # line 9: two
        "2026-01-05T08:00:00+01:00,production,plant,4012345123457,L1,10,KGM,,,,",  # line 10: check digit
        ",,,,,,,,,,",  # a blank row is skipped
    ]
    with pytest.raises(InvalidInput) as caught:
        import_csv(engine, chain_csv(rows))
    found = {(e["line"], e["column"]) for e in caught.value.details["errors"]}
    assert found == {
        (3, "event_time"),
        (4, "step"),
        (5, "site"),
        (6, "quantity"),
        (7, "unit"),
        (8, "counterparty"),
        (9, "party_ref"),
        (9, "payment"),
        (10, "product"),
    }
    assert (
        "line 3, column event_time" in caught.value.message and "no time-zone offset" in caught.value.message
    )
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(events)) == 0


def test_header_problems() -> None:
    with pytest.raises(InvalidInput, match="column colour: unknown column"):
        csv_to_document(CHAIN_HEADER + ",colour\n", RESOLVER)
    with pytest.raises(InvalidInput, match="column quantity: required column missing"):
        csv_to_document("event_time,step,site,product\n", RESOLVER)
    with pytest.raises(InvalidInput, match="empty file"):
        csv_to_document("", RESOLVER)
    with pytest.raises(InvalidInput, match="no rows"):
        csv_to_document(CHAIN_HEADER + "\n", RESOLVER)
    with pytest.raises(InvalidInput, match="more cells than header columns"):
        csv_to_document(CHAIN_HEADER + "\n" + "a," * 20 + "\n", RESOLVER)


def test_use_with_an_output_and_concentration_extension() -> None:
    header = (
        "event_time,step,site,product,lot,quantity,unit,concentration,"
        + "output_product,output_quantity,output_unit"
    )
    row = f"2026-01-20T08:00:00+01:00,use,plant,{H2O2_GTIN},L1,100,KGM,7722-84-1 30%,bleach,90,KGM"
    (use,) = _events(f"{header}\n{row}\n")
    assert use["outputQuantityList"] == [
        {"epcClass": "urn:vigichem:class:bleach", "quantity": 90.0, "uom": "KGM"}
    ]
    assert use["vc:concentration"] == [{"substance": "7722-84-1", "percent": 30.0}]
    bad = f"{header}\n{row.replace('7722-84-1 30%', '7722-84-1 130%')}\n"
    with pytest.raises(InvalidInput, match="column concentration"):
        _events(bad)
