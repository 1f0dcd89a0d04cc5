"""Station authentication at the gateway: security profiles 1-3 over ws and wss, rate
limiting, security events, auto-commissioning and brand isolation, over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec
import pytest
from ocpp.exceptions import SecurityError
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from tests.factories import ac_evse, add_location, brand_spec
from tests.ocpp.certs import CertFiles, TestCA, client_context
from tests.ocpp.conftest import CLIENTS, PASSWORD, add_ocpp_station, basic
from voltlane.core.db import Database
from voltlane.core.pgserver import free_port
from voltlane.models.tenant import ChargingStation, RegistrationStatus, StationEvent
from voltlane.ocpp import auth
from voltlane.ocpp.server import Gateway, running_gateway
from voltlane.settings import Settings
from voltlane.station import service as stations
from voltlane.station.schemas import StationCreate
from voltlane.tenancy import TenantInfo
from voltlane.tenancy import service as tenancy

WRONG = "not-the-password-4711-xyz"


@dataclass(frozen=True, slots=True)
class Pki:
    ca: TestCA
    server: CertFiles


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ca = TestCA(tmp_path_factory.mktemp("pki"))
    return Pki(ca, ca.server_cert())


@pytest.fixture
async def tls_gateway(settings: Settings, database_url: str, pki: Pki) -> AsyncIterator[Gateway]:
    """A gateway with a plain and a TLS port; client certificates verified against the CA."""
    gateway_settings = replace(
        settings,
        host="127.0.0.1",
        ocpp_port=free_port(),
        ocpp_tls_port=free_port(),
        ocpp_tls_cert=pki.server.cert,
        ocpp_tls_key=pki.server.key,
        ocpp_tls_client_ca=pki.ca.cert_pem,
    )
    async with running_gateway(gateway_settings, database_url) as running:
        assert len(running.ports) == 2
        yield running


def _url(gateway: Gateway, brand_key: str, station_id: str, *, tls: bool) -> str:
    if tls:
        return f"wss://127.0.0.1:{gateway.ports[1]}/ocpp/{brand_key}/{station_id}"
    return f"ws://127.0.0.1:{gateway.ports[0]}/ocpp/{brand_key}/{station_id}"


def _options(
    pki: Pki,
    *,
    protocol: str,
    tls: bool,
    credentials: tuple[str, str] | None,
    cert: CertFiles | None,
) -> dict[str, Any]:
    options: dict[str, Any] = {"subprotocols": [protocol], "compression": None}
    if credentials is not None:
        options["additional_headers"] = {"Authorization": basic(*credentials)}
    if tls:
        options["ssl"] = client_context(pki.ca.cert_pem, cert)
    return options


@contextlib.asynccontextmanager
async def station(
    gateway: Gateway,
    pki: Pki,
    brand_key: str,
    station_id: str,
    *,
    protocol: str = "ocpp1.6",
    tls: bool = False,
    credentials: tuple[str, str] | None = None,
    cert: CertFiles | None = None,
) -> AsyncIterator[Any]:
    """An accepted connection, as the ocpp package's ChargePoint of ``protocol``."""
    options = _options(pki, protocol=protocol, tls=tls, credentials=credentials, cert=cert)
    async with connect(_url(gateway, brand_key, station_id, tls=tls), **options) as ws:
        assert ws.subprotocol == protocol
        cp = CLIENTS[protocol](station_id, ws, response_timeout=10)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def refused(
    gateway: Gateway,
    pki: Pki,
    brand_key: str,
    station_id: str,
    *,
    protocol: str = "ocpp1.6",
    tls: bool = False,
    credentials: tuple[str, str] | None = None,
    cert: CertFiles | None = None,
) -> Response:
    """The HTTP response of a handshake the gateway must refuse."""
    options = _options(pki, protocol=protocol, tls=tls, credentials=credentials, cert=cert)
    with pytest.raises(InvalidStatus) as info:
        async with connect(_url(gateway, brand_key, station_id, tls=tls), **options):
            pass
    return info.value.response


async def boot16(cp: Any, vendor: str = "Acme") -> Any:
    return await cp.call(
        call16.BootNotification(charge_point_vendor=vendor, charge_point_model="AC22"),
        suppress=False,
    )


