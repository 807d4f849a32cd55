"""The personal-data vault: buyers' personal data kept apart from the hashed ledger, erasable.

Events carry only a party's pseudonymous reference (``vc:customerRef``, see
:mod:`vigichem.ledger.extensions`). The reference is either random (default) or, for a ``linkable`` party,
a keyed HMAC-SHA-256 of the normalised identity document under the node's secret key: the same buyer then
gets the same reference at every registration on this node (so that detection can see one buyer at many
counters), yet the reference cannot be turned back into the document without the key. Names, addresses and
contacts never enter a reference.

Personal fields live in ``party_vault``; ``parties`` holds what survives erasure (reference, kind, dates,
erasure reason: the tombstone). Every read of personal data, every registration and every erasure is
written to ``vault_access_log`` with the actor and the purpose. :meth:`Vault.erase_party` deletes the
personal fields and leaves the tombstone; the ledger is untouched, so it still verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger import inventory_tables as t
from vigichem.settings import get_settings

PartyKind = Literal["person", "organisation"]
REF_PREFIX = "pty-"


class PersonalData(BaseModel):
    """A party's personal data (only ever stored in the vault)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    full_name: str = Field(min_length=1, max_length=300)
    id_document_type: str | None = Field(default=None, max_length=60)
    id_document_number: str | None = Field(default=None, max_length=60)
    address: str | None = Field(default=None, max_length=500)
    country: str | None = None
    email: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=60)

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return code


class PartyRecord(BaseModel):
    """What the vault keeps about a party outside its personal data (the tombstone after erasure)."""

    model_config = ConfigDict(frozen=True)

    ref: str
    kind: PartyKind
    created_at: dt.datetime
    retain_until: dt.date | None
    erased: bool
    erased_at: dt.datetime | None
    erasure_reason: str | None


class AccessLogEntry(BaseModel):
    """One access to the vault: who, when, what (``register``, ``read``, ``erase``) and why."""

    model_config = ConfigDict(frozen=True)

    ref: str
    at: dt.datetime
    actor: str
    action: str
    purpose: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _normalised_document(data: PersonalData) -> str | None:
    if not data.id_document_number:
        return None
    number = "".join(
        ch for ch in unicodedata.normalize("NFKC", data.id_document_number).upper() if ch.isalnum()
    )
    kind = (data.id_document_type or "").strip().lower()
    return f"{kind}|{number}|{data.country or ''}"


