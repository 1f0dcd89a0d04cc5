"""The driver app's shell: one hashed stylesheet, hashed scripts, the brand's service worker,
the offline page, an installable manifest, and colours every theme can read."""

from __future__ import annotations

import gzip
import json
import re
import tomllib
from pathlib import Path

from tests.factories import REPO
from voltlane.pwa.shell import shell_version
from voltlane.pwa.static_assets import APP_ASSETS, AppAssets, stylesheet_parts
from voltlane.tenancy.branding import Branding, ThemeCatalog

HTML = {"accept": "text/html"}
STYLESHEET_RE = re.compile(r'<link rel="stylesheet" href="(/assets/app\.css\?v=[0-9a-f]{12})">')
SW_CONFIG_RE = re.compile(r"const CONFIG = (\{.*?\});\n")
IMMUTABLE = "public, max-age=31536000, immutable"


def worker_config(source: str) -> dict[str, object]:
    match = SW_CONFIG_RE.search(source)
    assert match is not None, "the worker carries no configuration"
    config: dict[str, object] = json.loads(match.group(1))
    return config


async def test_an_app_page_links_one_hashed_stylesheet_htmx_and_registers_the_worker(
    make_brand, client_for
) -> None:
    brand = await make_brand(name="Shell Test", theme="harbour", locale="en_GB")
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get("/", headers=HTML)
    css_url = APP_ASSETS.url("app.css")
    assert page.status_code == 200
    assert STYLESHEET_RE.findall(page.text) == [css_url]
    assert page.text.count('rel="stylesheet"') == 2  # the brand's tokens and the app's CSS
    assert '<link rel="stylesheet" href="/brand/theme.css">' in page.text
    assert "voltlane.css" not in page.text  # the portal's stylesheet stays in the portal
    assert f'<script src="{APP_ASSETS.url("htmx.min.js")}" defer></script>' in page.text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page.text
    assert '<link rel="apple-touch-icon" href="/brand/icons/icon-192.png">' in page.text
    assert '<meta name="theme-color" content="#14325c">' in page.text
    assert 'navigator.serviceWorker.register("/sw.js")' in page.text
    assert '<span class="brand-name" data-testid="brand-name">Shell Test</span>' in page.text


async def test_the_stylesheet_is_every_part_gzipped_under_an_immutable_hashed_url(
    make_brand, client_for
) -> None:
    brand = await make_brand()
    asset = APP_ASSETS.get("app.css")
    assert asset is not None
    async with client_for(f"{brand.slug}.localhost") as client:
        hashed = await client.get(asset.url, headers={"accept-encoding": "gzip"})
        plain = await client.get(asset.url, headers={"accept-encoding": "identity"})
        again = await client.get(
            asset.url,
            headers={"accept-encoding": "gzip", "if-none-match": hashed.headers["etag"]},
        )
        unversioned = await client.get("/assets/app.css", headers={"accept-encoding": "gzip"})
        stale = await client.get("/assets/app.css?v=000000000000")
    assert hashed.status_code == 200
    assert hashed.headers["content-type"] == "text/css; charset=utf-8"
    assert hashed.headers["content-encoding"] == "gzip"
    assert hashed.headers["cache-control"] == IMMUTABLE
    assert hashed.headers["etag"] == f'"{asset.version}-gz"'
    assert hashed.headers["vary"] == "Accept-Encoding"
    assert hashed.content == asset.body  # decoded by the client
    assert int(hashed.headers["content-length"]) == len(asset.gzipped) < len(asset.body) / 2
    assert "content-encoding" not in plain.headers
    assert plain.content == asset.body
    assert plain.headers["etag"] == f'"{asset.version}"'
    assert again.status_code == 304
    assert again.content == b""
    assert unversioned.headers["cache-control"] == "no-cache"
    assert unversioned.content == asset.body
    assert stale.headers["cache-control"] == "no-cache"
    # Every part of the app's stylesheet, app.css first.
    parts = stylesheet_parts()
    assert parts[0].name == "app.css"
    assert [line for line in asset.body.decode().splitlines() if line.startswith("/* ")] == [
        f"/* {p.name} */" for p in parts
    ]
    assert ".tabbar{" not in asset.body.decode()  # kept readable, only comments stripped
    assert ".tabbar {" in asset.body.decode()


