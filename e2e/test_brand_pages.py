"""Every demo brand is dressed in its own name, colours, logo and web app manifest."""

from __future__ import annotations

import json
import struct
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from e2e.support import ARTIFACTS, TenantFile, fetch, rgb

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The sign-in button in each demo brand's default language.
SIGN_IN = {"de": "Anmelden", "en": "Sign in"}


def test_demo_manifest_describes_every_tenant_file(
    demo: dict[str, Any],
    tenant_files: dict[str, TenantFile],
    demo_password: str,
    external_database_url: str | None,
) -> None:
    port = urlsplit(demo["web_url"]).port
    assert demo["database"] == ("embedded" if external_database_url is None else "external")
    assert sorted(b["slug"] for b in demo["brands"]) == sorted(tenant_files)
    for brand in demo["brands"]:
        expected = tenant_files[brand["slug"]]
        assert brand["key"] == expected.key
        assert brand["name"] == expected.name
        assert brand["theme"] == expected.theme
        assert brand["locale"] == expected.locale
        assert brand["currency"] == expected.currency
        assert brand["portal_url"] == f"http://{expected.slug}.localhost:{port}/portal/"
        assert brand["driver_url"] == f"http://{expected.slug}.localhost:{port}/"
        assert brand["logins"] == [
            {"email": u.email, "password": demo_password, "role": u.role} for u in expected.users
        ]


def test_login_page_wears_its_brand(page: Page, brand: dict[str, Any], tenant: TenantFile) -> None:
    response = page.goto(brand["portal_url"] + "login")
    assert response is not None
    assert response.status == 200

    assert page.locator("[data-testid=brand-name]").inner_text() == tenant.name
    sign_in = SIGN_IN[tenant.locale.split("_")[0]]
    assert page.locator("html").get_attribute("lang") == tenant.locale.split("_")[0]
    assert page.title() == f"{sign_in} · {tenant.name}"
    assert page.locator("meta[name=theme-color]").get_attribute("content") == tenant.primary_color

    # The theme's tokens, with the brand's own overrides, arrive as CSS custom properties
    # and colour the primary button.
    root_tokens = page.evaluate(
        """names => {
          const style = getComputedStyle(document.documentElement);
          return Object.fromEntries(
            names.map(name => [name, style.getPropertyValue("--" + name).trim()]));
        }""",
        sorted(tenant.tokens),
    )
    assert root_tokens == tenant.tokens
    button = page.locator("form[action='/portal/login'] button.primary")
    assert button.inner_text() == sign_in
    background = button.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == rgb(tenant.primary_color)

    # The brand's logo loaded and is the brand's file.
    logo = page.locator(".brand-mark img")
    assert logo.get_attribute("src") == "/brand/logo.svg"
    assert logo.evaluate("img => img.complete && img.naturalWidth") > 0
    status, content_type, body = fetch(page, "/brand/logo.svg")
    assert (status, content_type) == (200, "image/svg+xml")
    assert body == tenant.logo.read_bytes()

    page.screenshot(path=ARTIFACTS / f"{tenant.slug}-login.png", full_page=True)


def test_brand_logos_differ(page: Page, demo: dict[str, Any]) -> None:
    logos: dict[str, bytes] = {}
    for brand in demo["brands"]:
        page.goto(brand["portal_url"] + "login")
        status, _content_type, body = fetch(page, "/brand/logo.svg")
        assert status == 200
        logos[brand["slug"]] = body
    assert len(set(logos.values())) == len(logos), "two brands serve the same logo"


def test_web_app_manifest_and_icon(page: Page, brand: dict[str, Any], tenant: TenantFile) -> None:
    page.goto(brand["driver_url"])
    assert page.locator("link[rel=manifest]").get_attribute("href") == "/manifest.webmanifest"

    status, content_type, body = fetch(page, "/manifest.webmanifest")
    assert (status, content_type) == (200, "application/manifest+json")
    manifest = json.loads(body)
    assert manifest["name"] == tenant.name
    assert manifest["short_name"] == tenant.short_name
    assert manifest["theme_color"] == tenant.primary_color
    assert manifest["background_color"] == tenant.tokens["color-background"]
    assert manifest["lang"] == tenant.locale.replace("_", "-")
    assert manifest["start_url"] == "/?source=pwa"
    icon = next(i for i in manifest["icons"] if i["sizes"] == "192x192")
    assert icon["src"] == "/brand/icons/icon-192.png"

    status, content_type, png = fetch(page, icon["src"])
    assert (status, content_type) == (200, "image/png")
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (192, 192)
