"""Tariffs module, Sender interface pushes (mod_tariffs.asciidoc "Push model"): every
registered partner with a tariffs Receiver endpoint holds each tariff it is offered as the
tariffs module serves it to that partner (``tariff_offer``): a PUT
``/{country_code}/{party_id}/{tariff_id}`` when it is new or changed, a DELETE when the
partner is no longer offered it.

A periodic reconciliation (job ``ocpi.push_tariffs``, every 60 s) compares the offer now
with the last push of each tariff, so a version staff publish is pushed within a minute
and a version scheduled for later is pushed when it takes effect, with no hook in the
tariff use cases; it runs under the brand's lock of the tariffs module (``receivers``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import OcpiPartner, OcpiPush, PushState
from voltlane.ocpi.protocol import Module
from voltlane.ocpi.pushes import queue_push
from voltlane.ocpi.roaming_pushes import receivers
from voltlane.ocpi.tariff_offer import partner_segment, tariff_object, tariff_offer
from voltlane.tenancy import TenantInfo


async def _held(db_session: AsyncSession, partner: OcpiPartner) -> dict[str, dict[str, Any]]:
    """The tariffs the partner holds after our pushes: per tariff id the body of its last
    PUT, none when the last push was a DELETE."""
    held: dict[str, dict[str, Any]] = {}
    pushes = await db_session.scalars(
        select(OcpiPush)
        .where(
            OcpiPush.partner_id == partner.id,
            OcpiPush.module == Module.TARIFFS.value,
            OcpiPush.state != PushState.SUPERSEDED,
        )
        .order_by(OcpiPush.created_at, OcpiPush.id)
    )
    for push in pushes:
        if push.method == "PUT" and push.body is not None:
            held[push.object_id] = push.body
        else:
            held.pop(push.object_id, None)
    return held


async def queue_tariff_pushes(db_session: AsyncSession, brand: TenantInfo, *, now: datetime) -> int:
    """Queue the PUTs and DELETEs that bring each partner's tariffs up to its offer at
    ``now``; returns how many."""
    party, partners = await receivers(db_session, brand, Module.TARIFFS)
    queued = 0
    for partner in partners:
        offer = await tariff_offer(
            db_session, partner_segment(partner.country_code, partner.party_id), now
        )
        held = await _held(db_session, partner)
        owed: list[tuple[str, str, dict[str, Any] | None]] = []
        for code in sorted(offer.tariffs):
            current = tariff_object(offer.tariffs[code], party)
            if held.get(code) != current:
                owed.append(("PUT", code, current))
        owed += [("DELETE", code, None) for code in sorted(held) if code not in offer.tariffs]
        for method, code, body in owed:
            await queue_push(
                db_session,
                brand.key,
                partner_id=partner.id,
                module=Module.TARIFFS.value,
                object_id=code,
                method=method,
                path=f"/{party[0]}/{party[1]}/{code}",
                body=body,
            )
        queued += len(owed)
    return queued