async def test_scripts_and_htmx_are_served_hashed_and_unknown_names_are_not(
    make_brand, client_for
) -> None:
    brand = await make_brand()
    push_js = APP_ASSETS.get("js/push.js")
    htmx = APP_ASSETS.get("htmx.min.js")
    assert push_js is not None
    assert htmx is not None
    async with client_for(f"{brand.slug}.localhost") as client:
        script = await client.get(push_js.url)
        vendored = await client.get(htmx.url, headers={"accept-encoding": "gzip"})
        missing = await client.get("/assets/js/nothing.js")
        escape = await client.get("/assets/js/../../static_assets.py")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == IMMUTABLE
    assert script.content == (REPO / "src/voltlane/pwa/static/js/push.js").read_bytes()
    assert vendored.content == (REPO / "src/voltlane/web/static/htmx.min.js").read_bytes()
    assert vendored.headers["content-encoding"] == "gzip"
    assert missing.status_code == 404
    assert escape.status_code == 404


def test_the_stylesheet_joins_the_parts_in_a_stable_order_once_per_process(tmp_path: Path) -> None:
    css, js = tmp_path / "css", tmp_path / "js"
    css.mkdir()
    js.mkdir()
    (css / "wallet.css").write_text(".wallet {\n  color: red; /* why */\n}\n")
    (css / "charge.css").write_text("/* the live screen */\n.live { gap: 1rem; }\n")
    (css / "app.css").write_text("body {\n  margin: 0;\n}\n")
    (js / "push.js").write_text("window.x = 1;\n")
    assets = AppAssets(css, js, vendor={})
    first = assets.get("app.css")
    assert first is not None
    assert first.body.decode() == (
        "/* app.css */\nbody {\nmargin: 0;\n}\n"
        "/* charge.css */\n.live { gap: 1rem; }\n"
        "/* wallet.css */\n.wallet {\ncolor: red;\n}\n"
    )
    assert gzip.decompress(first.gzipped) == first.body
    assert assets.urls() == [first.url, assets.url("js/push.js")]
    version = assets.version
    # Built once: a part edited later shows after the next start, under a new hash.
    (css / "charge.css").write_text(".live { gap: 2rem; }\n")
    assert assets.get("app.css") == first
    restarted = AppAssets(css, js, vendor={})
    assert restarted.url("app.css") != first.url
    assert restarted.version != version


async def test_each_brand_gets_its_own_service_worker_and_caches(make_brand, client_for) -> None:
    harbour = await make_brand(name="Harbour SW", theme="harbour")
    aurora = await make_brand(name="Aurora SW", theme="aurora")
    async with client_for(f"{harbour.slug}.localhost") as client:
        worker = await client.get("/sw.js")
        cached = await client.get("/sw.js", headers={"if-none-match": worker.headers["etag"]})
        precached = {url: await client.get(url) for url in worker_config(worker.text)["precache"]}  # type: ignore[union-attr]
    async with client_for(f"{aurora.slug}.localhost") as client:
        other = await client.get("/sw.js")
    async with client_for("nobody.localhost") as client:
        unknown = await client.get("/sw.js")

    assert worker.status_code == 200
    assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
    assert worker.headers["service-worker-allowed"] == "/"
    assert worker.headers["cache-control"] == "no-cache"
    assert cached.status_code == 304
    config = worker_config(worker.text)
    version = config["version"]
    assert isinstance(version, str)
    assert len(version) == 16
    assert config["brand"] == harbour.key
    assert config["name"] == "Harbour SW"
    # Every script of the app is in APP_ASSETS.urls(), push.js among them.
    assert APP_ASSETS.url("js/push.js") in APP_ASSETS.urls()
    assert config["precache"] == [
        "/offline",
        *APP_ASSETS.urls(),
        "/brand/theme.css",
        "/brand/logo.svg",
        "/manifest.webmanifest",
        "/brand/icons/icon-192.png",
        "/brand/icons/icon-512.png",
        "/brand/icons/icon-maskable-512.png",
    ]
    assert {url: r.status_code for url, r in precached.items()} == dict.fromkeys(precached, 200)
    assert config["offline"] == "/offline"
    assert config["stationsApi"] == "/api/app/v1/stations"
    assert "/portal" in config["passThrough"]  # type: ignore[operator]
    # Another brand: its own key and caches, a version of its own look.
    other_config = worker_config(other.text)
    assert other_config["brand"] == aurora.key
    assert other_config["version"] != version
    assert harbour.key not in other.text
    assert unknown.status_code == 404


