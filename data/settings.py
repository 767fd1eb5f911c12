"""Settings come from environment variables, validated once at start.

Every setting is declared here with its default and a description, and the README's settings
table is generated from them (`python -m data.settings --write-readme`; tests/test_docs.py fails
when the README's table differs), so the two cannot drift. `json_schema_extra={"readme_default":
...}` says a computed default in words.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(Exception):
    """A setting from the environment is invalid; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(
        "",
        json_schema_extra={"readme_default": "SQLite file `instance/gcc.sqlite3`"},
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
    gcc_simulate_speed: float = Field(
        1.0,
        ge=0.1,
        le=1000,
        description="Pace of the demo simulator: 1 keeps the history's own rate of reports and handling "
        "(data.demo.rhythm); 60 compresses an hour into a minute, for demonstrations.",
    )
    gcc_scheduler: bool = Field(True, description="Start the scheduler inside `python app.py serve`.")
    gcc_debug: bool = Field(False, description="Dash/Flask debug mode. Never enable on a shared machine.")
    gcc_db_wait_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="How long a web request waits for a database lock before it is answered 503 with Retry-After "
        "(nothing written); the scheduler and the CLI wait up to 30 s.",
    )
    # Big screen and maps (issue #4).
    gcc_locale: str = Field(
        "zh",
        pattern="^(zh|en)$",
        description="Language of the web and phone pages and of the API's words (labels, notices): zh (default) or en.",
    )
    gcc_tile_url: str = Field(
        "",
        json_schema_extra={"readme_default": "empty (offline)"},
        pattern=r"^$|^https?://\S*\{z\}\S*(\{x\}\S*\{y\}|\{y\}\S*\{x\})\S*$",
        description="Intranet map tile URL template drawn under the grids, e.g. "
        "http://tiles.intranet/{z}/{x}/{y}.png. Empty (default): no base map, nothing fetched from any server.",
    )
    gcc_tile_attribution: str = Field("", description="Attribution text shown for GCC_TILE_URL's tiles.")
    # Access control and privacy (issue #6).
    gcc_production: bool = Field(
        False,
        description="Production mode: GCC_SECRET_KEY must be set (the app refuses to start without it), "
        "session cookies are Secure, and the demo accounts are not created unless GCC_DEMO_PASSWORD is set.",
    )
    gcc_secret_key: str = Field(
        "",
        json_schema_extra={"readme_default": "random per instance in demo mode"},
        description="Secret that signs session cookies. Required in production; in demo mode a random "
        "per-instance secret is generated once into the instance folder.",
    )
    gcc_secure_cookies: bool | None = Field(
        None,
        json_schema_extra={"readme_default": "on in production"},
        description="Send cookies only over HTTPS (Secure flag). Default: on in production mode, off otherwise.",
    )
    gcc_demo_password: str = Field(
        "",
        json_schema_extra={"readme_default": "`gcc-demo-2026`"},
        description="Password of the demo accounts `python app.py demo` creates (one per role). "
        "Empty: the documented demo default `gcc-demo-2026` (demo mode only).",
    )
    gcc_session_hours: int = Field(12, ge=1, le=720, description="A login lasts this many hours.")
    gcc_login_max_failures: int = Field(
        5,
        ge=1,
        le=100,
        description="Failed logins for one account name from one client address (within the lockout time) "
        "after which that name is locked for that address; other addresses can still log in to it.",
    )
    gcc_login_max_failures_per_address: int = Field(
        30,
        ge=1,
        le=10000,
        description="Failed logins from one client address, all names together (within the lockout time), "
        "after which that address may not log in at all until the lockout ends.",
    )
    gcc_login_lockout_minutes: int = Field(
        15, ge=1, le=10080, description="How long a lock lasts, and the time in which failures are counted."
    )
    gcc_audit_retention_days: int = Field(
        365, ge=183, le=36500, description="Audit rows older than this are pruned daily (at least 183 days = 6 months)."
    )
    # Intake: API, Open311, photos and the phone pages (issue #5).
    gcc_duplicate_radius_m: float = Field(
        50.0,
        gt=0,
        le=5000,
        description="A new report this close (metres) to an open ticket of the same category "
        "is suggested as its duplicate.",
    )
    gcc_duplicate_hours: float = Field(
        24.0, gt=0, le=720, description="... if that open ticket was reported less than this many hours before."
    )
    gcc_iot_alarm_categories: dict[str, str] = Field(
        json_schema_extra={"readme_default": "pm25, manhole, throwing, fire lane → categories"},
        default_factory=lambda: {
            "pm25": "0601",
            "manhole_displaced": "0602",
            "manhole_missing": "0302",
            "high_altitude_throwing": "0501",
            "fire_lane_blocked": "0502",
        },
        description="JSON object mapping an IoT alarm type, or `device_id/alarm_type` for one device, to a "
        'category code, e.g. {"pm25": "0601", "M-17/pm25": "0102"}.',
    )
    gcc_iot_repeat_minutes: int = Field(
        60,
        ge=1,
        le=10080,
        description="An alarm of the same device and type less than this many minutes after the "
        "previous one updates that alarm's open ticket instead of opening a new one.",
    )
    gcc_report_limit_per_client: int = Field(
        20,
        ge=1,
        le=100000,
        description="Anonymous submissions (the /report page, ratings) one client address may "
        "make per GCC_REPORT_LIMIT_WINDOW_SECONDS.",
    )
    gcc_report_limit_global: int = Field(
        600, ge=1, le=10000000, description="Anonymous submissions all clients together may make per window."
    )
    gcc_report_limit_window_seconds: int = Field(
        3600, ge=1, le=86400, description="Window of the anonymous submission limits, in seconds."
    )
    gcc_photo_max_mb: float = Field(10.0, gt=0, le=50, description="Largest accepted photo upload, in MB.")
    gcc_photo_max_pixels: int = Field(
        40_000_000,
        ge=10_000,
        le=80_000_000,
        description="Largest accepted photo in pixels (width x height); "
        "bigger images are refused before they are decoded (decompression bombs).",
    )
    gcc_open311_public_read: bool = Field(
        True,
        description="Open311 GET of services and requests without a key: every request in the privacy-safe "
        "public view (no reporter identity, address to the estate, phone/ID/plate numbers in descriptions masked, "
        "no photos). false: reading requests needs a key or a login, as /api/v1 does.",
    )
    gcc_photos_per_ticket: int = Field(
        9, ge=1, le=9, description="Photos one report (and one handling feedback) may carry."
    )

    # The weekly report (issue #10).
    gcc_report_cron: str = Field(
        "mon 08:00",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$",
        description="When the scheduler makes the weekly report of the week just ended, in GCC_TIMEZONE: "
        "a weekday and a time, e.g. `mon 08:00`.",
    )
    gcc_report_retry_seconds: int = Field(
        900,
        ge=5,
        le=86400,
        description="How often the scheduler checks whether the last finished week's report is missing or failed "
        "(after its scheduled time) and makes or retries it.",
    )
    gcc_report_max_attempts: int = Field(
        3, ge=1, le=20, description="Scheduled attempts at one week's report before it is left failed for a person."
    )
    gcc_report_min_volume: int = Field(
        10,
        ge=1,
        le=100000,
        description="红黑榜 and worsened grids: only areas with at least this many 应结案 orders in the week "
        "are ranked.",
    )
    gcc_report_chromium: Path = Field(
        Path("/usr/bin/chromium"), description="The Chromium the report drives (Debian's `chromium` package)."
    )
    gcc_report_ready_seconds: float = Field(
        60, gt=0, le=600, description="How long the report waits for a page to be fully drawn before it gives up."
    )
    gcc_report_timeout_seconds: int = Field(
        900, ge=30, le=7200, description="Longest a scheduled or web-started report may run before it is stopped."
    )
    gcc_report_scale: float = Field(
        1, ge=1, le=3, description="Device scale of the report's screenshots: 1 = 1920x1080, 2 = 3840x2160 for print."
    )
    gcc_report_base_url: str = Field(
        "", description="The app's public address, for links in the report's e-mail and webhook (empty: no link)."
    )
    gcc_report_smtp_host: str = Field(
        "", description="SMTP server for e-mailing the report. Empty (default): no e-mail."
    )
    gcc_report_smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    gcc_report_smtp_starttls: bool = Field(False, description="Use STARTTLS on the SMTP connection.")
    gcc_report_smtp_user: str = Field("", description="SMTP login (empty: none).")
    gcc_report_smtp_password: str = Field("", description="SMTP password.")
    gcc_report_mail_from: str = Field("gcc@localhost", description="Sender address of the report e-mail.")
    gcc_report_mail_to: str = Field("", description="Recipients of the report e-mail, comma-separated.")
    gcc_report_webhook_url: str = Field(
        "", description="Group-robot webhook the report is posted to. Empty (default): none."
    )
    gcc_report_webhook_format: str = Field(
        "wecom",
        pattern="^(wecom|dingtalk|feishu)$",
        description="Message format of GCC_REPORT_WEBHOOK_URL: wecom (企业微信), dingtalk (钉钉) or feishu (飞书).",
    )

    gcc_redis_url: str = Field(
        "",
        description="Optional Redis (redis://host:6379/0) for the values web workers share: the wall's snapshots "
        "and the arrays sent to screens. Empty: they live in the database; the display geometry always does.",
    )

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

    @model_validator(mode="after")
    def _production_needs_a_secret(self):
        # Refuse to start rather than sign sessions with a guessable or throwaway key (issue #6).
        if self.gcc_production and len(self.gcc_secret_key) < 32:
            raise ValueError(
                "production mode (GCC_PRODUCTION=true) needs GCC_SECRET_KEY set to a random string of at least "
                "32 characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self

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


# ----------------------------------------------------------------------------------------------
# The README's settings table, generated from the fields above.

README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- readme:settings -->", "<!-- /readme:settings -->"


def _default_text(field) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "readme_default" in extra:
        return str(extra["readme_default"])
    value = field.get_default(call_default_factory=True)
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value is None or value == "":
        return "empty"
    if isinstance(value, Path):
        return f"`{value.relative_to(ROOT)}/`" if value.is_relative_to(ROOT) else f"`{value}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def readme_table() -> str:
    """The README's settings table: one row per field, in declaration order."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        text = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{name.upper()}` | {_default_text(field)} | {text} |")
    return "\n".join(rows)


def readme_with_table(readme: str) -> str:
    start, end = readme.index(TABLE_START) + len(TABLE_START), readme.index(TABLE_END)
    return readme[:start] + "\n" + readme_table() + "\n" + readme[end:]


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--write-readme"]:
        sys.exit("usage: python -m data.settings --write-readme   (regenerates the README's settings table)")
    README.write_text(readme_with_table(README.read_text()))
    print(f"wrote the settings table ({len(Settings.model_fields)} settings) into {README}")
