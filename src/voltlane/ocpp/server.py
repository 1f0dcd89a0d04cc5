"""The gateway process: WebSocket endpoints, authentication, presence, command execution.

``ws(s)://HOST:PORT/ocpp/{tenant key}/{station id}``. A station lives on one node at a
time; ``platform.station_presence`` says which. Commands reach it through the command
path: a NOTIFY that every node hears and the node holding the station acts on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import http
import json
import logging
import os
import socket
import ssl
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

# Sessions ending here enqueue billing.rate_session: the task must be known to this process.
import voltlane.billing.tasks  # noqa: F401
from voltlane.charging.live import LiveSessions
from voltlane.charging.schemas import StationRef
from voltlane.core.clock import utcnow
from voltlane.core.context import bound_tenant
from voltlane.core.db import Database
from voltlane.core.group_commit import GroupCommit
from voltlane.core.notify import NotificationHub, notify
from voltlane.core.sealing import unseal
from voltlane.core.text import N_
from voltlane.models.tenant import CommandStatus
from voltlane.ocpp.auth import AuthResult, Credentials, StationAuthenticator, parse_basic
from voltlane.ocpp.connection import CallOutcome, StationConnection
from voltlane.ocpp.frames import FrameLog
from voltlane.ocpp.handlers import HANDLERS, HandlerContext
from voltlane.ocpp.handlers.base import autocommit_sessions
from voltlane.ocpp.protocol import SUBPROTOCOLS, Version
from voltlane.ocpp.repository import GatewayRepository
from voltlane.settings import Settings
from voltlane.station.commands import COMMANDS_CHANNEL, RESULTS_CHANNEL
from voltlane.tenancy import TenantInfo, TenantRegistry

log = logging.getLogger(__name__)

MOVED_CHANNEL = "voltlane_station_moved"
GATEWAY_POOL = 40
# Connections of the group commits (one batch in flight per brand) and the frame log.
BATCH_POOL = 4
# Thousands of long-lived connections make full garbage collections slow (seconds at 10,000
# stations). Objects alive at a beat are frozen out of collection; a full collection of
# everything still runs every FULL_COLLECT_EVERY beats, so cycles are freed eventually.
GC_THRESHOLDS = (20_000, 50, 100)
FULL_COLLECT_EVERY = 90
# websockets logs request headers (HTTP Basic credentials included) at DEBUG: its logger is
# held at INFO whatever the platform's level.
WS_LOGGER = logging.getLogger("voltlane.ocpp.websockets")
WS_LOGGER.setLevel(logging.INFO)
NODE_BEAT = 10.0
BOOT_RETRY_INTERVAL = 60
# CALLRESULT statuses that mean "no": anything else from a station counts as accepted.
REJECTING = frozenset(
    {
        "Rejected",
        "Failed",
        "NotSupported",
        "UnknownMessageId",
        "UnknownVendorId",
        "Faulted",
        "Occupied",
        "Unavailable",
        "UnlockFailed",
        "UnknownConnector",
        "OngoingAuthorizedTransaction",
        "NotImplemented",
        "VersionMismatch",
        "Unknown",
        "NoProfile",
        "InvalidCertificate",
        "NotFound",
        "EmptyResultSet",
    }
)


ITEM_ACCEPTED = frozenset({"Accepted", "RebootRequired"})


@dataclass(slots=True)
class Pending:
    """What process_request decided about a handshake, for the connection handler."""

    tenant: TenantInfo
    auth: AuthResult


class Gateway:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        registry: TenantRegistry,
        hub: NotificationHub,
        *,
        node_id: str | None = None,
        batch_database: Database | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        # Group commits and the frame log write through their own few connections, so a
        # batch never queues behind handlers that hold the main pool.
        self.batch_database = batch_database or database
        self.registry = registry
        self.hub = hub
        self.node_id = node_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.frames = FrameLog(self.batch_database)
        self.auth = StationAuthenticator(database)
        self.connections: dict[tuple[str, str], StationConnection] = {}
        self._pending: dict[ServerConnection, Pending] = {}
        self._servers: list[Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._command_tasks: set[asyncio.Task[None]] = set()
        self._groups: dict[str, GroupCommit] = {}
        self._autocommits: dict[str, async_sessionmaker[AsyncSession]] = {}

    # -- lifecycle ----------------------------------------------------------------------
    async def start(
        self, host: str, port: int, *, tls_port: int | None = None, reuse_port: bool = False
    ) -> None:
        """Listen on ``port`` (and ``tls_port``); ``reuse_port``: beside other gateway
        processes of this machine on the same ports, the kernel spreading connections."""
        async with self.database.platform_transaction() as db_session:
            await GatewayRepository(db_session).register_node(self.node_id, socket.gethostname())
        await self.hub.start([COMMANDS_CHANNEL, RESULTS_CHANNEL, MOVED_CHANNEL])
        self.frames.start()
        common: dict[str, Any] = {
            "subprotocols": SUBPROTOCOLS,
            "process_request": self._process_request,
            "process_response": self._process_response,
            "compression": None,
            # A socket may carry frames up to twice the OCPP limit; beyond it websockets
            # closes with 1009, below it an oversized message gets a CALLERROR.
            "max_size": self.settings.ocpp_max_message_bytes * 2,
            "ping_interval": 60,
            "ping_timeout": 60,
            "server_header": None,
            "logger": WS_LOGGER,
            "reuse_port": reuse_port,
        }
        self._servers.append(await serve(self._handle, host, port, **common))
        context = self._tls_context()
        if context is not None and tls_port is not None:
            self._servers.append(await serve(self._handle, host, tls_port, ssl=context, **common))
        gc.set_threshold(*GC_THRESHOLDS)
        gc.freeze()
        self._tasks.append(asyncio.create_task(self._beat(), name="voltlane-node-beat"))
        self._tasks.append(asyncio.create_task(self._listen_commands(), name="voltlane-commands"))
        self._tasks.append(asyncio.create_task(self._listen_moves(), name="voltlane-moves"))
        log.info(
            "ocpp gateway listening",
            extra={"port": port, "tls_port": tls_port, "node_id": self.node_id},
        )

    def _tls_context(self) -> ssl.SSLContext | None:
        cert, key = self.settings.ocpp_tls_cert, self.settings.ocpp_tls_key
        if cert is None or key is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        if self.settings.ocpp_tls_client_ca is not None:
            # Profile 3 stations present a certificate; profile 2 stations need not.
            context.load_verify_locations(self.settings.ocpp_tls_client_ca)
            context.verify_mode = ssl.CERT_OPTIONAL
        return context

    def _group(self, tenant_key: str) -> GroupCommit:
        """The brand's group commit: the writes of all its stations on this node."""
        group = self._groups.get(tenant_key)
        if group is None:
            group = GroupCommit(self.batch_database.tenant_engine(tenant_key))
            self._groups[tenant_key] = group
        return group

    def _autocommit(self, tenant_key: str) -> async_sessionmaker[AsyncSession]:
        factory = self._autocommits.get(tenant_key)
        if factory is None:
            factory = autocommit_sessions(self.database, tenant_key)
            self._autocommits[tenant_key] = factory
        return factory

    @property
    def ports(self) -> list[int]:
        return [s.sockets[0].getsockname()[1] for s in self._servers if s.sockets]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        for task in [*self._tasks, *self._command_tasks]:
            task.cancel()
        for task in [*self._tasks, *self._command_tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.frames.stop()
        for group in self._groups.values():
            await group.close()
        async with self.database.platform_transaction() as db_session:
            await GatewayRepository(db_session).drop_node(self.node_id)
        log.info("ocpp gateway stopped", extra={"node_id": self.node_id})

    async def _beat(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(NODE_BEAT)
            beats += 1
            if beats % FULL_COLLECT_EVERY == 0:
                gc.unfreeze()
                gc.collect()
            gc.freeze()
            try:
                async with self.database.platform_transaction() as db_session:
                    await GatewayRepository(db_session).beat(self.node_id)
                await self.drop_inactive_brands()
            except Exception:
                log.exception("gateway heartbeat failed")

    async def drop_inactive_brands(self) -> int:
        """Close the sockets of stations whose brand is no longer active (suspended)."""
        closed = 0
        for tenant_key in {key[0] for key in self.connections}:
            if await self.registry.by_key(tenant_key) is not None:
                continue
            for key, conn in list(self.connections.items()):
                if key[0] == tenant_key:
                    conn.fail_pending("the brand is suspended")
                    await conn.ws.close(1008, "brand suspended")
                    closed += 1
        return closed

    # -- handshake ----------------------------------------------------------------------
    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        parts = request.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 3 or parts[0] != "ocpp":
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Use /ocpp/{tenant}/{station}\n")
        tenant_key, station_id = parts[1], unquote(parts[2])
        tenant = await self.registry.by_key(tenant_key)
        if tenant is None:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Unknown brand\n")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        version = next((Version(p) for p in SUBPROTOCOLS if p in offered), None)
        if version is None:
            return connection.respond(
                http.HTTPStatus.BAD_REQUEST, f"Offer one of {', '.join(SUBPROTOCOLS)}\n"
            )
        username, password = parse_basic(request.headers.get("Authorization"))
        ssl_object = connection.transport.get_extra_info("ssl_object")
        creds = Credentials(
            username=username,
            password=password,
            tls=ssl_object is not None,
            certificate_cn=_certificate_field(ssl_object, "commonName"),
            certificate_organization=_certificate_field(ssl_object, "organizationName"),
            address=_address(connection),
        )
        with bound_tenant(tenant.key):
            result = await self.auth.authenticate(tenant, station_id, version, creds)
        if result.station is None:
            response = connection.respond(result.status, f"{result.status.phrase}\n")
            if result.status is http.HTTPStatus.UNAUTHORIZED:
                response.headers["WWW-Authenticate"] = 'Basic realm="Voltlane OCPP"'
            if result.status is http.HTTPStatus.TOO_MANY_REQUESTS:
                response.headers["Retry-After"] = "60"
            return response
        self._pending[connection] = Pending(tenant, result)
        return None

    def _process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> None:
        del request
        if response.status_code != http.HTTPStatus.SWITCHING_PROTOCOLS:
            self._pending.pop(connection, None)

    # -- a connected station ------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        pending = self._pending.pop(ws, None)
        if pending is None or pending.auth.station is None or ws.subprotocol is None:
            await ws.close(1011, "handshake state lost")
            return
        # The subprotocol websockets picked (the newest the station offered) rules.
        station = pending.auth.station
        ref = StationRef(station.pk, station.station_id, Version(ws.subprotocol).value)
        with bound_tenant(pending.tenant.key):
            await self._serve(ws, pending.tenant, ref, pending.auth)

    async def _serve(
        self, ws: ServerConnection, tenant: TenantInfo, ref: StationRef, auth: AuthResult
    ) -> None:
        assert auth.registration is not None
        version = Version(ref.protocol)
        ctx = HandlerContext(
            database=self.database,
            tenant=tenant,
            station=ref,
            version=version,
            registration=auth.registration,
            heartbeat_interval=self.settings.ocpp_heartbeat_interval,
            boot_retry_interval=BOOT_RETRY_INTERVAL,
            group=self._group(tenant.key),
            live=LiveSessions(ref),
            autocommit=self._autocommit(tenant.key),
        )
        conn = StationConnection(
            ws,
            ctx,
            HANDLERS[version],
            self.frames,
            max_message_bytes=self.settings.ocpp_max_message_bytes,
        )
        key = (tenant.key, ref.station_id)
        old = self.connections.get(key)
        self.connections[key] = conn
        if old is not None:
            # A half-open old socket of the same station: the new one replaces it.
            old.fail_pending("replaced by a new connection")
            closing = asyncio.create_task(old.ws.close(1000, "replaced by a new connection"))
            self._command_tasks.add(closing)
            closing.add_done_callback(self._command_tasks.discard)
        async with self.database.platform_transaction() as db_session:
            previous_node = await GatewayRepository(db_session).claim_presence(
                tenant_key=tenant.key,
                station_id=ref.station_id,
                node_id=self.node_id,
                connection_id=conn.connection_id,
                protocol=version.value,
                connected_at=conn.connected_at,
            )
            if previous_node is not None and previous_node != self.node_id:
                await notify(
                    db_session,
                    MOVED_CHANNEL,
                    {"tenant": tenant.key, "station": ref.station_id, "node": self.node_id},
                )
        log.info(
            "station connected", extra={"station_id": ref.station_id, "protocol": version.value}
        )
        try:
            await conn.serve()
        except ConnectionClosed:
            pass
        finally:
            conn.fail_pending("station disconnected")
            if self.connections.get(key) is conn:
                del self.connections[key]
            async with self.database.platform_transaction() as db_session:
                await GatewayRepository(db_session).release_presence(
                    tenant.key, ref.station_id, conn.connection_id
                )
            log.info("station disconnected", extra={"station_id": ref.station_id})

    async def _listen_moves(self) -> None:
        async with self.hub.subscribe(MOVED_CHANNEL) as moves:
            while True:
                note = await moves.get()
                if note.get("node") == self.node_id:
                    continue
                conn = self.connections.pop(
                    (str(note.get("tenant")), str(note.get("station"))), None
                )
                if conn is not None:
                    conn.fail_pending("station moved to another node")
                    await conn.ws.close(1000, "connected to another node")

    # -- commands -----------------------------------------------------------------------
    async def _listen_commands(self) -> None:
        async with self.hub.subscribe(COMMANDS_CHANNEL) as commands:
            while True:
                note = await commands.get()
                key = (str(note.get("tenant")), str(note.get("station")))
                if key in self.connections:
                    task = asyncio.create_task(self._execute(key, uuid.UUID(note["command"])))
                    self._command_tasks.add(task)
                    task.add_done_callback(self._command_tasks.discard)

    async def _execute(self, key: tuple[str, str], command_id: uuid.UUID) -> None:
        tenant_key = key[0]
        async with self.database.tenant_transaction(tenant_key) as db_session:
            command = await GatewayRepository(db_session).claim_command(command_id, self.node_id)
            claimed = (
                (command.action, dict(command.payload), command.sealed_payload, command.deadline_at)
                if command
                else None
            )
        if claimed is None:
            return  # another node took it, or its deadline passed
        action, payload, sealed, deadline = claimed
        if sealed is not None:
            payload = json.loads(unseal(self.settings.secret_key, sealed))
        conn = self.connections.get(key)
        status: CommandStatus = CommandStatus.OFFLINE
        response: dict[str, Any] | None = None
        error: str | None = N_("The station disconnected.")
        if conn is not None:
            wait = max((deadline - utcnow()).total_seconds(), 0.0)
            try:
                outcome: CallOutcome = await conn.call(action, payload, wait=wait)
                status, response, error = _classify(outcome)
            except TimeoutError:
                status, error = CommandStatus.TIMEOUT, N_("No answer from the station in time.")
            except ConnectionError as exc:
                status, error = CommandStatus.OFFLINE, str(exc)
            except ValueError as exc:
                status, error = CommandStatus.REJECTED, str(exc)
        async with self.database.tenant_transaction(tenant_key) as db_session:
            await GatewayRepository(db_session).finish_command(
                command_id, status, response=response, error=error
            )
            await notify(db_session, RESULTS_CHANNEL, {"command": str(command_id)})

    async def call(
        self, tenant_key: str, station_id: str, action: str, payload: dict[str, Any], wait: float
    ) -> CallOutcome:
        """Call a station held by this node directly (used by tests and the benchmark)."""
        conn = self.connections.get((tenant_key, station_id))
        if conn is None:
            raise ConnectionError(f"{station_id} is not connected to this node")
        return await conn.call(action, payload, wait=wait)


def _classify(outcome: CallOutcome) -> tuple[CommandStatus, dict[str, Any] | None, str | None]:
    if not outcome.ok:
        return (
            CommandStatus.REJECTED,
            outcome.payload or None,
            f"{outcome.error_code}: {outcome.error_description}",
        )
    status = outcome.payload.get("status")
    if isinstance(status, str) and status in REJECTING:
        return CommandStatus.REJECTED, outcome.payload, None
    # Replies that answer item by item (SetVariables, GetVariables): every item must pass.
    for key in ("setVariableResult", "getVariableResult", "setMonitoringResult"):
        items = outcome.payload.get(key)
        if isinstance(items, list) and any(
            isinstance(item, dict)
            and item.get("attributeStatus", item.get("status")) not in ITEM_ACCEPTED
            for item in items
        ):
            return CommandStatus.REJECTED, outcome.payload, None
    return CommandStatus.ACCEPTED, outcome.payload, None


def _certificate_field(ssl_object: ssl.SSLObject | None, field: str) -> str | None:
    if ssl_object is None:
        return None
    cert: Any = ssl_object.getpeercert()
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for attribute in rdn:
            if attribute[0] == field:
                return str(attribute[1])
    return None


def _address(connection: ServerConnection) -> str | None:
    remote: Any = connection.remote_address
    return str(remote[0]) if isinstance(remote, tuple) and remote else None


@contextlib.asynccontextmanager
async def running_gateway(
    settings: Settings,
    database_url: str,
    *,
    node_id: str | None = None,
    registry_ttl: float = 5.0,
    reuse_port: bool = False,
) -> Any:
    """A started gateway on ``settings.host``:``settings.ocpp_port`` (and the TLS port when a
    certificate is configured), stopped with its engine and listener on exit."""
    # A fixed pool without pings: the hot path needs every round trip it can save, and
    # overflow connections opened and closed under load cost more than waiting.
    database = Database(
        database_url,
        pool_size=max(settings.db_pool_size, GATEWAY_POOL),
        max_overflow=0,
        pre_ping=False,
    )
    batch_database = Database(database_url, pool_size=BATCH_POOL, max_overflow=0, pre_ping=False)
    hub = NotificationHub(database_url)
    registry = TenantRegistry(database, settings.base_domain, ttl=registry_ttl)
    gateway = Gateway(
        settings, database, registry, hub, node_id=node_id, batch_database=batch_database
    )
    tls_port = settings.ocpp_tls_port if settings.ocpp_tls_cert else None
    try:
        await gateway.start(
            settings.host, settings.ocpp_port, tls_port=tls_port, reuse_port=reuse_port
        )
        yield gateway
    finally:
        await gateway.stop()
        await hub.stop()
        await database.dispose()
        await batch_database.dispose()