def probe_branding(theme: str, short_name: str = "Probe") -> Branding:
    catalog = ThemeCatalog(REPO / "themes", REPO / "tenants")
    base, chosen = catalog.theme("base"), catalog.theme(theme)
    return Branding(
        slug="probe",
        name="Probe",
        short_name=short_name,
        theme=theme,
        locale="en_GB",
        tokens={**base.tokens, **chosen.tokens},
        asset_dirs=(chosen.directory, base.directory),
        template_dirs=(),
    )


def test_the_worker_version_changes_with_the_brands_look() -> None:
    versions = {shell_version(probe_branding(theme)) for theme in ("base", "aurora", "harbour")}
    assert len(versions) == 3
    assert shell_version(probe_branding("aurora")) == shell_version(probe_branding("aurora"))
    renamed = probe_branding("aurora", short_name="Renamed")
    assert shell_version(renamed) != shell_version(probe_branding("aurora"))


async def test_the_offline_page_is_in_the_brands_theme_and_language(make_brand, client_for) -> None:
    english = await make_brand(name="Offline Ltd", theme="harbour", locale="en_GB")
    german = await make_brand(name="Offline GmbH", theme="aurora", locale="de_DE")
    async with client_for(f"{english.slug}.localhost") as client:
        page = await client.get("/offline", headers=HTML)
        worker = await client.get("/sw.js")
    async with client_for(f"{german.slug}.localhost") as client:
        german_page = await client.get("/offline", headers=HTML)
    version = worker_config(worker.text)["version"]
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert '<html lang="en">' in page.text
    assert "<title>Offline · Offline Ltd</title>" in page.text
    assert (
        '<p class="banner banner-info" role="status" data-testid="offline-banner">'
        "You are offline. Your last station list is below.</p>"
    ) in page.text
    assert f'data-cache="{english.key}-data"' in page.text
    assert APP_ASSETS.url("app.css") in page.text
    assert '<meta name="theme-color" content="#14325c">' in page.text
    assert isinstance(version, str)
    assert german_page.status_code == 200
    assert '<html lang="de">' in german_page.text
    assert '<meta name="theme-color" content="#0b6e4f">' in german_page.text
    assert f'data-cache="{german.key}-data"' in german_page.text


async def test_the_manifest_meets_chromiums_installability_criteria(make_brand, client_for) -> None:
    brand = await make_brand(name="Install Test", theme="aurora", locale="de_DE")
    async with client_for(f"{brand.slug}.localhost") as client:
        manifest = (await client.get("/manifest.webmanifest")).json()
        icons = {i["src"]: await client.get(i["src"]) for i in manifest["icons"]}
    assert manifest["name"] == "Install Test"
    assert manifest["short_name"] == "Install Test"
    assert manifest["id"] == "/"
    assert manifest["start_url"] == "/?source=pwa"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0b6e4f"
    assert manifest["background_color"] == "#f3f7f4"
    assert [(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]] == [
        ("192x192", "any"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    ]
    assert {
        src: (r.status_code, r.headers["content-type"]) for src, r in icons.items()
    } == dict.fromkeys(icons, (200, "image/png"))


def _luminance(colour: str) -> float:
    value = colour.removeprefix("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_theme_and_demo_brand_keeps_the_apps_text_readable() -> None:
    # The pairs app.css draws text with: WCAG AA for normal text is 4.5:1.
    pairs = [
        (fg, bg)
        for fg in ("color-text", "color-muted", "color-danger")
        for bg in ("color-background", "color-surface")
    ] + [("color-on-primary", "color-primary")]
    base = tomllib.loads((REPO / "themes/base/theme.toml").read_text())["tokens"]
    palettes = {}
    for theme_file in sorted((REPO / "themes").glob("*/theme.toml")):
        palettes[theme_file.parent.name] = {
            **base,
            **tomllib.loads(theme_file.read_text())["tokens"],
        }
    for tenant_file in sorted((REPO / "tenants").glob("*.toml")):
        raw = tomllib.loads(tenant_file.read_text())
        palettes[tenant_file.stem] = {
            **palettes[raw["theme"]],
            **raw.get("brand", {}).get("tokens", {}),
        }
    low = {
        (name, fg, bg): round(contrast(tokens[fg], tokens[bg]), 2)
        for name, tokens in palettes.items()
        for fg, bg in pairs
        if contrast(tokens[fg], tokens[bg]) < 4.5
    }
    assert low == {}
    assert sorted(palettes) == ["aurora", "base", "harbour", "harbour-charge", "voltaria"]
