"""The built-in rule pack: one small module per rule family; :data:`RULE_CLASSES` by rule name."""

from __future__ import annotations

from vigichem.detect.rule import Rule
from vigichem.detect.rules.designer import DesignerPrecursor
from vigichem.detect.rules.indicators import SaleIndicator
from vigichem.detect.rules.inventory import ShipmentNotReceived, ShipmentShort, TheftLoss
from vigichem.detect.rules.purchases import SplitPurchase, SplitPurchaseMultiSeller, UnusualCombination
from vigichem.detect.rules.quantity import QuantitySpike

RULE_CLASSES: dict[str, type[Rule]] = {
    cls.name: cls
    for cls in (
        SplitPurchase,
        SplitPurchaseMultiSeller,
        QuantitySpike,
        UnusualCombination,
        SaleIndicator,
        TheftLoss,
        ShipmentNotReceived,
        ShipmentShort,
        DesignerPrecursor,
    )
}

__all__ = [
    "RULE_CLASSES",
    "DesignerPrecursor",
    "QuantitySpike",
    "SaleIndicator",
    "ShipmentNotReceived",
    "ShipmentShort",
    "SplitPurchase",
    "SplitPurchaseMultiSeller",
    "TheftLoss",
    "UnusualCombination",
]
