"""Settings come from environment variables, validated once at start.

Every setting is declared here with its default and a description; the README's settings table
is checked against this class by tests/test_docs.py so neither drifts.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(Exception):
    """A setting from the environment is invalid; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database. Empty: a SQLite file in the instance folder. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    gcc_instance_dir: Path = Field(
        ROOT / "instance",
        description="Folder for runtime files: the SQLite database, uploaded photos, reports, locks.",
    )
    gcc_timezone: str = Field("Asia/Shanghai", description="Time zone for days, deadlines and the scheduler.")
    gcc_district_name: str = Field("于都县", description="District name shown on the big screen header.")
    gcc_refresh_seconds: int = Field(10, ge=2, le=3600, description="Big-screen refresh interval in seconds.")
    gcc_aggregate_seconds: int = Field(
        10, ge=2, le=3600, description="Interval of the incremental aggregate refresh job in seconds."
    )
    gcc_full_refresh_minutes: int = Field(
        15, ge=1, le=1440, description="Interval of the full aggregate rebuild in minutes (also run at midnight)."
    )
    gcc_sweep_seconds: int = Field(60, ge=5, le=3600, description="Interval of the deadline sweep job in seconds.")
    gcc_simulate: bool = Field(
        True, description="In serve mode, keep the demo district alive with simulated reports and handling."
    )
    gcc_simulate_seconds: int = Field(5, ge=1, le=3600, description="Interval of the demo simulator in seconds.")
    gcc_scheduler: bool = Field(True, description="Start the scheduler inside `python app.py serve`.")
    gcc_debug: bool = Field(False, description="Dash/Flask debug mode. Never enable on a shared machine.")

    @field_validator("gcc_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.gcc_instance_dir / 'gcc.sqlite3'}"


def load_settings(**overrides) -> Settings:
    """Read settings from the environment (and overrides); raise SettingsError with a readable message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