async def boot201(cp: Any, vendor: str = "Acme") -> Any:
    return await cp.call(
        call201.BootNotification(
            charging_station={"model": "DC150", "vendor_name": vendor}, reason="PowerUp"
        ),
        suppress=False,
    )


async def _station_row(database: Database, brand_key: str, station_id: str) -> ChargingStation:
    async with database.tenant_session(brand_key) as db_session:
        row = await db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == station_id)
        )
    assert row is not None
    return row


async def _failure_reasons(
    database: Database, brand_key: str, station_id: str
) -> list[tuple[bool, str]]:
    """(over TLS, reason) of the station's AuthenticationFailed events, oldest first."""
    row = await _station_row(database, brand_key, station_id)
    async with database.tenant_session(brand_key) as db_session:
        events = await db_session.scalars(
            select(StationEvent)
            .where(
                StationEvent.charging_station_id == row.id,
                StationEvent.kind == "security",
                StationEvent.action == "AuthenticationFailed",
            )
            .order_by(StationEvent.id)
        )
        return [(e.payload["tls"], e.payload["reason"]) for e in events]


async def _add_station(
    database: Database, brand: TenantInfo, station_id: str, password: str
) -> None:
    """A profile-1 station with a password of the test's choosing."""
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session, f"Site of {station_id}")
        await stations.create_station(
            db_session,
            location,
            StationCreate(station_id=station_id, evses=ac_evse(1), security_profile=1),
            password=password,
        )


async def _auto_commissioning_brand(database: Database, settings: Settings) -> TenantInfo:
    spec = msgspec.structs.replace(brand_spec(), features={"auto_commissioning": True})
    async with database.platform_transaction() as db_session:
        info, _ = await tenancy.register_tenant(db_session, spec)
    return await tenancy.provision_tenant(database, settings.migrations_dir, info.id)


# -- profile 1: HTTP Basic, ws or wss ----------------------------------------------------------


async def test_profile1_basic_auth_over_ws(tls_gateway, pki, database, make_brand) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-P1", security_profile=1)

    async with station(tls_gateway, pki, brand.key, "CP-P1", credentials=("CP-P1", PASSWORD)) as cp:
        reply = await boot16(cp)
    async with station(
        tls_gateway,
        pki,
        brand.key,
        "CP-P1",
        protocol="ocpp2.0.1",
        tls=True,
        credentials=("CP-P1", PASSWORD),
    ) as cp:
        reply201 = await boot201(cp, vendor="Acme TLS")

    assert (reply.status, reply.interval) == ("Accepted", 300)
    assert reply201.status == "Accepted"
    row = await _station_row(database, brand.key, "CP-P1")
    assert (row.vendor, row.protocol) == ("Acme TLS", "ocpp2.0.1")


async def test_wrong_password_is_401_with_challenge(tls_gateway, pki, database, make_brand) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-1")

    response = await refused(tls_gateway, pki, brand.key, "CP-1", credentials=("CP-1", WRONG))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Voltlane OCPP"'


async def test_username_must_be_the_station_id(tls_gateway, pki, database, make_brand) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-1")
    await add_ocpp_station(database, brand, "CP-2")

    wrong_name = await refused(
        tls_gateway, pki, brand.key, "CP-1", credentials=("someone", PASSWORD)
    )
    # CP-2's valid credentials do not open CP-1 (same password, other username).
    borrowed = await refused(tls_gateway, pki, brand.key, "CP-1", credentials=("CP-2", PASSWORD))
    missing = await refused(tls_gateway, pki, brand.key, "CP-1", credentials=None)

    assert (wrong_name.status_code, borrowed.status_code, missing.status_code) == (401, 401, 401)
    assert "WWW-Authenticate" in missing.headers


async def test_another_stations_password_does_not_open_a_station(
    tls_gateway, pki, database, make_brand
) -> None:
    brand = await make_brand()
    await _add_station(database, brand, "CP-A", "password-of-station-a-01")
    await _add_station(database, brand, "CP-B", "password-of-station-b-02")

    as_other = await refused(
        tls_gateway, pki, brand.key, "CP-A", credentials=("CP-B", "password-of-station-b-02")
    )
    with_other_password = await refused(
        tls_gateway, pki, brand.key, "CP-A", credentials=("CP-A", "password-of-station-b-02")
    )

    assert (as_other.status_code, with_other_password.status_code) == (401, 401)
    async with station(
        tls_gateway, pki, brand.key, "CP-A", credentials=("CP-A", "password-of-station-a-01")
    ) as cp:
        assert (await boot16(cp)).status == "Accepted"


