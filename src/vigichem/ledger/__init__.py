"""Custody ledger (GS1 EPCIS 2.0, RFC 9162 Merkle log, mass balance)."""
