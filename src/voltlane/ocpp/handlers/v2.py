"""OCPP 2.0.1 and 2.1: station -> CSMS messages onto the charging and station domains."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane import billing
from voltlane.charging import service as charging
from voltlane.charging.energy import REGISTER
from voltlane.charging.live import INSERT_EVENT, event_row, meter_writes
from voltlane.charging.schemas import Sample, TransactionEventInput
from voltlane.core.clock import iso_utc, utcnow
from voltlane.models.tenant import RegistrationStatus
from voltlane.ocpp.handlers.base import (
    HandlerContext,
    Handlers,
    Payload,
    decimal,
    heartbeat,
    live_session,
    record,
    record_status_batched,
    recorder,
)
from voltlane.ocpp.handlers.ev_needs import notify_ev_charging_needs
from voltlane.ocpp.protocol import timestamp
from voltlane.station import operations
from voltlane.tariff import TariffError, minor_unit_exponent


def samples(meter_values: list[dict[str, Any]]) -> list[Sample]:
    """MeterValueType[] of 2.x as version-neutral samples (value x 10^multiplier)."""
    out: list[Sample] = []
    for mv in meter_values:
        at = timestamp(mv.get("timestamp"), "meterValue.timestamp")
        for sv in mv.get("sampledValue", []):
            unit = sv.get("unitOfMeasure", {})
            multiplier = int(unit.get("multiplier", 0))
            value = decimal(sv["value"], "sampledValue.value").scaleb(multiplier)
            out.append(
                Sample(
                    sampled_at=at,
                    measurand=sv.get("measurand", REGISTER),
                    value=value,
                    unit=unit.get("unit", "Wh"),
                    phase=sv.get("phase"),
                    location=sv.get("location"),
                    context=sv.get("context"),
                    signed_data=sv.get("signedMeterValue"),
                )
            )
    return out


async def boot_notification(ctx: HandlerContext, payload: Payload) -> Payload:
    station = payload.get("chargingStation", {})
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        status = await operations.record_boot(
            db_session,
            ctx.station.pk,
            protocol=ctx.version.value,
            vendor=station.get("vendorName"),
            model=station.get("model"),
            serial_number=station.get("serialNumber"),
            firmware_version=station.get("firmwareVersion"),
            info={
                "reason": payload.get("reason"),
                **{k: v for k, v in station.items() if k not in {"vendorName", "model"}},
            },
        )
    ctx.registration = status
    accepted = status is RegistrationStatus.ACCEPTED
    return {
        "status": status.value,
        "currentTime": iso_utc(utcnow()),
        "interval": ctx.heartbeat_interval if accepted else ctx.boot_retry_interval,
    }


async def authorize(ctx: HandlerContext, payload: Payload) -> Payload:
    token = payload["idToken"]
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        decision = await charging.authorize(
            db_session,
            id_token=token["idToken"],
            token_type=token["type"],
            check_concurrent=True,
            station=ctx.station.pk,
        )
    return {"idTokenInfo": decision.as_v2()}


async def status_notification(ctx: HandlerContext, payload: Payload) -> Payload:
    await record_status_batched(
        ctx,
        evse_id=payload["evseId"],
        connector_id=payload["connectorId"],
        status=payload["connectorStatus"],
        at=timestamp(payload["timestamp"], "timestamp"),
        error_code=None,
        payload=payload,
    )
    return {}


async def transaction_event(ctx: HandlerContext, payload: Payload) -> Payload:
    info = payload["transactionInfo"]
    evse = payload.get("evse") or {}
    token = payload.get("idToken") or {}
    event = TransactionEventInput(
        event_type=payload["eventType"],
        timestamp=timestamp(payload["timestamp"], "timestamp"),
        trigger_reason=payload["triggerReason"],
        seq_no=payload["seqNo"],
        transaction_id=info["transactionId"],
        charging_state=info.get("chargingState"),
        stopped_reason=info.get("stoppedReason"),
        remote_start_id=info.get("remoteStartId"),
        offline=bool(payload.get("offline", False)),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
        id_token=token.get("idToken"),
        id_token_type=token.get("type"),
        reservation_id=payload.get("reservationId"),
        samples=samples(payload.get("meterValue", [])),
        payload=payload,
    )
    if _plain_update(event) and await _live_update(ctx, event):
        return {}
    ctx.live.clear()  # the full path may change sessions held live
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        return await charging.transaction_event(
            db_session, ctx.station, event, total_cost=total_cost
        )


async def total_cost(db_session: AsyncSession, session_id: uuid.UUID) -> Decimal | None:
    """What an ended session costs incl. VAT, priced exactly as its CDR will be; None when
    no tariff applies (the charger then shows no cost)."""
    try:
        priced = await billing.live_cost(db_session, session_id)
    except (billing.NoTariffError, TariffError):
        return None
    return Decimal(priced.total_incl_vat).scaleb(-minor_unit_exponent(priced.currency))


def _plain_update(event: TransactionEventInput) -> bool:
    """An Updated event that only reports progress (its reply is always empty)."""
    return (
        event.event_type == "Updated"
        and event.id_token is None
        and not event.offline
        and event.evse_id is None
        and event.remote_start_id is None
        and event.reservation_id is None
    )


async def _live_update(ctx: HandlerContext, event: TransactionEventInput) -> bool:
    live = await live_session(ctx, event.transaction_id)
    if live is None or live.started_at is None or event.timestamp < live.started_at:
        return False
    writes, change = meter_writes(
        ctx.station, live, event.samples, seq_no=event.seq_no, charging_state=event.charging_state
    )
    writes.append(
        (
            INSERT_EVENT,
            [
                event_row(
                    ctx.station,
                    live,
                    seq_no=event.seq_no,
                    event_type=event.event_type,
                    trigger_reason=event.trigger_reason,
                    timestamp=event.timestamp,
                    offline=event.offline,
                    payload=event.payload,
                )
            ],
        )
    )
    await ctx.group.write(writes)
    change.apply()
    return True


async def meter_values(ctx: HandlerContext, payload: Payload) -> Payload:
    parsed = samples(payload["meterValue"])
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        await charging.meter_values(
            db_session, ctx.station, evse_id=payload["evseId"], transaction_id=None, samples=parsed
        )
    return {}


async def data_transfer(ctx: HandlerContext, payload: Payload) -> Payload:
    await record(ctx, kind="data_transfer", action="DataTransfer", payload=payload)
    return {"status": "UnknownVendorId"}


async def get_certificate_chain_status(ctx: HandlerContext, payload: Payload) -> Payload:
    await record(ctx, kind="security", action="GetCertificateChainStatus", payload=payload)
    # No OCSP responder is reachable from here: every lookup is reported as failed.
    next_update = iso_utc(utcnow() + timedelta(hours=1))
    return {
        "certificateStatus": [
            {
                "certificateHashData": item["certificateHashData"],
                "source": item["source"],
                "status": "Failed",
                "nextUpdate": next_update,
            }
            for item in payload["certificateStatusRequests"]
        ]
    }


async def vat_number_validation(ctx: HandlerContext, payload: Payload) -> Payload:
    await record(ctx, kind="billing", action="VatNumberValidation", payload=payload)
    # No VAT registry is connected: the number cannot be confirmed.
    return {"vatNumber": payload["vatNumber"], "status": "Rejected"}


V2_HANDLERS: Handlers = {
    "Authorize": authorize,
    "BootNotification": boot_notification,
    "ClearedChargingLimit": recorder("charging_limit", "ClearedChargingLimit"),
    "DataTransfer": data_transfer,
    "FirmwareStatusNotification": recorder("firmware", "FirmwareStatusNotification"),
    "Get15118EVCertificate": recorder(
        "security", "Get15118EVCertificate", {"status": "Failed", "exiResponse": ""}
    ),
    "GetCertificateStatus": recorder("security", "GetCertificateStatus", {"status": "Failed"}),
    "Heartbeat": heartbeat,
    "LogStatusNotification": recorder("log", "LogStatusNotification"),
    "MeterValues": meter_values,
    "NotifyChargingLimit": recorder("charging_limit", "NotifyChargingLimit"),
    "NotifyCustomerInformation": recorder("customer", "NotifyCustomerInformation"),
    "NotifyDisplayMessages": recorder("display", "NotifyDisplayMessages"),
    "NotifyEVChargingNeeds": notify_ev_charging_needs,
    "NotifyEVChargingSchedule": recorder("ev", "NotifyEVChargingSchedule", {"status": "Accepted"}),
    "NotifyEvent": recorder("event", "NotifyEvent"),
    "NotifyMonitoringReport": recorder("report", "NotifyMonitoringReport"),
    "NotifyReport": recorder("report", "NotifyReport"),
    "PublishFirmwareStatusNotification": recorder("firmware", "PublishFirmwareStatusNotification"),
    "ReportChargingProfiles": recorder("charging_profile", "ReportChargingProfiles"),
    "ReservationStatusUpdate": recorder("reservation", "ReservationStatusUpdate"),
    "SecurityEventNotification": recorder("security", "SecurityEventNotification"),
    "SignCertificate": recorder("security", "SignCertificate", {"status": "Rejected"}),
    "StatusNotification": status_notification,
    "TransactionEvent": transaction_event,
}

V21_HANDLERS: Handlers = {
    **V2_HANDLERS,
    "BatterySwap": recorder("battery_swap", "BatterySwap"),
    "ClosePeriodicEventStream": recorder("stream", "ClosePeriodicEventStream"),
    "GetCertificateChainStatus": get_certificate_chain_status,
    "NotifyDERAlarm": recorder("der", "NotifyDERAlarm"),
    "NotifyDERStartStop": recorder("der", "NotifyDERStartStop"),
    # A SEND message (type 6): stored, never answered.
    "NotifyPeriodicEventStream": recorder("stream", "NotifyPeriodicEventStream"),
    "NotifyPriorityCharging": recorder("priority", "NotifyPriorityCharging"),
    "NotifySettlement": recorder("settlement", "NotifySettlement"),
    "OpenPeriodicEventStream": recorder(
        "stream", "OpenPeriodicEventStream", {"status": "Accepted"}
    ),
    # No dynamic schedule is kept for the station yet.
    "PullDynamicScheduleUpdate": recorder(
        "charging_profile", "PullDynamicScheduleUpdate", {"status": "Rejected"}
    ),
    "ReportDERControl": recorder("der", "ReportDERControl"),
    "VatNumberValidation": vat_number_validation,
}