async def test_unknown_station_is_404(tls_gateway, pki, make_brand) -> None:
    brand = await make_brand()

    response = await refused(
        tls_gateway, pki, brand.key, "NOBODY", credentials=("NOBODY", PASSWORD)
    )
    unknown_brand = await refused(
        tls_gateway, pki, "nosuchbrand0", "CP-1", credentials=("CP-1", PASSWORD)
    )

    assert (response.status_code, unknown_brand.status_code) == (404, 404)


# -- profile 2: HTTP Basic over TLS only --------------------------------------------------------


async def test_profile2_refuses_plain_ws_and_accepts_wss(
    tls_gateway, pki, database, make_brand
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-P2", security_profile=2)

    downgrade = await refused(tls_gateway, pki, brand.key, "CP-P2", credentials=("CP-P2", PASSWORD))
    async with station(
        tls_gateway,
        pki,
        brand.key,
        "CP-P2",
        protocol="ocpp2.0.1",
        tls=True,
        credentials=("CP-P2", PASSWORD),
    ) as cp:
        reply = await boot201(cp)

    assert downgrade.status_code == 401
    assert reply.status == "Accepted"
    assert await _failure_reasons(database, brand.key, "CP-P2") == [
        (False, "security profile 2 requires TLS (downgrade refused)")
    ]


# -- profile 3: client certificate ------------------------------------------------------------


async def test_profile3_client_certificate_without_password(
    tls_gateway, pki, database, make_brand
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-P3", security_profile=3)

    async with station(
        tls_gateway, pki, brand.key, "CP-P3", tls=True, cert=pki.ca.client_cert("CP-P3", brand.name)
    ) as cp:
        reply = await boot16(cp, vendor="Mtls")

    assert reply.status == "Accepted"
    assert (await _station_row(database, brand.key, "CP-P3")).vendor == "Mtls"


async def test_profile3_refusals(tls_gateway, pki, database, make_brand) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-P3", security_profile=3)
    other = pki.ca.client_cert("CP-OTHER", brand.name)
    # The right station id but another brand's organization (the CA serves both brands).
    foreign = pki.ca.client_cert("CP-P3", "Some Other Brand")

    other_cn = await refused(tls_gateway, pki, brand.key, "CP-P3", tls=True, cert=other)
    other_brand = await refused(tls_gateway, pki, brand.key, "CP-P3", tls=True, cert=foreign)
    no_cert = await refused(tls_gateway, pki, brand.key, "CP-P3", tls=True)
    # A password is no substitute for the certificate.
    no_cert_with_basic = await refused(
        tls_gateway, pki, brand.key, "CP-P3", tls=True, credentials=("CP-P3", PASSWORD)
    )
    plain_ws = await refused(tls_gateway, pki, brand.key, "CP-P3", credentials=("CP-P3", PASSWORD))

    refusals = (other_cn, other_brand, no_cert, no_cert_with_basic, plain_ws)
    assert [r.status_code for r in refusals] == [401, 401, 401, 401, 401]
    assert await _failure_reasons(database, brand.key, "CP-P3") == [
        (True, "client certificate CN does not name this station"),
        (True, "client certificate O does not name this brand"),
        (True, "client certificate CN does not name this station"),
        (True, "client certificate CN does not name this station"),
        (False, "security profile 3 requires TLS (downgrade refused)"),
    ]


# -- rate limiting and security events ----------------------------------------------------------


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _record_text(record: logging.LogRecord) -> str:
    """Everything a log formatter could print of a record: message, args and extras."""
    return record.getMessage() + " " + repr(record.__dict__)


async def test_failures_are_rate_limited_and_recorded_without_password(
    tls_gateway, pki, database, make_brand, all_logs
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-RL")

    failures = [
        await refused(tls_gateway, pki, brand.key, "CP-RL", credentials=("CP-RL", WRONG))
        for _ in range(5)
    ]
    limited = await refused(tls_gateway, pki, brand.key, "CP-RL", credentials=("CP-RL", PASSWORD))

    assert [r.status_code for r in failures] == [401] * 5
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "60"
    row = await _station_row(database, brand.key, "CP-RL")
    async with database.tenant_session(brand.key) as db_session:
        events = list(
            await db_session.scalars(
                select(StationEvent).where(StationEvent.charging_station_id == row.id)
            )
        )
    assert len(events) == 5
    assert {(e.kind, e.action) for e in events} == {("security", "AuthenticationFailed")}
    assert {e.payload["reason"] for e in events} == {"wrong password"}
    assert all(e.payload["tls"] is False for e in events)
    assert all(e.payload["address"] == "127.0.0.1" for e in events)
    stored = json.dumps([[e.kind, e.action, e.payload, str(e.at)] for e in events])
    assert WRONG not in stored
    assert PASSWORD not in stored
    logged = "\n".join(_record_text(r) for r in all_logs.records)
    assert "ocpp authentication failed" in logged
    assert WRONG not in logged
    assert PASSWORD not in logged
    own = "\n".join(_record_text(r) for r in all_logs.records if r.name.startswith("voltlane"))
    assert basic("CP-RL", WRONG).split()[1] not in own


async def test_rate_limit_is_per_station(tls_gateway, pki, database, make_brand) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-X")
    await add_ocpp_station(database, brand, "CP-Y")
    for _ in range(5):
        await refused(tls_gateway, pki, brand.key, "CP-X", credentials=("CP-X", WRONG))

    async with station(tls_gateway, pki, brand.key, "CP-Y", credentials=("CP-Y", PASSWORD)) as cp:
        assert (await boot16(cp)).status == "Accepted"


# -- auto-commissioning ---------------------------------------------------------------------------


async def test_auto_commissioning_admits_unknown_station_as_pending(
    tls_gateway, pki, database, settings, make_brand
) -> None:
    brand = await _auto_commissioning_brand(database, settings)
    plain = await make_brand()
    password = "fresh-station-secret-42"

    async with station(
        tls_gateway,
        pki,
        brand.key,
        "NEW-CP-1",
        protocol="ocpp2.0.1",
        credentials=("NEW-CP-1", password),
    ) as cp:
        boot = await boot201(cp, vendor="Newcomer")
        heartbeat = await cp.call(call201.Heartbeat(), suppress=False)
        with pytest.raises(SecurityError):
            await cp.call(
                call201.StatusNotification(
                    timestamp="2026-11-24T10:00:00Z",
                    connector_status="Available",
                    evse_id=1,
                    connector_id=1,
                ),
                suppress=False,
            )
    elsewhere = await refused(
        tls_gateway, pki, plain.key, "NEW-CP-1", credentials=("NEW-CP-1", password)
    )
    # The first password is kept: another one does not come back as this station.
    impostor = await refused(
        tls_gateway, pki, brand.key, "NEW-CP-1", credentials=("NEW-CP-1", WRONG)
    )
    short = await refused(
        tls_gateway, pki, brand.key, "NEW-CP-2", credentials=("NEW-CP-2", "short")
    )

    assert (boot.status, boot.interval) == ("Pending", 60)
    assert heartbeat.current_time
    row = await _station_row(database, brand.key, "NEW-CP-1")
    assert row.registration_status is RegistrationStatus.PENDING
    assert (row.security_profile, row.location_id, row.vendor) == (1, None, "Newcomer")
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2id$")
    assert password not in row.password_hash
    assert elsewhere.status_code == 404
    assert impostor.status_code == 401
    assert short.status_code == 401


async def test_concurrent_first_connections_commission_once(
    tls_gateway, pki, database, settings
) -> None:
    brand = await _auto_commissioning_brand(database, settings)
    password = "fresh-station-secret-42"

    async def handshake(secret: str) -> int:
        options = _options(
            pki, protocol="ocpp1.6", tls=False, credentials=("RACE-1", secret), cert=None
        )
        try:
            async with connect(_url(tls_gateway, brand.key, "RACE-1", tls=False), **options):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    statuses = await asyncio.gather(*(handshake(password) for _ in range(4)))

    # One handshake commissions the station; the others are checked against its row.
    assert statuses == [101, 101, 101, 101]
    row = await _station_row(database, brand.key, "RACE-1")
    assert row.registration_status is RegistrationStatus.PENDING


# -- brand isolation ------------------------------------------------------------------------------


async def test_same_station_id_in_two_brands_is_isolated(
    tls_gateway, pki, database, make_brand
) -> None:
    brand_a, brand_b = await make_brand(), await make_brand()
    await _add_station(database, brand_a, "CP-1", "password-of-brand-a-0001")
    await _add_station(database, brand_b, "CP-1", "password-of-brand-b-0002")
    await _add_station(database, brand_a, "A-ONLY", "password-of-a-only-00003")

    crossed = await refused(
        tls_gateway, pki, brand_b.key, "CP-1", credentials=("CP-1", "password-of-brand-a-0001")
    )
    wrong_brand = await refused(
        tls_gateway,
        pki,
        brand_b.key,
        "A-ONLY",
        credentials=("A-ONLY", "password-of-a-only-00003"),
    )
    async with station(
        tls_gateway, pki, brand_a.key, "CP-1", credentials=("CP-1", "password-of-brand-a-0001")
    ) as cp:
        boot_a = await boot16(cp, vendor="Vendor A")
    async with station(
        tls_gateway,
        pki,
        brand_b.key,
        "CP-1",
        protocol="ocpp2.0.1",
        credentials=("CP-1", "password-of-brand-b-0002"),
    ) as cp:
        boot_b = await boot201(cp, vendor="Vendor B")

    assert (crossed.status_code, wrong_brand.status_code) == (401, 404)
    assert (boot_a.status, boot_b.status) == ("Accepted", "Accepted")
    row_a = await _station_row(database, brand_a.key, "CP-1")
    row_b = await _station_row(database, brand_b.key, "CP-1")
    assert (row_a.vendor, row_a.protocol) == ("Vendor A", "ocpp1.6")
    assert (row_b.vendor, row_b.protocol) == ("Vendor B", "ocpp2.0.1")


async def test_suspended_brand_is_refused(tls_gateway, pki, database, make_brand) -> None:
    # The gateway's registry caches an active brand for its ttl (5 s by default) and
    # running_gateway takes no ttl: resolve every handshake afresh for this test.
    tls_gateway.registry.ttl = 0
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-S")
    async with station(tls_gateway, pki, brand.key, "CP-S", credentials=("CP-S", PASSWORD)) as cp:
        assert (await boot16(cp)).status == "Accepted"

    async with database.platform_transaction() as db_session:
        await tenancy.set_suspended(db_session, brand.slug, suspended=True)
    response = await refused(tls_gateway, pki, brand.key, "CP-S", credentials=("CP-S", PASSWORD))

    assert response.status_code == 404
    assert response.body == b"Unknown brand\n"


def test_pki_files_are_pem(pki: Pki) -> None:
    for path in (pki.ca.cert_pem, pki.server.cert):
        assert Path(path).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert pki.server.key.read_text().startswith("-----BEGIN PRIVATE KEY-----")


async def test_station_id_with_colon_authenticates(tls_gateway, pki, database, make_brand) -> None:
    # OCPP identifiers may contain ':'; Basic auth splits user and password at the first one.
    brand = await make_brand()
    await add_ocpp_station(database, brand, "ACME:CP:7")

    async with station(
        tls_gateway, pki, brand.key, "ACME:CP:7", credentials=("ACME:CP:7", PASSWORD)
    ) as cp:
        assert (await boot16(cp)).status == "Accepted"
    wrong = await refused(
        tls_gateway, pki, brand.key, "ACME:CP:7", credentials=("ACME:CP:7", "CP:7:" + PASSWORD)
    )
    assert wrong.status_code == 401


def test_failure_limiter_blocks_and_forgets(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    limiter = auth.FailureLimiter()
    for i in range(5):
        limiter.fail("brand/CP-1", f"10.0.0.{i}")
    for i in range(100):
        limiter.fail(f"brand/random-{i}", None)

    assert limiter.blocked("brand/CP-1", None)
    assert not limiter.blocked("brand/CP-2", None)
    clock[0] += auth.WINDOW + 1
    assert not limiter.blocked("brand/CP-1", None)
    limiter.fail("brand/CP-3", None)
    # Keys quiet for a whole window are dropped, not kept for ever.
    assert set(limiter._failures) == {"brand/CP-3"}
