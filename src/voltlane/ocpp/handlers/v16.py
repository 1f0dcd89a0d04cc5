"""OCPP 1.6J: charge point -> central system messages onto the charging and station domains.

1.6 words (connectorId, idTag, transactionId as integer) stay in this module: connector N of
a 1.6 charge point is EVSE N with connector 1 in Voltlane's model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from voltlane.charging import service as charging
from voltlane.charging.energy import REGISTER
from voltlane.charging.live import LiveSession
from voltlane.charging.schemas import Sample
from voltlane.core.clock import iso_utc, utcnow
from voltlane.models.tenant import RegistrationStatus
from voltlane.ocpp.handlers.base import (
    HandlerContext,
    Handlers,
    Payload,
    decimal,
    heartbeat,
    live_meter_values,
    record,
    record_status_batched,
    recorder,
    statements,
)
from voltlane.ocpp.protocol import timestamp
from voltlane.station import operations


def samples(meter_values: list[dict[str, Any]]) -> list[Sample]:
    """MeterValue[] of 1.6 as version-neutral samples (SignedData kept verbatim)."""
    out: list[Sample] = []
    for mv in meter_values:
        at = timestamp(mv.get("timestamp"), "meterValue.timestamp")
        for sv in mv.get("sampledValue", []):
            signed = sv.get("format") == "SignedData"
            out.append(
                Sample(
                    sampled_at=at,
                    measurand=sv.get("measurand", REGISTER),
                    value=None if signed else decimal(sv["value"], "sampledValue.value"),
                    unit=sv.get("unit", "Wh"),
                    phase=sv.get("phase"),
                    location=sv.get("location"),
                    context=sv.get("context"),
                    signed_data=sv["value"] if signed else None,
                )
            )
    return out


async def boot_notification(ctx: HandlerContext, payload: Payload) -> Payload:
    info = {k: v for k, v in payload.items() if k not in {"chargePointVendor", "chargePointModel"}}
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        status = await operations.record_boot(
            db_session,
            ctx.station.pk,
            protocol=ctx.version.value,
            vendor=payload.get("chargePointVendor"),
            model=payload.get("chargePointModel"),
            serial_number=payload.get("chargePointSerialNumber"),
            firmware_version=payload.get("firmwareVersion"),
            info=info,
        )
    ctx.registration = status
    accepted = status is RegistrationStatus.ACCEPTED
    return {
        "status": status.value,
        "currentTime": iso_utc(utcnow()),
        "interval": ctx.heartbeat_interval if accepted else ctx.boot_retry_interval,
    }


async def authorize(ctx: HandlerContext, payload: Payload) -> Payload:
    async with statements(ctx) as db_session:
        decision = await charging.authorize(
            db_session, id_token=payload["idTag"], token_type=None, station=ctx.station.pk
        )
    return {"idTagInfo": decision.as_v16()}


async def status_notification(ctx: HandlerContext, payload: Payload) -> Payload:
    at = timestamp(payload["timestamp"], "timestamp") if "timestamp" in payload else utcnow()
    error = payload.get("errorCode")
    await record_status_batched(
        ctx,
        evse_id=payload["connectorId"],
        connector_id=1,
        status=payload["status"],
        at=at,
        error_code=None if error == "NoError" else error,
        payload=payload,
    )
    return {}


async def start_transaction(ctx: HandlerContext, payload: Payload) -> Payload:
    connector = payload["connectorId"]
    at = timestamp(payload["timestamp"], "timestamp")
    async with statements(ctx) as db_session:
        evse = await ctx.live.evse(db_session, connector)
        started = await charging.start_transaction_v16(
            db_session,
            ctx.station,
            connector_id=connector,
            id_tag=payload["idTag"],
            meter_start_wh=payload["meterStart"],
            timestamp=at,
            reservation_id=payload.get("reservationId"),
            evse=evse,
        )
    if started.session_id is not None:
        # Committed: hold it live, so its meter values take the batched path.
        ctx.live.hold(
            LiveSession(
                pk=started.session_id,
                transaction_id=str(started.transaction_id),
                evse_id=connector,
                meter_start_wh=Decimal(payload["meterStart"]),
                started_at=at,
                max_power_w=evse[1] if evse else None,
                readings={at: Decimal(payload["meterStart"])},
                energy_wh=Decimal(0),
            )
        )
    return {"transactionId": started.transaction_id, "idTagInfo": started.id_tag_info}


async def stop_transaction(ctx: HandlerContext, payload: Payload) -> Payload:
    transaction = payload["transactionId"]
    at = timestamp(payload["timestamp"], "timestamp")
    data = samples(payload.get("transactionData", []))
    async with statements(ctx) as db_session:
        live = await ctx.live.get(db_session, str(transaction)) if transaction >= 0 else None
        if live is not None:
            decision = await charging.stop_held_session(
                db_session,
                ctx.station,
                live,
                meter_stop_wh=payload["meterStop"],
                timestamp=at,
                reason=payload.get("reason"),
                id_tag=payload.get("idTag"),
                transaction_data=data,
            )
    if live is not None:
        ctx.live.drop(live.transaction_id)
        return {"idTagInfo": decision.as_v16()} if decision is not None else {}
    ctx.live.clear()  # the full path settles sessions from the database
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        _session, decision = await charging.stop_transaction_v16(
            db_session,
            ctx.station,
            transaction_id=payload["transactionId"],
            meter_stop_wh=payload["meterStop"],
            timestamp=at,
            reason=payload.get("reason"),
            id_tag=payload.get("idTag"),
            transaction_data=data,
        )
    return {"idTagInfo": decision.as_v16()} if decision is not None else {}


async def meter_values(ctx: HandlerContext, payload: Payload) -> Payload:
    parsed = samples(payload["meterValue"])
    transaction = payload.get("transactionId")
    if transaction is not None and await live_meter_values(ctx, str(transaction), parsed):
        return {}
    ctx.live.clear()  # the full path may change sessions held live
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        await charging.meter_values(
            db_session,
            ctx.station,
            evse_id=payload["connectorId"],
            transaction_id=str(transaction) if transaction is not None else None,
            samples=parsed,
        )
    return {}


async def data_transfer(ctx: HandlerContext, payload: Payload) -> Payload:
    await record(ctx, kind="data_transfer", action="DataTransfer", payload=payload)
    # No vendor extension is installed: the spec's answer for an unknown vendor.
    return {"status": "UnknownVendorId"}


async def sign_certificate(ctx: HandlerContext, payload: Payload) -> Payload:
    await record(ctx, kind="security", action="SignCertificate", payload=payload)
    return {"status": "Rejected"}


V16_HANDLERS: Handlers = {
    "Authorize": authorize,
    "BootNotification": boot_notification,
    "DataTransfer": data_transfer,
    "DiagnosticsStatusNotification": recorder("diagnostics", "DiagnosticsStatusNotification"),
    "FirmwareStatusNotification": recorder("firmware", "FirmwareStatusNotification"),
    "Heartbeat": heartbeat,
    "LogStatusNotification": recorder("log", "LogStatusNotification"),
    "MeterValues": meter_values,
    "SecurityEventNotification": recorder("security", "SecurityEventNotification"),
    "SignCertificate": sign_certificate,
    "SignedFirmwareStatusNotification": recorder("firmware", "SignedFirmwareStatusNotification"),
    "StartTransaction": start_transaction,
    "StatusNotification": status_notification,
    "StopTransaction": stop_transaction,
}
