"""The extension fields the simulator writes and detection reads (ID shown, customer and delivery)."""

from __future__ import annotations

import pytest

from vigichem.errors import InvalidDocument
from vigichem.ledger import extensions as ext


def test_well_formed_sale_fields_pass_and_read_back() -> None:
    fields = ext.build_extensions(
        customer_ref="pty-abc",
        id_verified=False,
        customer_type="farm",
        delivery_type="po_box",
        delivery_ref="adr-0123abcd",
    )
    assert ext.check_extensions(fields) == []
    assert ext.extension_value(fields, ext.ID_VERIFIED) is False
    assert ext.extension_value(fields, ext.CUSTOMER_TYPE) == "farm"
    assert ext.extension_value(fields, ext.DELIVERY_TYPE) == "po_box"
    assert ext.extension_value(fields, ext.DELIVERY_REF) == "adr-0123abcd"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("vc:idVerified", "yes", "true or false"),
        ("vc:idVerified", 1, "true or false"),
        ("vc:customerType", "smuggler", "unknown customer type"),
        ("vc:deliveryType", "drone", "unknown delivery type"),
        ("vc:deliveryRef", "12 rue de la Paix, Paris", "never the address"),
        ("vc:deliveryRef", "", "never the address"),
    ],
)
def test_malformed_values_are_reported_with_their_path(field: str, value: object, fragment: str) -> None:
    errors = ext.check_extensions({field: value}, pointer="/epcisBody/eventList/0")
    assert len(errors) == 1
    assert errors[0]["path"] == f"/epcisBody/eventList/0/{field}"
    assert fragment in errors[0]["message"]


def test_build_refuses_a_bad_delivery_type() -> None:
    with pytest.raises(InvalidDocument, match="unknown delivery type"):
        ext.build_extensions(delivery_type="teleport")
