"""Settings read from the environment (prefix ``VOLTLANE_``), documented in the README."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# The checkout this package lives in (editable install); the container image sets
# VOLTLANE_HOME to the copied tree instead.
_DEFAULT_HOME = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"VOLTLANE_{name}")
    return default if value is None else value


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"VOLTLANE_{name} must be true or false, got {raw!r}")


def _int(name: str, default: int, *, fallback_env: str | None = None) -> int:
    raw, source = _env(name), f"VOLTLANE_{name}"
    if raw is None and fallback_env is not None:
        raw, source = os.environ.get(fallback_env), fallback_env
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{source} must be an integer, got {raw!r}") from exc
    if value < 0:
        raise SettingsError(f"{source} must not be negative, got {value}")
    return value


def _path(name: str) -> Path | None:
    raw = _env(name)
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise SettingsError(f"VOLTLANE_{name} names no readable file: {raw}")
    return path


def _smtp_url() -> str | None:
    raw = _env("SMTP_URL")
    if not raw:
        return None
    if not raw.startswith(("smtp://", "smtp+starttls://", "smtps://")):
        # The value may hold a password: the message names the variable, not the value.
        raise SettingsError(
            "VOLTLANE_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://"
        )
    return raw


@dataclass(frozen=True, slots=True)
class Settings:
    """Process-wide configuration. Built once by :func:`load_settings`."""

    home: Path
    data_dir: Path
    database_url: str | None
    broker_url: str | None
    secret_key: str = field(repr=False)
    host: str
    port: int
    ocpp_port: int
    base_domain: str
    public_scheme: str
    log_level: str
    log_json: bool
    demo: bool
    tenants_dir: Path
    themes_dir: Path
    migrations_dir: Path
    session_ttl_hours: int
    login_max_failures: int
    login_window_minutes: int
    db_pool_size: int
    ocpp_tls_port: int
    ocpp_tls_cert: Path | None
    ocpp_tls_key: Path | None
    ocpp_tls_client_ca: Path | None
    ocpp_heartbeat_interval: int
    ocpp_max_message_bytes: int
    # Where e-mails to drivers and fleet managers go (core.mail); None: they stay unsent.
    smtp_url: str | None = field(default=None, repr=False)
    # Alert webhooks may reach loopback and private addresses (receivers on the same network
    # as the platform); off by default, so a brand cannot make the platform call inward.
    webhook_private_addresses: bool = False

    @property
    def embedded_database(self) -> bool:
        """True when no database URL is configured and a private PostgreSQL is used."""
        return self.database_url is None


def _secret_key(data_dir: Path, *, demo: bool) -> str:
    configured = _env("SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise SettingsError("VOLTLANE_SECRET_KEY must be at least 32 characters")
        return configured
    if not demo:
        raise SettingsError("VOLTLANE_SECRET_KEY is required unless VOLTLANE_DEMO is on")
    # Demo and laptop runs keep a generated key beside their private data so sessions
    # survive a restart; it is never committed (.voltlane/ is gitignored).
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _tls_pair() -> tuple[Path | None, Path | None]:
    cert, key = _path("OCPP_TLS_CERT"), _path("OCPP_TLS_KEY")
    if (cert is None) != (key is None):
        raise SettingsError("VOLTLANE_OCPP_TLS_CERT and VOLTLANE_OCPP_TLS_KEY go together")
    return cert, key


def load_settings() -> Settings:
    """Read every ``VOLTLANE_*`` variable once and validate it."""
    tls_cert, tls_key = _tls_pair()
    home = Path(_env("HOME", str(_DEFAULT_HOME)) or _DEFAULT_HOME).resolve()
    data_dir = Path(_env("DATA_DIR", str(home / ".voltlane")) or home / ".voltlane").resolve()
    database_url = _env("DATABASE_URL") or os.environ.get("DATABASE_URL") or None
    demo = _bool("DEMO", default=database_url is None)
    log_level = (_env("LOG_LEVEL", "INFO") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(
            f"VOLTLANE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR: {log_level}"
        )
    scheme = _env("PUBLIC_SCHEME", "http") or "http"
    if scheme not in {"http", "https"}:
        raise SettingsError(f"VOLTLANE_PUBLIC_SCHEME must be http or https, got {scheme!r}")
    return Settings(
        home=home,
        data_dir=data_dir,
        database_url=database_url,
        broker_url=_env("BROKER_URL") or None,
        secret_key=_secret_key(data_dir, demo=demo),
        host=_env("HOST", "127.0.0.1") or "127.0.0.1",
        port=_int("PORT", 8000, fallback_env="PORT"),
        ocpp_port=_int("OCPP_PORT", 9000),
        base_domain=(_env("BASE_DOMAIN", "localhost") or "localhost").lower(),
        public_scheme=scheme,
        log_level=log_level,
        log_json=_bool("LOG_JSON", default=True),
        demo=demo,
        tenants_dir=Path(_env("TENANTS_DIR", str(home / "tenants")) or home / "tenants"),
        themes_dir=Path(_env("THEMES_DIR", str(home / "themes")) or home / "themes"),
        migrations_dir=Path(
            _env("MIGRATIONS_DIR", str(home / "migrations")) or home / "migrations"
        ),
        session_ttl_hours=_int("SESSION_TTL_HOURS", 12),
        login_max_failures=_int("LOGIN_MAX_FAILURES", 5),
        login_window_minutes=_int("LOGIN_WINDOW_MINUTES", 15),
        db_pool_size=_int("DB_POOL_SIZE", 10),
        ocpp_tls_port=_int("OCPP_TLS_PORT", 9443),
        ocpp_tls_cert=tls_cert,
        ocpp_tls_key=tls_key,
        ocpp_tls_client_ca=_path("OCPP_TLS_CLIENT_CA"),
        ocpp_heartbeat_interval=_int("OCPP_HEARTBEAT_INTERVAL", 300),
        ocpp_max_message_bytes=_int("OCPP_MAX_MESSAGE_BYTES", 1024 * 1024),
        smtp_url=_smtp_url(),
        webhook_private_addresses=_bool("WEBHOOK_PRIVATE_ADDRESSES", default=False),
    )
