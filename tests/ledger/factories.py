"""Invented master data and supply chains for the inventory tests (balance, CSV import, vault, CLI).

Everything here is invented test data: organisations, sites, GLNs, GTINs, lots, quantities and parties.
The chemicals are real listed ones named by their CAS numbers as the law prints them (hydrogen peroxide,
EU 2019/1148 Annex I; thiodiglycol, CWC Schedule 2 B.13; triethanolamine, CWC Schedule 3 B.17) and water
as a benign negative.
"""

from __future__ import annotations

from typing import Any

from vigichem.ledger.masterdata_models import MasterDataFile

# Invented GS1 keys (check digits valid).
PLANT_GLN = "4012345000009"
STORE_LOCATION = "urn:epc:id:sgln:0614141.00777.0"
DE_LOCATION = "urn:epc:id:sgln:0614141.00888.0"
PLANT_LOCATION = f"https://id.gs1.org/414/{PLANT_GLN}"
H2O2_GTIN = "04012345123456"
TDG_GTIN = "04012345000016"
TEA_GTIN = "04012345000023"
LOT = "L1"


def masterdata_dict() -> dict[str, Any]:
    """An invented producer (FR), a shop (FR) and a foreign customer (DE), with three products."""
    return {
        "organisations": [
            {"id": "acme", "name": "ACME Chemicals (invented)", "country": "FR"},
            {"id": "shop", "name": "Pool Shop (invented)", "country": "FR"},
            {"id": "abroad", "name": "Foreign Buyer GmbH (invented)", "country": "DE"},
        ],
        "sites": [
            {"id": "plant", "organisation": "acme", "name": "Plant (invented)", "gln": PLANT_GLN},
            {"id": "store", "organisation": "shop", "name": "Store (invented)", "location": STORE_LOCATION},
            {
                "id": "de-site",
                "organisation": "abroad",
                "name": "DE warehouse (invented)",
                "location": DE_LOCATION,
            },
        ],
        "products": [
            {
                "id": "h2o2-30",
                "name": "Hydrogen peroxide 30 % (invented product)",
                "gtin": H2O2_GTIN,
                "organisation": "acme",
                "composition": [
                    {"substance": "7722-84-1", "percent": 30},
                    {"substance": "7732-18-5", "percent": 70},
                ],
                "density_kg_per_l": 1.11,
                "net_content": {"value": 5, "uom": "LTR"},
            },
            {
                "id": "tdg",
                "name": "Thiodiglycol technical (invented product)",
                "gtin": TDG_GTIN,
                "composition": [{"substance": "111-48-8", "percent": 100}],
            },
            {
                "id": "tea-85",
                "name": "Triethanolamine 85 % (invented product)",
                "gtin": TEA_GTIN,
                "composition": [
                    {"substance": "102-71-6", "percent": 85},
                    {"substance": "7732-18-5", "percent": 15},
                ],
            },
        ],
        "lots": [{"product": "h2o2-30", "lot": LOT, "site": "plant", "produced_on": "2026-01-05"}],
    }


def masterdata() -> MasterDataFile:
    """The invented master data as records."""
    return MasterDataFile.model_validate(masterdata_dict())


CHAIN_HEADER = "event_time,step,site,product,lot,quantity,unit,counterparty,party_ref,payment,stated_use"

# The scripted chain of the balance tests (invented): 1000 kg produced, 300 kg shipped to the store which
# receives only 290 kg, sells 20 kg to a private buyer, 100 kg used in a process, 50 kg destroyed, a count
# of 540 kg where the books say 550 kg, then 10 kg shipped to Germany and never received.
CHAIN_ROWS = [
    f"2026-01-05T08:00:00+01:00,production,plant,{H2O2_GTIN},L1,1000,KGM,,,,",
    f"2026-01-10T08:00:00+01:00,shipment,plant,{H2O2_GTIN},L1,300,KGM,store,,,",
    f"2026-01-12T08:00:00+01:00,receipt,store,{H2O2_GTIN},L1,290,KGM,plant,,,",
    f"2026-01-15T10:00:00+01:00,sale,store,{H2O2_GTIN},L1,20,KGM,,pty-buyer-1,cash,swimming pool care",
    f"2026-01-20T08:00:00+01:00,use,plant,{H2O2_GTIN},L1,100,KGM,,,,",
    f"2026-01-25T08:00:00+01:00,disposal,plant,{H2O2_GTIN},L1,50,KGM,,,,",
    f"2026-01-31T08:00:00+01:00,count,plant,{H2O2_GTIN},L1,540,KGM,,,,",
    f"2026-02-01T08:00:00+01:00,shipment,plant,{H2O2_GTIN},L1,10,KGM,de-site,,,",
]


def chain_csv(rows: list[str] | None = None) -> str:
    """The scripted chain as CSV text in the import template."""
    return "\n".join([CHAIN_HEADER, *(CHAIN_ROWS if rows is None else rows)]) + "\n"
