"""What the e2e suite expects, read from the files the platform reads, and browser helpers."""

from __future__ import annotations

import asyncio
import base64
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from ocpp.v16 import ChargePoint
from ocpp.v16 import call as call16
from playwright.sync_api import Page
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[1]
TENANTS_DIR = REPO / "tenants"
THEMES_DIR = REPO / "themes"
ARTIFACTS = REPO / "test-artifacts" / "e2e"
RUN_LOG = ARTIFACTS / "voltlane-run.log"
SESSION_COOKIE = "vl_session"


# -- what the tenant and theme files promise ---------------------------------------------


@dataclass(frozen=True)
class StaffUser:
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class TenantFile:
    """One tenants/<file>.toml with the values a user sees derived from it."""

    path: Path
    key: str
    slug: str
    name: str
    short_name: str
    theme: str
    locale: str
    currency: str
    tokens: dict[str, str]
    logo: Path
    users: tuple[StaffUser, ...]
    location_names: tuple[str, ...]
    station_ids: tuple[str, ...]
    evse_count: int
    connector_count: int

    @property
    def primary_color(self) -> str:
        return self.tokens["color-primary"]

    @property
    def owner(self) -> StaffUser:
        owners = [u for u in self.users if u.role == "owner"]
        assert len(owners) == 1, f"{self.path.name} must declare exactly one demo owner"
        return owners[0]


def _theme_tokens(theme: str) -> dict[str, str]:
    raw = tomllib.loads((THEMES_DIR / theme / "theme.toml").read_text(encoding="utf-8"))
    return dict(raw.get("tokens", {}))


def _brand_asset(slug: str, theme: str, relative: str) -> Path:
    """The file a brand serves: tenants/<slug>/ overrides themes/<theme>/ overrides base."""
    for directory in (TENANTS_DIR / slug, THEMES_DIR / theme, THEMES_DIR / "base"):
        if (directory / relative).is_file():
            return directory / relative
    raise AssertionError(f"no {relative} for brand {slug} (theme {theme})")


def read_tenant_file(path: Path) -> TenantFile:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    brand = raw.get("brand", {})
    demo = raw.get("demo", {})
    locations = demo.get("locations", [])
    stations = [st for loc in locations for st in loc.get("stations", [])]
    evses = [evse for st in stations for evse in st.get("evses", [])]
    tokens = {
        **_theme_tokens("base"),
        **_theme_tokens(raw["theme"]),
        **brand.get("tokens", {}),
    }
    return TenantFile(
        path=path,
        key=raw["key"],
        slug=raw["slug"],
        name=raw["name"],
        short_name=brand.get("short_name") or raw["name"][:12],
        theme=raw["theme"],
        locale=raw["locale"],
        currency=raw["currency"],
        tokens=tokens,
        logo=_brand_asset(raw["slug"], raw["theme"], "logo.svg"),
        users=tuple(StaffUser(u["email"], u["name"], u["role"]) for u in demo.get("users", [])),
        location_names=tuple(loc["name"] for loc in locations),
        station_ids=tuple(st["station_id"] for st in stations),
        evse_count=len(evses),
        connector_count=sum(len(evse.get("connectors", [])) for evse in evses),
    )


def read_tenant_files() -> dict[str, TenantFile]:
    files = [read_tenant_file(p) for p in sorted(TENANTS_DIR.glob("*.toml"))]
    return {f.slug: f for f in files}


# -- browser helpers ------------------------------------------------------------------------

_FETCH_JS = """
async (path) => {
  const response = await fetch(path, {cache: "no-store"});
  const bytes = new Uint8Array(await response.arrayBuffer());
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    body: btoa(binary),
  };
}
"""


def fetch(page: Page, path: str) -> tuple[int, str, bytes]:
    """GET ``path`` from the page's own origin through the browser: status, type, body."""
    result = page.evaluate(_FETCH_JS, path)
    return result["status"], result["contentType"], base64.b64decode(result["body"])


def rgb(hex_color: str) -> str:
    """'#0b6e4f' as a browser reports a computed colour: 'rgb(11, 110, 79)'."""
    value = hex_color.removeprefix("#")
    assert len(value) == 6, f"not a #rrggbb colour: {hex_color!r}"
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({red}, {green}, {blue})"


# -- simulated chargers ---------------------------------------------------------------------

C = TypeVar("C", bound=ChargePoint)


def ocpp_now() -> str:
    """The charger's clock as OCPP 1.6 writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Connected(Generic[C]):
    charger: C
    boot_status: str  # what the platform answered to its BootNotification


@contextmanager
def connected_charger(
    ocpp_url: str,
    station_id: str,
    password: str,
    charger: type[C],
    *,
    vendor: str = "Acme",
    model: str = "AC22",
    report_available: bool = False,
) -> Iterator[Connected[C]]:
    """A real OCPP 1.6 charger of class ``charger`` connected with the URL and password the
    portal showed, booted (and, with ``report_available``, its connector 1 reported
    Available) in a thread of its own until the block ends."""
    ready = threading.Event()
    connected: list[Connected[C]] = []
    errors: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        url = urlsplit(ocpp_url)
        # The brand host resolves to this machine; connect there with the URL's path.
        token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
        async with connect(
            f"ws://127.0.0.1:{url.port}{url.path}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {token}"},
            compression=None,
        ) as ws:
            cp = charger(station_id, ws)
            task = asyncio.create_task(cp.start())
            boot = await cp.call(
                call16.BootNotification(charge_point_vendor=vendor, charge_point_model=model)
            )
            if report_available:
                await cp.call(
                    call16.StatusNotification(
                        connector_id=1,
                        error_code="NoError",
                        status="Available",
                        timestamp=ocpp_now(),
                    )
                )
            connected.append(Connected(cp, boot.status))
            ready.set()
            await stop.wait()
            task.cancel()

    def main() -> None:
        try:
            loop.run_until_complete(run())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        assert ready.wait(20), "the charger did not boot within 20 s"
        assert not errors, f"the charger failed: {errors[0]!r}"
        yield connected[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
