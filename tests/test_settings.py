"""Settings come from VOLTLANE_* variables and fail with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from voltlane.settings import SettingsError, load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "VOLTLANE_DATABASE_URL", "PORT", "VOLTLANE_PORT", "VOLTLANE_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VOLTLANE_DATA_DIR", str(tmp_path))
    return monkeypatch


def test_defaults_without_database_url_are_the_embedded_demo(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("VOLTLANE_SECRET_KEY")
    settings = load_settings()
    assert settings.embedded_database is True
    assert settings.demo is True
    assert (settings.port, settings.ocpp_port, settings.base_domain) == (8000, 9000, "localhost")
    # The generated demo key is kept, so a restart keeps sessions valid.
    assert load_settings().secret_key == settings.secret_key
    assert (settings.data_dir / "secret_key").stat().st_mode & 0o777 == 0o600


def test_plain_port_and_database_url_are_honoured(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PORT", "8123")
    clean_env.setenv("DATABASE_URL", "postgresql://db.example/voltlane")
    settings = load_settings()
    assert (settings.port, settings.database_url, settings.demo) == (
        8123,
        "postgresql://db.example/voltlane",
        False,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VOLTLANE_PORT", "eighty", "VOLTLANE_PORT must be an integer"),
        ("VOLTLANE_DEMO", "maybe", "VOLTLANE_DEMO must be true or false"),
        ("VOLTLANE_LOG_LEVEL", "LOUD", "VOLTLANE_LOG_LEVEL must be"),
        ("VOLTLANE_SECRET_KEY", "short", "at least 32 characters"),
        ("VOLTLANE_PUBLIC_SCHEME", "ftp", "VOLTLANE_PUBLIC_SCHEME must be http or https"),
        ("PORT", "80a", "PORT must be an integer"),
        ("VOLTLANE_OCPP_PORT", "-1", "VOLTLANE_OCPP_PORT must not be negative"),
    ],
)
def test_bad_values_name_the_variable(
    clean_env: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_production_requires_a_secret_key(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://db.example/voltlane")
    clean_env.delenv("VOLTLANE_SECRET_KEY")
    with pytest.raises(SettingsError, match="VOLTLANE_SECRET_KEY is required"):
        load_settings()