class Vault:
    """The personal-data vault of a migrated ledger database."""

    def __init__(self, engine: Engine, secret_key: str | None = None) -> None:
        self.engine = engine
        self._key = (secret_key or get_settings().secret_key).encode("utf-8")

    def linkable_ref(self, data: PersonalData) -> str:
        """The keyed reference of a party identified by its ID document (HMAC-SHA-256 under the node key)."""
        document = _normalised_document(data)
        if document is None:
            raise InvalidInput("a linkable party needs an id_document_number to derive its reference")
        digest = hmac.new(self._key, document.encode("utf-8"), hashlib.sha256).hexdigest()
        return REF_PREFIX + digest[:32]

    def register_party(
        self,
        data: PersonalData,
        *,
        actor: str,
        purpose: str = "registration of a buyer",
        kind: PartyKind = "person",
        retain_until: dt.date | None = None,
        linkable: bool = False,
    ) -> str:
        """Store a party's personal data; return its pseudonymous reference (to put in events).

        A ``linkable`` party that is already registered (same ID document) gets its existing reference; its
        personal data are refreshed unless it was erased, in which case it is registered anew.
        """
        ref = self.linkable_ref(data) if linkable else REF_PREFIX + secrets.token_hex(16)
        personal = data.model_dump()
        now = _now()
        with self.engine.begin() as connection:
            existing = connection.execute(select(t.parties).where(t.parties.c.ref == ref)).first()
            if existing is None:
                connection.execute(
                    insert(t.parties).values(
                        ref=ref, kind=kind, created_at=now, retain_until=retain_until, erased=False
                    )
                )
            else:
                connection.execute(
                    update(t.parties)
                    .where(t.parties.c.ref == ref)
                    .values(erased=False, erased_at=None, erasure_reason=None, retain_until=retain_until)
                )
                connection.execute(delete(t.party_vault).where(t.party_vault.c.ref == ref))
            connection.execute(insert(t.party_vault).values(ref=ref, **personal))
            _log(connection, ref, actor, "register", purpose, now)
        return ref

    def read_party(self, ref: str, *, actor: str, purpose: str) -> PersonalData:
        """A party's personal data; the read is logged. :class:`NotFound` when unknown or erased."""
        _require_text(actor, "actor")
        _require_text(purpose, "purpose")
        with self.engine.begin() as connection:
            party = _party_row(connection, ref)
            row = connection.execute(select(t.party_vault).where(t.party_vault.c.ref == ref)).first()
            # A refused read of an erased party is logged too: the attempt itself is worth auditing.
            _log(connection, ref, actor, "read" if row else "read-erased", purpose, _now())
        if row is None:
            raise NotFound(
                f"party {ref!r} was erased on {party.erased_at:%Y-%m-%d} ({party.erasure_reason})",
                details={"ref": ref, "erased": True},
            )
        values = dict(row._mapping)
        values.pop("ref")
        return PersonalData(**values)

    def party(self, ref: str) -> PartyRecord:
        """The party's record without personal data (no access is logged: nothing personal is read)."""
        with self.engine.connect() as connection:
            row = _party_row(connection, ref)
        return PartyRecord(**dict(row._mapping))

    def erase_party(
        self,
        ref: str,
        reason: str,
        *,
        actor: str,
        on: dt.date | None = None,
        override_retention: bool = False,
    ) -> PartyRecord:
        """Erase a party's personal data and leave a tombstone; the ledger is not touched.

        Refused while the retention period runs (``retain_until`` after ``on``, default today) unless
        ``override_retention`` (e.g. a court order, named in ``reason``). Erasing twice is refused.
        """
        _require_text(reason, "reason")
        _require_text(actor, "actor")
        today = on or dt.datetime.now(dt.UTC).date()
        with self.engine.begin() as connection:
            party = _party_row(connection, ref)
            if party.erased:
                raise InvalidInput(f"party {ref!r} was already erased on {party.erased_at:%Y-%m-%d}")
            if party.retain_until is not None and party.retain_until > today and not override_retention:
                raise InvalidInput(
                    f"party {ref!r} must be retained until {party.retain_until:%Y-%m-%d}; "
                    "erasing earlier needs an override with its reason",
                    details={"ref": ref, "retain_until": party.retain_until.isoformat()},
                )
            now = _now()
            connection.execute(delete(t.party_vault).where(t.party_vault.c.ref == ref))
            connection.execute(
                update(t.parties)
                .where(t.parties.c.ref == ref)
                .values(erased=True, erased_at=now, erasure_reason=reason)
            )
            _log(connection, ref, actor, "erase", reason, now)
        return self.party(ref)

    def due_for_erasure(self, on: dt.date | None = None) -> list[str]:
        """References whose retention period has ended by ``on`` (default today) and are not erased."""
        today = on or dt.datetime.now(dt.UTC).date()
        query = (
            select(t.parties.c.ref)
            .where(t.parties.c.erased.is_(False), t.parties.c.retain_until <= today)
            .order_by(t.parties.c.ref)
        )
        with self.engine.connect() as connection:
            return list(connection.scalars(query))

    def access_log(self, ref: str | None = None) -> list[AccessLogEntry]:
        """The access log, oldest first (all parties, or one)."""
        log = t.vault_access_log
        query = select(log.c.ref, log.c.at, log.c.actor, log.c.action, log.c.purpose).order_by(log.c.id)
        if ref is not None:
            query = query.where(log.c.ref == ref)
        with self.engine.connect() as connection:
            return [AccessLogEntry(**dict(row._mapping)) for row in connection.execute(query)]


def _require_text(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"a vault access needs a non-empty {what}")


def _party_row(connection: Connection, ref: str) -> Row[Any]:
    row = connection.execute(select(t.parties).where(t.parties.c.ref == ref)).first()
    if row is None:
        raise NotFound(f"no party with reference {ref!r}", details={"ref": ref})
    return row


def _log(connection: Connection, ref: str, actor: str, action: str, purpose: str, at: dt.datetime) -> None:
    connection.execute(
        insert(t.vault_access_log).values(ref=ref, at=at, actor=actor, action=action, purpose=purpose)
    )


__all__ = ["REF_PREFIX", "AccessLogEntry", "PartyKind", "PartyRecord", "PersonalData", "Vault"]
