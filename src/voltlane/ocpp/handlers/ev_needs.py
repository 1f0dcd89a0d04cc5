"""NotifyEVChargingNeeds (2.0.1 and 2.1): a car's ISO 15118 needs onto its session's target."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from voltlane.ocpp.handlers.base import HandlerContext, Payload, record
from voltlane.ocpp.protocol import Version, timestamp
from voltlane.smart_charging.ev_needs import EvNeeds, NeedsAnswer, ev_charging_needs

_TENTH = Decimal("0.1")


def _whole(value: Any) -> int | None:
    return None if value is None else int(value)


def _amperes(value: Any) -> Decimal | None:
    # Tenths of an ampere, rounded down (the resolution allocations are kept in).
    return None if value is None else Decimal(str(value)).quantize(_TENTH, rounding=ROUND_DOWN)


def ev_needs(payload: Payload) -> EvNeeds:
    """The version-neutral needs of a request (already schema-valid)."""
    needs: dict[str, Any] = payload["chargingNeeds"]
    v2x: dict[str, Any] = needs.get("v2xChargingParameters") or {}
    # 2.1 V2X parameters speak for the whole transfer; else the AC or DC parameters.
    energy = v2x.get("evTargetEnergyRequest")
    for params in ("acChargingParameters", "dcChargingParameters"):
        if energy is None:
            energy = (needs.get(params) or {}).get("energyAmount")
    departure = needs.get("departureTime")
    return EvNeeds(
        evse_id=payload["evseId"],
        transfer_mode=needs["requestedEnergyTransfer"],
        energy_wh=_whole(energy),
        departure_at=None if departure is None else timestamp(departure, "departureTime"),
        max_discharge_w=_whole(v2x.get("maxDischargePower")),
        max_discharge_a=_amperes(v2x.get("maxDischargeCurrent")),
    )


async def notify_ev_charging_needs(ctx: HandlerContext, payload: Payload) -> Payload:
    """Store the needs as the departure target and answer whether profiles will follow."""
    await record(ctx, kind="ev", action="NotifyEVChargingNeeds", payload=payload)
    needs = ev_needs(payload)
    unmanaged = (
        NeedsAnswer.NO_CHARGING_PROFILE if ctx.version is Version.V21 else NeedsAnswer.REJECTED
    )
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        outcome = await ev_charging_needs(
            db_session, ctx.station.pk, needs, no_profile_answer=unmanaged
        )
    return {"status": outcome.answer.value}
