"""``tenants/<slug>.toml``: the declarative description of a brand.

Everything here is non-secret. Secrets (PSP keys, SMTP passwords, OCPI tokens) come from
the environment, never from these files.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from babel import Locale, UnknownLocaleError

from voltlane.core.db import TENANT_KEY_RE
from voltlane.models.tenant import ConnectorFormat, ConnectorStandard, PowerType

SLUG_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

Role = Literal["owner", "admin", "operations", "finance", "support", "read_only", "fleet_manager"]


class TenantSpecError(ValueError):
    """A tenant file is invalid; the message names the file and the field."""


class Brand(msgspec.Struct, forbid_unknown_fields=True):
    short_name: Annotated[str, msgspec.Meta(min_length=1, max_length=12)] | None = None
    tokens: dict[str, str] = {}


class Legal(msgspec.Struct, forbid_unknown_fields=True):
    """The seller on every receipt and invoice of the brand."""

    entity: str
    address: str  # one line, as printed in page footers
    vat_id: str | None = None
    registration: str | None = None
    # The address again in parts, for e-invoices (EN 16931 BG-5).
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] | None = None
    email: str | None = None
    # Where fleet customers pay their invoices (SEPA credit transfer).
    iban: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")] | None = None
    bic: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")] | None = None


class Loyalty(msgspec.Struct, forbid_unknown_fields=True):
    """Points a driver earns per kWh and redeems as a discount on later sessions."""

    points_per_kwh: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    # What a point is worth, excl. VAT, in the brand's currency (a decimal string).
    point_value: Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]*)(\.[0-9]{1,6})?$")]
    min_redeem: Annotated[int, msgspec.Meta(ge=1)] = 100


class Ocpi(msgspec.Struct, forbid_unknown_fields=True):
    country_code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
    party_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{3}$")]


class OcppSettings(msgspec.Struct, forbid_unknown_fields=True):
    # Profile-3 station certificates must carry this organizationName (O); default: the
    # brand's name. Together with CN = station id it ties a certificate to one brand.
    certificate_organization: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = (
        None
    )


class Payments(msgspec.Struct, forbid_unknown_fields=True):
    provider: Literal["stripe", "adyen"]
    # Dunning: a failed payment is charged again on the stored payment method after each of
    # these numbers of days; after ``block_after`` failed retries the driver's card is blocked.
    retry_days: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1, le=60)]], msgspec.Meta(min_length=1, max_length=10)
    ] = msgspec.field(default_factory=lambda: [1, 3, 7])
    block_after: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3


class MailSettings(msgspec.Struct, forbid_unknown_fields=True):
    """How the brand's e-mails leave. The SMTP URL holds a password, so the file names only
    the environment variable that has it; without one the platform's VOLTLANE_SMTP_URL is
    used."""

    sender: str | None = None  # the From address; default the [legal] e-mail
    smtp_env: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{2,63}$")] | None = None


class OidcProvider(msgspec.Struct, forbid_unknown_fields=True):
    """An OpenID Connect provider drivers may sign in with; its client secret comes from the
    environment variable ``secret_env``."""

    key: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]  # the button's label
    issuer: Annotated[str, msgspec.Meta(pattern=r"^https?://")]
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    secret_env: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{2,63}$")]


class DriverApp(msgspec.Struct, forbid_unknown_fields=True):
    """The driver app (PWA): map tiles, the hold placed before a charge, sign-in providers."""

    # An OpenStreetMap-compatible tile URL template ({z}/{x}/{y}); none: the list only.
    map_tiles: Annotated[str, msgspec.Meta(pattern=r"^https?://.*\{z\}.*\{x\}.*\{y\}")] | None = (
        None
    )
    map_attribution: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    # Minor units of the brand's currency reserved on the driver's card before a start.
    pre_authorization: Annotated[int, msgspec.Meta(ge=100, le=100_000)] = 5000
    oidc: list[OidcProvider] = []


class DemoUser(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    name: str
    role: Role
    account: str | None = None  # a fleet manager's demo fleet account, by name


class DemoConnector(msgspec.Struct, forbid_unknown_fields=True):
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: Annotated[int, msgspec.Meta(gt=0)]
    max_amperage: Annotated[int, msgspec.Meta(gt=0)]
    max_electric_power: Annotated[int, msgspec.Meta(gt=0)] | None = None


class DemoEvse(msgspec.Struct, forbid_unknown_fields=True):
    connectors: Annotated[list[DemoConnector], msgspec.Meta(min_length=1)]
    emi3_id: str | None = None
    physical_reference: str | None = None


class DemoStation(msgspec.Struct, forbid_unknown_fields=True):
    station_id: str
    evses: Annotated[list[DemoEvse], msgspec.Meta(min_length=1)]
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    security_profile: Literal[1, 2, 3] = 2
    # Set for the stations a simulator is meant to play: the version it speaks.
    protocol: Literal["ocpp1.6", "ocpp2.0.1", "ocpp2.1"] | None = None


class DemoLocation(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    address: str
    city: str
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    timezone: str
    postal_code: str | None = None
    opening_hours: dict[str, Any] = msgspec.field(default_factory=lambda: {"twentyfourseven": True})
    stations: list[DemoStation] = []


class DemoAccount(msgspec.Struct, forbid_unknown_fields=True):
    """A demo customer account (a fleet with monthly invoices, or a driver)."""

    name: str
    kind: Literal["driver", "fleet"]
    locale: str
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
    invoicing: Literal["per_session", "monthly"] = "per_session"
    email: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    vat_id: str | None = None
    buyer_reference: str | None = None
    payment_terms_days: int = 14


class DemoIdToken(msgspec.Struct, forbid_unknown_fields=True):
    id_token: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    type: Literal["ISO14443", "ISO15693", "Central", "eMAID", "KeyCode", "Local"] = "ISO14443"
    label: str | None = None
    account: str | None = None  # the name of a demo account its sessions are billed to
    driver_name: str | None = None
    vehicle: str | None = None
    cost_centre: str | None = None


class DemoDriver(msgspec.Struct, forbid_unknown_fields=True):
    """A driver who signs in to the demo app with the shared demo password (address
    confirmed), billed to a demo driver account."""

    email: str
    account: str  # the name of a demo account of kind "driver"


class DemoTariff(msgspec.Struct, forbid_unknown_fields=True):
    """A tariff version the demo brand prices all its sessions with (checked when seeded)."""

    definition: dict[str, Any]  # an OCPI 2.2.1 Tariff; "id" is the tariff code
    segment: Literal["PUBLIC", "MEMBER", "SUBSCRIPTION", "FLEET", "ROAMING"] = "PUBLIC"
    idle_fee: dict[str, Any] | None = None


class DemoSiteEvse(msgspec.Struct, forbid_unknown_fields=True):
    """An EVSE of a demo station under a demo site."""

    station_id: str
    evse_id: Annotated[int, msgspec.Meta(ge=1)] = 1
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    phases: Annotated[str, msgspec.Meta(pattern=r"^[123]{1,3}$")] = "123"


class DemoSite(msgspec.Struct, forbid_unknown_fields=True):
    """A smart charging site (one grid connection) over demo stations; currents in whole
    amperes per phase."""

    name: str
    capacity_a: Annotated[int, msgspec.Meta(gt=0)]
    safe_limit_a: Annotated[int, msgspec.Meta(gt=0)]
    evses: Annotated[list[DemoSiteEvse], msgspec.Meta(min_length=1)]
    location: str | None = None  # a demo location's name: the site's timezone
    phases: Literal[1, 3] = 3
    min_current_a: Annotated[int, msgspec.Meta(gt=0)] = 6
    allocation_period_s: Annotated[int, msgspec.Meta(gt=0)] = 60
    discharge_limit_a: Annotated[int, msgspec.Meta(ge=0)] | None = None


class Demo(msgspec.Struct, forbid_unknown_fields=True):
    users: list[DemoUser] = []
    locations: list[DemoLocation] = []
    id_tokens: list[DemoIdToken] = []
    tariffs: list[DemoTariff] = []
    accounts: list[DemoAccount] = []
    drivers: list[DemoDriver] = []
    sites: list[DemoSite] = []


class TenantSpec(msgspec.Struct, forbid_unknown_fields=True):
    """A brand as its tenant file describes it."""

    key: str
    slug: str
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    theme: str
    locale: str
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    timezone: str
    domains: list[str] = []
    locales: list[str] = []
    brand: Brand = msgspec.field(default_factory=Brand)
    legal: Legal | None = None
    ocpi: Ocpi | None = None
    ocpp: OcppSettings | None = None
    payments: Payments | None = None
    loyalty: Loyalty | None = None
    mail: MailSettings | None = None
    app: DriverApp = msgspec.field(default_factory=DriverApp)
    features: dict[str, bool] = {}
    demo: Demo = msgspec.field(default_factory=Demo)

    def profile(self) -> dict[str, Any]:
        """The non-secret brand profile stored on the platform row."""
        return {
            "short_name": self.brand.short_name or self.name[:12],
            "tokens": dict(self.brand.tokens),
            "locales": self.locales or [self.locale],
            "legal": msgspec.to_builtins(self.legal) if self.legal else None,
            "ocpi": msgspec.to_builtins(self.ocpi) if self.ocpi else None,
            "payments": msgspec.to_builtins(self.payments) if self.payments else None,
            "loyalty": msgspec.to_builtins(self.loyalty) if self.loyalty else None,
            "ocpp": msgspec.to_builtins(self.ocpp) if self.ocpp else None,
            "mail": msgspec.to_builtins(self.mail) if self.mail else None,
            "app": msgspec.to_builtins(self.app),
        }


def validate_spec(spec: TenantSpec, *, themes_dir: Path | None = None) -> TenantSpec:
    """Check what msgspec cannot: key/slug/host syntax, timezone, locales, theme, colours."""
    if not TENANT_KEY_RE.fullmatch(spec.key):
        raise TenantSpecError(f"key {spec.key!r} must match ^[a-z0-9]{{4,32}}$")
    if not SLUG_RE.fullmatch(spec.slug):
        raise TenantSpecError(f"slug {spec.slug!r} must be a DNS label (a-z, 0-9, -)")
    for host in spec.domains:
        if not HOST_RE.fullmatch(host):
            raise TenantSpecError(f"domain {host!r} is not a lowercase host name")
    _check_timezone(spec.timezone, "timezone")
    for loc in (spec.locale, *spec.locales):
        try:
            Locale.parse(loc)
        except (ValueError, UnknownLocaleError) as exc:
            raise TenantSpecError(f"locale {loc!r} is unknown") from exc
    if spec.locales and spec.locale not in spec.locales:
        raise TenantSpecError(f"locale {spec.locale!r} must be one of locales {spec.locales}")
    for name, value in spec.brand.tokens.items():
        if name.startswith("color-") and not COLOR_RE.fullmatch(value):
            raise TenantSpecError(f"brand token {name} must be a #rrggbb colour, got {value!r}")
    if themes_dir is not None and not (themes_dir / spec.theme / "theme.toml").exists():
        raise TenantSpecError(f"theme {spec.theme!r} does not exist in {themes_dir}")
    _check_demo(spec.demo)
    return spec


def _check_demo(demo: Demo) -> None:
    for location in demo.locations:
        _check_timezone(location.timezone, f"demo location {location.name!r} timezone")
    accounts = {account.name for account in demo.accounts}
    fleets = {account.name for account in demo.accounts if account.kind == "fleet"}
    for user in demo.users:
        if (user.role == "fleet_manager") != (user.account is not None):
            raise TenantSpecError(
                f"demo user {user.email}: a fleet manager names their fleet account "
                "(account = ...), other roles none"
            )
        if user.account is not None and user.account not in fleets:
            raise TenantSpecError(
                f"demo user {user.email}: no demo fleet account named {user.account!r}"
            )
    drivers = {account.name for account in demo.accounts if account.kind == "driver"}
    for login in demo.drivers:
        if login.account not in drivers:
            raise TenantSpecError(
                f"demo driver {login.email}: no demo driver account named {login.account!r}"
            )
    for token in demo.id_tokens:
        if token.account is not None and token.account not in accounts:
            raise TenantSpecError(
                f"demo id_token {token.id_token}: no demo account named {token.account!r}"
            )
    _check_demo_sites(demo)


def _check_demo_sites(demo: Demo) -> None:
    locations = {location.name for location in demo.locations}
    evses = {
        (station.station_id, evse_id)
        for location in demo.locations
        for station in location.stations
        for evse_id in range(1, len(station.evses) + 1)
    }
    for site in demo.sites:
        if site.location is not None and site.location not in locations:
            raise TenantSpecError(f"demo site {site.name!r}: no demo location {site.location!r}")
        for evse in site.evses:
            if (evse.station_id, evse.evse_id) not in evses:
                raise TenantSpecError(
                    f"demo site {site.name!r}: no EVSE {evse.evse_id} on a demo station "
                    f"{evse.station_id!r}"
                )


def _check_timezone(name: str, what: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TenantSpecError(f"{what} {name!r} is not an IANA timezone") from exc


def load_spec(path: Path, *, themes_dir: Path | None = None) -> TenantSpec:
    """Parse and validate one tenant file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        spec = msgspec.convert(raw, TenantSpec)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise TenantSpecError(f"{path.name}: {exc}") from exc
    try:
        return validate_spec(spec, themes_dir=themes_dir)
    except TenantSpecError as exc:
        raise TenantSpecError(f"{path.name}: {exc}") from exc


def load_specs(tenants_dir: Path, *, themes_dir: Path | None = None) -> list[TenantSpec]:
    """Every ``*.toml`` in ``tenants_dir``, sorted by file name; keys and slugs unique."""
    specs = [load_spec(p, themes_dir=themes_dir) for p in sorted(tenants_dir.glob("*.toml"))]
    for attr in ("key", "slug"):
        seen: set[str] = set()
        for spec in specs:
            value = getattr(spec, attr)
            if value in seen:
                raise TenantSpecError(f"two tenant files share the {attr} {value!r}")
            seen.add(value)
    return specs
