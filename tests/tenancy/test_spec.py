"""Tenant files: the demo brands load, and every malformed field is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import REPO
from voltlane.tenancy.spec import TenantSpecError, load_spec, load_specs

VALID = """
key = "acme2026"
slug = "acme"
name = "Acme Charging"
theme = "aurora"
locale = "fr_FR"
currency = "EUR"
timezone = "Europe/Paris"
domains = ["charge.acme.example"]
"""


def write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_brands_differ_in_theme_currency_locale_and_timezone() -> None:
    specs = load_specs(REPO / "tenants", themes_dir=REPO / "themes")
    assert [(s.slug, s.key, s.theme, s.currency, s.locale, s.timezone) for s in specs] == [
        ("harbour-charge", "harbour", "harbour", "GBP", "en_GB", "Europe/London"),
        ("voltaria", "voltaria", "aurora", "EUR", "de_DE", "Europe/Berlin"),
    ]


def test_a_valid_file_keeps_its_non_secret_profile(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, VALID), themes_dir=REPO / "themes")
    assert spec.profile() == {
        "short_name": "Acme Chargin",
        "tokens": {},
        "locales": ["fr_FR"],
        "legal": None,
        "ocpi": None,
        "payments": None,
        "loyalty": None,
        "ocpp": None,
        "mail": None,
        "app": {
            "map_tiles": None,
            "map_attribution": None,
            "pre_authorization": 5000,
            "oidc": [],
        },
    }


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ('key = "acme2026"', 'key = "Acme"', "key 'Acme' must match"),
        ('slug = "acme"', 'slug = "-acme"', "slug '-acme' must be a DNS label"),
        ('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"', "not an IANA timezone"),
        ('locale = "fr_FR"', 'locale = "xx_YY"', "locale 'xx_YY' is unknown"),
        ('currency = "EUR"', 'currency = "euro"', "currency"),
        ('theme = "aurora"', 'theme = "nope"', "theme 'nope' does not exist"),
        ('domains = ["charge.acme.example"]', 'domains = ["Charge Acme"]', "not a lowercase host"),
        ('name = "Acme Charging"', 'name = "Acme"\npassword = "x"', "password"),
    ],
)
def test_invalid_fields_are_named(tmp_path: Path, replace: str, by: str, message: str) -> None:
    with pytest.raises(TenantSpecError, match=message):
        load_spec(write(tmp_path, VALID.replace(replace, by)), themes_dir=REPO / "themes")


def test_brand_colour_tokens_must_be_hex(tmp_path: Path) -> None:
    text = VALID + '\n[brand]\ntokens = { "color-primary" = "red;}" }\n'
    with pytest.raises(TenantSpecError, match="color-primary must be a #rrggbb colour"):
        load_spec(write(tmp_path, text), themes_dir=REPO / "themes")


def test_two_files_may_not_share_a_key(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.toml")
    write(tmp_path, VALID.replace('slug = "acme"', 'slug = "acme-two"'), "b.toml")
    with pytest.raises(TenantSpecError, match="share the key 'acme2026'"):
        load_specs(tmp_path, themes_dir=REPO / "themes")


def test_a_demo_fleet_manager_names_a_demo_fleet_account(tmp_path: Path) -> None:
    fleet = (
        '\n[[demo.accounts]]\nname = "Spree"\nkind = "fleet"\nlocale = "de_DE"\ncountry = "DE"\n'
    )
    manager = '\n[[demo.users]]\nemail = "f@example.com"\nname = "F"\nrole = "fleet_manager"\n'
    with pytest.raises(TenantSpecError, match="a fleet manager names their fleet account"):
        load_spec(write(tmp_path, VALID + fleet + manager))
    with pytest.raises(TenantSpecError, match="no demo fleet account named 'Havel'"):
        load_spec(write(tmp_path, VALID + fleet + manager + 'account = "Havel"\n'))
    spec = load_spec(write(tmp_path, VALID + fleet + manager + 'account = "Spree"\n'))
    assert [(u.role, u.account) for u in spec.demo.users] == [("fleet_manager", "Spree")]
