"""A vigichem node: its data directory, migrated database, Ed25519 key and identity.

``init_node`` creates everything once; ``load_node`` opens an existing node. The private key is a PKCS#8
PEM file ``node_key.pem`` in the data directory, readable by its owner only (mode 0600); the database keeps
the public key and the identity (name, ISO 3166-1 alpha-2 country) in the ``node`` table, so a verifier
needs no file but the database and a checkpoint needs nothing but the key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert, select

from vigichem.errors import ConfigurationError, InvalidInput, NotFound
from vigichem.ledger.checkpoints import key_id_of, sign_checkpoint
from vigichem.ledger.db import create_engine_from_url, migrate, node
from vigichem.ledger.models import Checkpoint, NodeIdentity
from vigichem.ledger.store import CheckpointSigner, LedgerStore, utc_now
from vigichem.settings import Settings, get_settings

__all__ = ["KEY_FILE", "Node", "init_node", "load_node", "read_identity"]

KEY_FILE = "node_key.pem"
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


@dataclass(slots=True)
class Node:
    """An opened node: identity, signing key (if this process holds it), engine and store."""

    identity: NodeIdentity
    engine: Engine
    store: LedgerStore
    data_dir: Path
    private_key: Ed25519PrivateKey | None = None

    @property
    def signer(self) -> CheckpointSigner | None:
        """Signs checkpoints with the node key (None when the key file is not available)."""
        key = self.private_key
        if key is None:
            return None
        key_id = self.identity.key_id

        def sign(tree_size: int, root: bytes, time: datetime) -> Checkpoint:
            return sign_checkpoint(key, key_id, tree_size, root, time)

        return sign

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def _database_url(data_dir: Path, database_url: str | None) -> str:
    return database_url or f"sqlite:///{(data_dir / 'vigichem.sqlite3').resolve()}"


def _write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Created with 0600 from the start: the key is never readable by others, not even briefly.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def _read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the node key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"the node key {path} is not an Ed25519 key")
    return key


def read_identity(engine: Engine) -> NodeIdentity:
    """The node identity stored in the database, or :class:`NotFound` if the node was never initialised."""
    with engine.connect() as connection:
        row = connection.execute(select(node).where(node.c.id == 1)).first()
    if row is None:
        raise NotFound("this database holds no node identity: run `vigichem init` first")
    return NodeIdentity(
        name=row.name,
        country=row.country,
        key_id=row.key_id,
        public_key=bytes(row.public_key),
        created_at=row.created_at,
    )


def init_node(data_dir: Path, name: str, country: str, database_url: str | None = None) -> Node:
    """Create a node: data directory, migrated database, Ed25519 key (0600) and identity row."""
    name = name.strip()
    country = country.strip().upper()
    if not name:
        raise InvalidInput("the node name must not be empty")
    if not _COUNTRY_RE.match(country):
        raise InvalidInput(f"country {country!r} is not an ISO 3166-1 alpha-2 code (two letters, e.g. FR)")
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path = data_dir / KEY_FILE
    engine = create_engine_from_url(_database_url(data_dir, database_url))
    migrate(engine)
    with engine.connect() as connection:
        if connection.execute(select(node.c.id)).first() is not None:
            engine.dispose()
            raise InvalidInput(f"a node is already initialised in this database ({data_dir})")
    if key_path.exists():
        engine.dispose()
        raise InvalidInput(f"{key_path} already exists: refusing to replace a node key")
    key = Ed25519PrivateKey.generate()
    _write_private_key(key_path, key)
    public_key = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    identity = NodeIdentity(
        name=name, country=country, key_id=key_id_of(public_key), public_key=public_key, created_at=utc_now()
    )
    with engine.begin() as connection:
        connection.execute(
            insert(node),
            {
                "id": 1,
                "name": identity.name,
                "country": identity.country,
                "key_id": identity.key_id,
                "public_key": identity.public_key,
                "created_at": identity.created_at,
            },
        )
    return Node(
        identity=identity, engine=engine, store=LedgerStore(engine), data_dir=data_dir, private_key=key
    )


def load_node(settings: Settings | None = None, *, require_key: bool = True) -> Node:
    """Open the node that ``settings`` (default: the environment) point at."""
    settings = settings or get_settings()
    data_dir = settings.data_dir
    engine = create_engine_from_url(_database_url(data_dir, settings.database_url))
    try:
        migrate(engine)
        identity = read_identity(engine)
    except Exception:
        engine.dispose()
        raise
    key_path = data_dir / KEY_FILE
    private_key = None
    if key_path.exists():
        private_key = _read_private_key(key_path)
        public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        if public_key != identity.public_key:
            engine.dispose()
            raise ConfigurationError(f"{key_path} does not match the node's public key in the database")
    elif require_key:
        engine.dispose()
        raise ConfigurationError(f"the node key {key_path} is missing: cannot sign checkpoints")
    return Node(
        identity=identity,
        engine=engine,
        store=LedgerStore(engine),
        data_dir=data_dir,
        private_key=private_key,
    )
