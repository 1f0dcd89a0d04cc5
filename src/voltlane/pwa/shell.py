"""The driver app's shell: hashed assets, the service worker and the offline page.

Each brand host has its own service worker whose caches are named after the brand's key
and a version. The version is a hash over the app's assets, the worker's own source, the
shell's templates and the brand's look (theme, names, logo, icons): any change installs a
new worker, which drops the old shell cache.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from voltlane.pwa import TEMPLATES
from voltlane.pwa.static_assets import APP_ASSETS, STATIC_DIR, Asset
from voltlane.tenancy.branding import Branding
from voltlane.web.brand import ICON_NAMES
from voltlane.web.context import current_tenant, web_state
from voltlane.web.templating import TEMPLATE_GLOBALS

TEMPLATE_GLOBALS["app_asset"] = APP_ASSETS.url

IMMUTABLE = "public, max-age=31536000, immutable"
# Revalidated on every use: a stale worker or shell would outlive a deploy.
REVALIDATE = "no-cache"
OFFLINE_PATH = "/offline"
STATIONS_API = "/api/app/v1/stations"
# Station pages a driver has seen are kept for offline use; nothing else of the app is.
KEEP_PAGES = ("/stations/", "/locations/")
# Not the driver app: the service worker leaves these to the network untouched.
PASS_THROUGH = (
    "/portal",
    "/api/v1/",
    "/schema",
    "/webhooks/",
    "/ocpi/",
    "/documents/",
    "/static/",
    "/healthz",
    "/metrics",
    "/sw.js",
)
BRAND_FILES = ("/brand/theme.css", "/brand/logo.svg", "/manifest.webmanifest")
SW_CONFIG_MARK = '"__VOLTLANE_SW_CONFIG__"'
SHELL_TEMPLATES = ("pwa/layout.html", "pwa/offline.html")


@lru_cache(maxsize=1)
def _code_version() -> str:
    """The worker's source and the shell's templates, hashed once per process."""
    digest = hashlib.sha256((STATIC_DIR / "sw.js").read_bytes())
    for name in SHELL_TEMPLATES:
        digest.update((TEMPLATES / name).read_bytes())
    return digest.hexdigest()


def brand_fingerprint(branding: Branding) -> str:
    """What the shell shows of the brand: names, theme tokens, logo and icons."""
    digest = hashlib.sha256(f"{branding.name}\0{branding.short_name}\0".encode())
    digest.update(branding.css.encode())
    if branding.logo_svg is not None:
        digest.update(branding.logo_svg.encode())
    for relative in ("logo.svg", *(f"icons/{name}" for name in ICON_NAMES)):
        path = branding.asset(relative)
        if path is not None:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def shell_version(branding: Branding) -> str:
    digest = hashlib.sha256(APP_ASSETS.version.encode())
    digest.update(_code_version().encode())
    digest.update(brand_fingerprint(branding).encode())
    return digest.hexdigest()[:16]


def cache_names(brand_key: str, version: str) -> dict[str, str]:
    """The brand's caches as the worker names them (the offline page reads ``data``)."""
    return {
        "shell": f"{brand_key}-shell-{version}",
        "pages": f"{brand_key}-pages-{version}",
        "data": f"{brand_key}-data",
    }


def precache_urls() -> list[str]:
    """Everything the offline shell needs, fetched when the worker installs."""
    icons = [f"/brand/icons/{name}" for name in ICON_NAMES]
    return [OFFLINE_PATH, *APP_ASSETS.urls(), *BRAND_FILES, *icons]


def service_worker(brand_key: str, brand_name: str, version: str) -> bytes:
    config = {
        "brand": brand_key,
        "name": brand_name,
        "version": version,
        "precache": precache_urls(),
        "offline": OFFLINE_PATH,
        "stationsApi": STATIONS_API,
        "keepPages": list(KEEP_PAGES),
        "passThrough": list(PASS_THROUGH),
        "icon": "/brand/icons/icon-192.png",
    }
    source = _worker_source()
    return source.replace(SW_CONFIG_MARK, json.dumps(config, separators=(",", ":"))).encode()


@lru_cache(maxsize=1)
def _worker_source() -> str:
    source = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    if source.count(SW_CONFIG_MARK) != 1:
        raise RuntimeError("sw.js must hold the configuration mark exactly once")
    return source


def _etag(value: str) -> str:
    return f'"{value}"'


def _asset_response(
    request: Request[Any, Any, Any], asset: Asset, v: str | None
) -> Response[bytes]:
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "").lower()
    etag = _etag(asset.version + ("-gz" if gzip_ok else ""))
    headers = {
        # Only the URL that names this content may be kept for a year.
        "Cache-Control": IMMUTABLE if v == asset.version else REVALIDATE,
        "ETag": etag,
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


class AppShellController(Controller):
    path = "/"
    include_in_schema = False

    @get("/assets/{name:path}")
    async def asset(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        v: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        found = APP_ASSETS.get(name.lstrip("/"))
        if found is None:
            raise NotFoundException()
        return _asset_response(request, found, v)

    @get("/sw.js")
    async def worker(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = current_tenant(request)
        branding = web_state(request).themes.branding(tenant)
        body = service_worker(tenant.key, branding.short_name, shell_version(branding))
        etag = _etag(hashlib.sha256(body).hexdigest()[:32])
        headers = {
            "Cache-Control": REVALIDATE,
            "Service-Worker-Allowed": "/",
            "ETag": etag,
            "Vary": "Host",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(body, media_type="text/javascript", headers=headers)

    @get(OFFLINE_PATH)
    async def offline(self, request: Request[Any, Any, Any]) -> Response[str]:
        tenant = current_tenant(request)
        state = web_state(request)
        version = shell_version(state.themes.branding(tenant))
        return state.renderer.render(
            request,
            "pwa/offline.html",
            {"cache_names": cache_names(tenant.key, version)},
            headers={"Cache-Control": REVALIDATE},
        )
