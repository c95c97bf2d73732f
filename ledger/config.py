"""Settings, read from environment variables prefixed ``FUNDLEDGER_`` (or a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDLEDGER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///fundledger.db",
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://...",
    )
    currency: str = Field(default="EUR", description="The fund's currency (ISO 4217)")
    fund_name: str = Field(default="Rental guarantee fund", max_length=200)
    chart_file: Path | None = Field(
        default=None, description="TOML chart of accounts used by `fundledger init`"
    )
    token_ttl_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    max_request_bytes: int = Field(default=1_000_000, ge=1_000)
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, url: str) -> str:
        # A plain postgresql:// URL would make SQLAlchemy look for psycopg2; we ship psycopg 3.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
