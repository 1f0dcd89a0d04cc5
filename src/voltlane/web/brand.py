"""Brand assets on every brand host: theme CSS, logo, icons and the web app manifest."""

from __future__ import annotations

import hashlib
import mimetypes
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from voltlane.web.context import current_tenant, web_state

ICON_NAMES = ("icon-192.png", "icon-512.png", "icon-maskable-512.png")
# Brand assets may change when a brand is restyled: cache briefly, revalidate by ETag.
BRAND_CACHE = "public, max-age=300"
UPLOADED_SVG_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


def _conditional(request: Request[Any, Any, Any], body: bytes, media_type: str) -> Response[bytes]:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": BRAND_CACHE, "Vary": "Host"}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


class BrandController(Controller):
    path = "/"
    include_in_schema = False

    @get("/brand/theme.css")
    async def theme_css(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        branding = web_state(request).themes.branding(current_tenant(request))
        return _conditional(request, branding.css.encode(), "text/css; charset=utf-8")

    @get("/brand/{name:str}")
    async def asset(self, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        if name not in {"logo.svg", "favicon.svg"}:
            raise NotFoundException()
        branding = web_state(request).themes.branding(current_tenant(request))
        if name == "logo.svg" and branding.logo_svg is not None:
            # Uploaded in the portal and checked there; opened on its own it still runs nothing.
            response = _conditional(request, branding.logo_svg.encode(), "image/svg+xml")
            response.headers["Content-Security-Policy"] = UPLOADED_SVG_POLICY
            return response
        return self._file(request, name)

    @get("/brand/icons/{name:str}")
    async def icon(self, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        if name not in ICON_NAMES:
            raise NotFoundException()
        return self._file(request, f"icons/{name}")

    def _file(self, request: Request[Any, Any, Any], relative: str) -> Response[bytes]:
        branding = web_state(request).themes.branding(current_tenant(request))
        path = branding.asset(relative)
        if path is None:
            raise NotFoundException()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return _conditional(request, path.read_bytes(), media_type)

    @get("/manifest.webmanifest")
    async def manifest(self, request: Request[Any, Any, Any]) -> Response[Any]:
        tenant = current_tenant(request)
        branding = web_state(request).themes.branding(tenant)
        body = {
            "name": tenant.name,
            "short_name": branding.short_name,
            "id": "/",
            # Opens the station list; the marker tells launches from the installed app apart.
            "start_url": "/?source=pwa",
            "scope": "/",
            "display": "standalone",
            "lang": tenant.locale.replace("_", "-"),
            "theme_color": branding.theme_color,
            "background_color": branding.background_color,
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
        return Response(
            body,
            media_type="application/manifest+json",
            headers={"Cache-Control": BRAND_CACHE, "Vary": "Host"},
        )
