"""Load a run's ``parties.jsonl`` into a node's personal-data vault under the references its events carry.

:meth:`vigichem.ledger.vault.Vault.register_party` draws a new reference for every party, which would not
match the ``vc:customerRef`` of the simulated events; this loader writes the vault tables
(``parties``, ``party_vault``, ``vault_access_log``: the ledger's table contract) with the simulation's own
references instead. Only records marked ``"fake": true`` are accepted, so real personal data can never be
loaded this way. All or nothing; a reference already in the vault is left as it is (loading twice is
harmless). Every registration is written to the access log with the actor and the purpose.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, insert, select

from vigichem.errors import InputTooLarge, InvalidInput
from vigichem.ledger import inventory_tables as t
from vigichem.ledger.extensions import PARTY_REF_RE
from vigichem.ledger.vault import PersonalData

MAX_PARTY_FILE_BYTES = 512 * 1024 * 1024
PURPOSE = "registration of a fake party from a vigichem simulation"


def _record(raw: Any, where: str) -> tuple[str, str, PersonalData]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: a party must be a JSON object")
    if raw.get("fake") is not True:
        raise InvalidInput(f'{where}: only records marked "fake": true can be loaded from a simulation')
    ref, kind = raw.get("ref"), raw.get("kind")
    if not isinstance(ref, str) or not PARTY_REF_RE.match(ref):
        raise InvalidInput(f"{where}: 'ref' must be a party reference (letters, digits, . _ : -)")
    if kind not in ("person", "organisation"):
        raise InvalidInput(f"{where}: 'kind' must be person or organisation")
    try:
        personal = PersonalData.model_validate(raw.get("personal"))
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: personal.{path}: {first['msg']}") from None
    return ref, kind, personal


def load_parties(engine: Engine, path: Path, *, actor: str) -> int:
    """Register the fake parties of ``path`` in the vault of ``engine``; return how many were new."""
    if not actor.strip():
        raise InvalidInput("loading parties needs a non-empty actor (who loads them)")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the parties file ({exc.strerror})") from exc
    if size > MAX_PARTY_FILE_BYTES:
        raise InputTooLarge(f"{path}: {size} bytes, above the limit of {MAX_PARTY_FILE_BYTES} bytes")
    records: dict[str, tuple[str, PersonalData]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{where}: not JSON ({exc.msg})") from None
            ref, kind, personal = _record(raw, where)
            records[ref] = (kind, personal)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        known = {row[0] for row in connection.execute(select(t.parties.c.ref))}
        new = [(ref, kind, personal) for ref, (kind, personal) in records.items() if ref not in known]
        if new:
            connection.execute(
                insert(t.parties),
                [
                    {"ref": ref, "kind": kind, "created_at": now, "retain_until": None, "erased": False}
                    for ref, kind, _ in new
                ],
            )
            connection.execute(
                insert(t.party_vault), [{"ref": ref, **personal.model_dump()} for ref, _, personal in new]
            )
            connection.execute(
                insert(t.vault_access_log),
                [
                    {"ref": ref, "at": now, "actor": actor, "action": "register", "purpose": PURPOSE}
                    for ref, _, _ in new
                ],
            )
    return len(new)


__all__ = ["load_parties"]
