"""Every brand host serves its own theme, logo, icons and manifest; probes serve all hosts."""

from __future__ import annotations

from tests.factories import REPO


async def test_manifest_and_theme_follow_the_brand(make_brand, client_for) -> None:
    brand = await make_brand(name="Harbour Test", theme="harbour", locale="en_GB")
    async with client_for(f"{brand.slug}.localhost") as client:
        manifest = await client.get("/manifest.webmanifest")
        css = await client.get("/brand/theme.css")
        logo = await client.get("/brand/logo.svg")
        icon = await client.get("/brand/icons/icon-512.png")
        cached = await client.get(
            "/brand/theme.css", headers={"if-none-match": css.headers["etag"]}
        )
        missing = await client.get("/brand/icons/../../theme.toml")
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.json() == {
        "name": "Harbour Test",
        "short_name": "Harbour Test",
        "id": "/",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "lang": "en-GB",
        "theme_color": "#14325c",
        "background_color": "#f4f5f7",
        "icons": [
            {"src": "/brand/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/brand/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/brand/icons/icon-maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    assert "--color-primary: #14325c;" in css.text
    assert "--radius: 6px;" in css.text
    assert logo.content == (REPO / "themes" / "harbour" / "logo.svg").read_bytes()
    assert icon.content == (REPO / "themes" / "harbour" / "icons" / "icon-512.png").read_bytes()
    assert cached.status_code == 304
    assert missing.status_code == 404


async def test_pages_link_the_brand_and_versioned_static_files(make_brand, client_for) -> None:
    brand = await make_brand(name="Aurora Test", theme="aurora")
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get("/portal/login", headers={"accept": "text/html"})
        htmx_url = page.text.split('<script src="')[1].split('"')[0]
        htmx = await client.get(htmx_url)
    assert '<span class="brand-name" data-testid="brand-name">Aurora Test</span>' in page.text
    assert '<meta name="theme-color" content="#0b6e4f">' in page.text
    assert htmx_url.startswith("/static/htmx.min.js?v=")
    assert htmx.status_code == 200
    assert 'version:"2.0.11"' in htmx.text
    assert htmx.headers["cache-control"] == "max-age=31536000, public"


async def test_healthz_checks_database_and_broker_on_any_host(client_for) -> None:
    async with client_for("127.0.0.1") as client:
        health = await client.get("/healthz")
        refused = await client.get("/portal/login")  # no brand on this host
        metrics = await client.get("/metrics")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert refused.status_code == 404
    counter = "voltlane_http_requests_total"
    # Labelled by route template, so the label set stays bounded whatever the paths.
    assert f'{counter}{{method="GET",route="/healthz",status="200"}}' in metrics.text
    assert f'{counter}{{method="GET",route="/portal/login",status="404"}}' in metrics.text


async def test_every_response_carries_a_request_id(client_for) -> None:
    async with client_for("127.0.0.1") as client:
        echoed = await client.get("/healthz", headers={"x-request-id": "probe-12345678"})
        generated = await client.get("/healthz", headers={"x-request-id": "bad id!"})
    assert echoed.headers["x-request-id"] == "probe-12345678"
    assert len(generated.headers["x-request-id"]) == 32
