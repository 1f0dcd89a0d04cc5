"""The driver app's first page, by weight: what a phone downloads to show "/" of each demo
brand (HTML, CSS, JS; images apart), as the web process serves it.

The demo brands of ``tenants/`` are provisioned and seeded for real on a throw-away database
(as ``voltlane run`` does), then the Litestar app is driven in-process over ASGI with the
headers a phone's browser sends (``Accept-Encoding: gzip, deflate, br``). Bytes are counted
as they leave the app: compressed where it compresses, headers apart.

    .venv/bin/python -m bench.pwa_page_weight
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from voltlane.app import create_app, wire
from voltlane.cli.launcher import sync_tenants
from voltlane.core.database_url import drop_database, ensure_database
from voltlane.core.db import sync_engine
from voltlane.core.pgserver import EmbeddedPostgres
from voltlane.settings import load_settings
from voltlane.tenancy.migrations import upgrade_platform

REPO = Path(__file__).resolve().parents[1]
DEMO_PASSWORD = "bench-demo-password"
PHONE = {
    "accept": "text/html,application/xhtml+xml,*/*;q=0.8",
    "accept-encoding": "gzip, deflate, br",
    "user-agent": "Mozilla/5.0 (Linux; Android 14) Mobile",
}
STYLESHEET_RE = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
SCRIPT_RE = re.compile(r'<script src="([^"]+)"')
IMAGE_RE = re.compile(r'<img src="([^"]+)"')
PRECACHE_RE = re.compile(r'"precache":\[([^\]]*)\]')
DECODERS = {"identity": lambda raw: raw, "gzip": gzip.decompress}


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    sent: int  # body bytes as transferred
    decoded: int  # body bytes after content decoding
    encoding: str
    cache_control: str
    etag: str | None


async def get(
    client: httpx.AsyncClient, host: str, url: str, extra: dict[str, str] | None = None
) -> tuple[Fetched, bytes]:
    headers = {**PHONE, "host": host, **(extra or {})}
    async with client.stream("GET", url, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    encoding = response.headers.get("content-encoding", "identity")
    if encoding not in DECODERS:
        raise SystemExit(f"{url}: unexpected content encoding {encoding}")
    body = DECODERS[encoding](raw)
    return (
        Fetched(
            url=url,
            status=response.status_code,
            sent=len(raw),
            decoded=len(body),
            encoding=encoding,
            cache_control=response.headers.get("cache-control", ""),
            etag=response.headers.get("etag"),
        ),
        body,
    )


def kib(size: int) -> str:
    return f"{size / 1024:.1f}"


async def weigh(url: str) -> None:
    data_dir = Path("/tmp") / f"voltlane-bench-data-{uuid.uuid4().hex[:8]}"
    settings = replace(load_settings(), database_url=url, demo=True, data_dir=data_dir)
    wire(settings, demo_password=DEMO_PASSWORD)
    brands, failures = await sync_tenants(settings, url)
    if failures:
        raise SystemExit(f"demo brands could not be provisioned: {failures}")
    app = create_app(settings, database_url=url, demo_password=DEMO_PASSWORD)
    transport = httpx.ASGITransport(app=app)
    print("| brand | part | requests | transferred KiB | decoded KiB |")
    print("|---|---|---|---|---|")
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            for brand in sorted(brands, key=lambda b: b.slug):
                await weigh_brand(client, f"{brand.slug}.localhost", brand.name)
    finally:
        await app.state["web"].database.dispose()


async def weigh_brand(client: httpx.AsyncClient, host: str, name: str) -> None:
    page, html = await get(client, host, "/")
    text = html.decode()
    css = [(await get(client, host, u))[0] for u in STYLESHEET_RE.findall(text)]
    js = [(await get(client, host, u))[0] for u in SCRIPT_RE.findall(text)]
    images = [(await get(client, host, u))[0] for u in IMAGE_RE.findall(text)]
    first = [page, *css, *js]
    # A second visit: the hashed files are kept for a year, the rest is revalidated.
    again = [(await get(client, host, "/"))[0]]
    for fetched in (*css, *js):
        if "immutable" not in fetched.cache_control and fetched.etag:
            revalidated, _ = await get(client, host, fetched.url, {"if-none-match": fetched.etag})
            again.append(revalidated)
    worker, source = await get(client, host, "/sw.js")
    listed = PRECACHE_RE.search(source.decode())
    precache = listed.group(1).replace('"', "").split(",") if listed else []
    installed = [worker, *[(await get(client, host, u))[0] for u in precache]]
    rows = [
        ("HTML `/`", [page]),
        ("CSS", css),
        ("JS", js),
        ("first visit: HTML + CSS + JS", first),
        ("images (logo)", images),
        ("second visit (hashed files cached)", again),
        ("service worker install, in the background", installed),
    ]
    for label, fetched in rows:
        sent = sum(f.sent for f in fetched)
        decoded = sum(f.decoded for f in fetched)
        print(f"| {name} | {label} | {len(fetched)} | {kib(sent)} | {kib(decoded)} |")
    for fetched in (page, *css, *js):
        print(
            f"| {name} | {fetched.url.split('?')[0]} ({fetched.encoding}, "
            f"{fetched.cache_control or 'no cache header'}) | 1 | {kib(fetched.sent)} | "
            f"{kib(fetched.decoded)} |"
        )


def main() -> None:
    os.environ.setdefault("VOLTLANE_SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("VOLTLANE_LOG_LEVEL", "ERROR")
    configured = os.environ.get("VOLTLANE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    server = None
    if configured:
        server_url = (
            make_url(configured).set(database="postgres").render_as_string(hide_password=False)
        )
    else:
        root = Path("/tmp") / f"voltlane-bench-{uuid.uuid4().hex[:8]}"
        root.mkdir(mode=0o755)
        server = EmbeddedPostgres(root / "pg", fast=True)
        server_url = server.start()
    name = f"voltlane_bench_{uuid.uuid4().hex[:8]}"
    ensure_database(server_url, name)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = sync_engine(url, poolclass=NullPool)
        upgrade_platform(engine, REPO / "migrations")
        engine.dispose()
        asyncio.run(weigh(url))
    finally:
        drop_database(server_url, name)
        if server is not None:
            server.destroy()


if __name__ == "__main__":
    main()
