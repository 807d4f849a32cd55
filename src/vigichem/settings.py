"""Typed settings, read from the environment with the ``VIGICHEM_`` prefix (and a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigichem.errors import ConfigurationError

DEVELOPMENT_SECRET = "development-only-secret-change-me"


class Settings(BaseSettings):
    """Node settings. Outside development mode a default secret is refused."""

    model_config = SettingsConfigDict(env_prefix="VIGICHEM_", env_file=".env", extra="ignore")

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Field(default=Path("var/node"), description="Node data directory (database, keys).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory."
    )
    secret_key: str = DEVELOPMENT_SECRET

    # Service
    secure_cookies: bool = Field(
        default=False, description="Mark the session cookie Secure (set when the node is served over HTTPS)."
    )
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30, description="Browser session lifetime.")

    # Screening
    watch_similarity: float = Field(
        default=0.7, ge=0.0, le=1.0, description="Tanimoto similarity above which a `watch` finding is made."
    )
    max_query_chars: int = Field(default=2000, gt=0, description="Longest accepted screening query.")
    max_batch_lines: int = Field(default=100_000, gt=0, description="Most queries accepted in one batch.")

    # Ledger
    max_document_bytes: int = Field(default=16 * 1024 * 1024, gt=0, description="Largest EPCIS document.")
    accel: bool = Field(
        default=True,
        description="Use the compiled copy of the CBV hash ID code when it is built and current "
        "(see vigichem.ledger.accel); false: pure Python only.",
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.mode != "development" and self.secret_key == DEVELOPMENT_SECRET:
            raise ConfigurationError(
                "VIGICHEM_SECRET_KEY must be set to a non-default value outside development mode"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vigichem.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache with ``get_settings.cache_clear()``)."""
    return Settings()


__all__ = ["Settings", "get_settings"]
