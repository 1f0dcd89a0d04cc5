"""Each demo brand's driver app installs on a phone and keeps working offline.

Chromium (a real profile, not an incognito one, which is never installable) opens the app
at a phone's size: the manifest carries the brand's name and colours, Chromium reports no
installability error, the brand's service worker activates and takes the page; offline, a
reload of "/" shows the offline shell in the brand's colours and language with the station
list the phone saw last. Nothing of the account, charging or payment pages is cached.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PAGE_TIMEOUT_MS
from e2e.support import ARTIFACTS, TenantFile, fetch, rgb
from voltlane.web.i18n import translations

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
OFFLINE_SENTENCE = "You are offline. Your last station list is below."

_CACHED_URLS = """
async (brandKey) => {
  const urls = [];
  for (const name of await caches.keys()) {
    if (!name.startsWith(brandKey + "-")) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      urls.push(url.pathname + url.search);
    }
  }
  return urls.sort();
}
"""

_WORKER_STATE = """
async () => {
  const registration = await navigator.serviceWorker.ready;
  return {
    scope: new URL(registration.scope).pathname,
    script: new URL(registration.active.scriptURL).pathname,
    state: registration.active.state,
    controlled: navigator.serviceWorker.controller !== null,
  };
}
"""


@pytest.fixture
def phone(playwright: Playwright) -> Iterator[BrowserContext]:
    """A phone-sized Chromium with a profile of its own on disk (installable, unlike an
    incognito context)."""
    profile = Path(tempfile.mkdtemp(prefix="voltlane-pwa-profile-"))
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        viewport=PHONE,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def _wait_for_saved_station_list(page: Page, brand_key: str) -> None:
    page.wait_for_function(
        """async (key) => {
          const cache = await caches.open(key + "-data");
          return (await cache.match("/", {ignoreVary: true})) !== undefined;
        }""",
        arg=brand_key,
    )


def test_the_app_installs_and_shows_the_last_station_list_offline(
    phone: BrowserContext, brand: dict[str, Any], tenant: TenantFile
) -> None:
    errors: list[str] = []
    page = phone.pages[0] if phone.pages else phone.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(brand["driver_url"])
    assert response is not None
    assert response.status == 200

    # The brand's manifest, and Chromium's own verdict on it.
    status, content_type, body = fetch(page, "/manifest.webmanifest")
    manifest = json.loads(body)
    assert (status, content_type) == (200, "application/manifest+json")
    assert (manifest["name"], manifest["short_name"]) == (tenant.name, tenant.short_name)
    assert manifest["theme_color"] == tenant.primary_color
    assert manifest["background_color"] == tenant.tokens["color-background"]
    assert manifest["start_url"] == "/?source=pwa"
    assert page.locator("meta[name=theme-color]").get_attribute("content") == tenant.primary_color
    cdp = phone.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors") == {"installabilityErrors": []}
    app_manifest = cdp.send("Page.getAppManifest")
    assert app_manifest["errors"] == []
    assert app_manifest["url"].endswith("/manifest.webmanifest")

    # The brand's worker activates and controls the app.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    worker = page.evaluate(_WORKER_STATE)
    assert worker == {"scope": "/", "script": "/sw.js", "state": "activated", "controlled": True}

    # Seen once through the worker, the station list is kept.
    page.reload()
    _wait_for_saved_station_list(page, tenant.key)
    online_names = page.locator(".location-card h2").all_inner_texts()
    assert set(tenant.location_names) <= set(online_names)
    page.screenshot(path=ARTIFACTS / f"{tenant.slug}-pwa-online.png", full_page=True)

    # Pages the worker must never keep: account, charging and payment.
    for path in ("/account", "/charge", "/account/payment-methods"):
        page.goto(brand["driver_url"].rstrip("/") + path)
    page.goto(brand["driver_url"])
    cached = page.evaluate(_CACHED_URLS, tenant.key)
    assert "/" in cached
    assert not [u for u in cached if u.startswith(("/account", "/charge", "/api/app/v1/push"))]

    phone.set_offline(True)
    try:
        page.reload()
        banner = page.get_by_test_id("offline-banner")
        sentence = translations(tenant.locale).gettext(OFFLINE_SENTENCE)
        assert banner.inner_text() == sentence
        assert page.locator("html").get_attribute("lang") == tenant.locale.split("_")[0]
        shown = page.get_by_test_id("offline-stations")
        shown.locator(".location-card").first.wait_for()
        assert shown.locator(".location-card h2").all_inner_texts() == online_names
        # In the brand's colours: the app bar and the brand's name, from the shell's cache.
        appbar = page.locator(".appbar")
        assert appbar.evaluate("el => getComputedStyle(el).backgroundColor") == rgb(
            tenant.primary_color
        )
        assert page.get_by_test_id("brand-name").inner_text() == tenant.short_name
        page.screenshot(path=ARTIFACTS / f"{tenant.slug}-pwa-offline.png", full_page=True)
    finally:
        phone.set_offline(False)
    assert errors == []
