"""The personal-data vault: pseudonymous references, logged reads, erasure with a tombstone, ledger intact.

Every person, document number, address and contact below is invented.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from tests.ledger.factories import masterdata
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger import inventory_tables as t
from vigichem.ledger.csv_import import import_csv
from vigichem.ledger.db import events
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.node import Node
from vigichem.ledger.service import verify
from vigichem.ledger.vault import REF_PREFIX, PersonalData, Vault

BUYER = PersonalData(  # invented person
    full_name="Jeanne Exemple",
    id_document_type="national id",
    id_document_number="X1234567",
    address="1 rue Imaginaire, 75000 Paris",
    country="fr",
    email="jeanne@example.org",
    phone="+33 1 00 00 00 00",
)


def test_register_and_read_are_logged(engine: Engine) -> None:
    vault = Vault(engine, secret_key="test-key")
    ref = vault.register_party(BUYER, actor="counter-1", retain_until=dt.date(2027, 7, 1))
    assert ref.startswith(REF_PREFIX)
    assert "Jeanne" not in ref and "X1234567" not in ref
    read = vault.read_party(ref, actor="analyst", purpose="case 42")
    assert read == BUYER and read.country == "FR"
    log = vault.access_log(ref)
    assert [(e.action, e.actor, e.purpose) for e in log] == [
        ("register", "counter-1", "registration of a buyer"),
        ("read", "analyst", "case 42"),
    ]
    record = vault.party(ref)  # no personal data in it, so not a logged access
    assert record.retain_until == dt.date(2027, 7, 1) and not record.erased
    assert len(vault.access_log(ref)) == 2


def test_random_references_differ_and_linkable_ones_are_keyed(engine: Engine) -> None:
    vault = Vault(engine, secret_key="test-key")
    assert vault.register_party(BUYER, actor="a") != vault.register_party(BUYER, actor="a")
    first = vault.register_party(BUYER, actor="a", linkable=True)
    # The same document, written differently, at another counter: the same buyer, the same reference.
    again = vault.register_party(
        BUYER.model_copy(update={"id_document_number": "x 123 4567"}), actor="b", linkable=True
    )
    assert first == again
    assert Vault(engine, secret_key="another-key").linkable_ref(BUYER) != first  # keyed, not a plain hash
    with pytest.raises(InvalidInput, match="needs an id_document_number"):
        vault.register_party(PersonalData(full_name="No Document"), actor="a", linkable=True)


def test_erasure_leaves_a_tombstone_and_refuses_reads(engine: Engine) -> None:
    vault = Vault(engine, secret_key="test-key")
    ref = vault.register_party(BUYER, actor="counter-1", retain_until=dt.date(2026, 1, 1))
    record = vault.erase_party(ref, "end of retention period", actor="dpo", on=dt.date(2026, 6, 1))
    assert record.erased and record.erasure_reason == "end of retention period"
    with engine.connect() as connection:
        assert connection.execute(select(t.party_vault)).all() == []
        assert connection.execute(select(t.parties.c.ref)).scalars().all() == [ref]
    with pytest.raises(NotFound, match="was erased"):
        vault.read_party(ref, actor="analyst", purpose="case 42")
    assert [e.action for e in vault.access_log(ref)] == ["register", "erase", "read-erased"]
    with pytest.raises(InvalidInput, match="already erased"):
        vault.erase_party(ref, "again", actor="dpo")


def test_retention_period_is_enforced_unless_overridden(engine: Engine) -> None:
    vault = Vault(engine, secret_key="test-key")
    ref = vault.register_party(BUYER, actor="counter-1", retain_until=dt.date(2027, 7, 1))
    assert vault.due_for_erasure(on=dt.date(2027, 6, 30)) == []
    assert vault.due_for_erasure(on=dt.date(2027, 7, 1)) == [ref]
    with pytest.raises(InvalidInput, match="must be retained until 2027-07-01"):
        vault.erase_party(ref, "customer request", actor="dpo", on=dt.date(2026, 6, 1))
    assert vault.read_party(ref, actor="dpo", purpose="check") == BUYER  # still there
    vault.erase_party(
        ref, "court order 2026/17", actor="dpo", on=dt.date(2026, 6, 1), override_retention=True
    )
    assert vault.party(ref).erased


def test_unknown_party_and_missing_purpose(engine: Engine) -> None:
    vault = Vault(engine, secret_key="test-key")
    with pytest.raises(NotFound, match="no party with reference 'pty-nobody'"):
        vault.read_party("pty-nobody", actor="a", purpose="b")
    ref = vault.register_party(BUYER, actor="a")
    with pytest.raises(InvalidInput, match="non-empty purpose"):
        vault.read_party(ref, actor="a", purpose=" ")


def test_the_ledger_still_verifies_after_erasure(node: Node) -> None:
    vault = Vault(node.engine, secret_key="test-key")
    ref = vault.register_party(BUYER, actor="counter-1")
    MasterData(node.engine).load(masterdata())
    rows = [  # invented sales to the registered buyer
        f"2026-01-15T10:00:00+01:00,sale,store,04012345123456,L1,5,KGM,,{ref},cash,pool care",
        f"2026-01-16T10:00:00+01:00,sale,store,04012345123456,L1,7,KGM,,{ref},card,pool care",
    ]
    header = "event_time,step,site,product,lot,quantity,unit,counterparty,party_ref,payment,stated_use"
    result = import_csv(node.engine, "\n".join([header, *rows]), signer=node.signer)
    assert len(result.new) == 2
    with node.engine.connect() as connection:
        stored = connection.execute(select(events.c.party_ref, events.c.event_json)).all()
    assert [row.party_ref for row in stored] == [ref, ref]
    assert all("Jeanne" not in row.event_json and "X1234567" not in row.event_json for row in stored)
    vault.erase_party(ref, "end of retention period", actor="dpo")
    report = verify(node.store, node.identity.public_key)
    assert report.ok and report.tree_size == 2
