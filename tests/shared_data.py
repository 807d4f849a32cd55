"""Where the tests find the project's shared reference data (``shared/`` beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get("VIGICHEM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
"""Override with ``VIGICHEM_SHARED_DATA`` when the checkout does not sit beside ``shared/``."""

OFFICIAL_EPCIS_EXAMPLES = SHARED_DATA / "epcis" / "gs1-EPCIS" / "JSON"
"""The official GS1 EPCIS 2.0 example documents."""
