"""The tariffs a roaming partner is offered: per tariff code, the version in force for the
partner's segment (``ROAMING`` with ref ``CC*PID``, falling back to ``ROAMING`` and then
``PUBLIC`` exactly as billing prices its sessions), and which codes apply where.

The tariffs module serves these objects, and the locations module names them in each
connector's ``tariff_ids``, so a partner never sees an id it cannot fetch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.pricing import SCOPES, tariff_of
from voltlane.models.tenant import TariffAssignment, TariffVersion
from voltlane.ocpi.protocol import ocpi_datetime
from voltlane.tariff import (
    Segment,
    SegmentKind,
    Tariff,
    TariffError,
    TariffSet,
    select_tariff,
    tariff_to_ocpi,
)


def partner_segment(country_code: str | None, party_id: str | None) -> Segment:
    """The pricing segment of a partner's drivers (billing names it the same way)."""
    if country_code and party_id:
        return Segment(SegmentKind.ROAMING, f"{country_code}*{party_id}")
    return Segment(SegmentKind.ROAMING)


@dataclass(frozen=True, slots=True)
class OfferedTariff:
    tariff: Tariff
    version: TariffVersion

    @property
    def last_updated(self) -> datetime:
        start = self.tariff.start_date_time
        created = self.version.created_at
        return start if start is not None and start > created else created


@dataclass(frozen=True, slots=True)
class Assignments:
    """Tariff codes by scope: the brand, and per location, EVSE and connector."""

    brand: tuple[str, ...] = ()
    # By scope and the id (as text) of the location, EVSE or connector.
    scoped: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def codes_at(self, location_id: str, evse_pk: str, connector_pk: str) -> tuple[str, ...]:
        """The codes of the most specific scope that has any (billing's rule)."""
        for scope, key in zip(SCOPES, (connector_pk, evse_pk, location_id), strict=False):
            codes = self.scoped.get((scope, key))
            if codes:
                return codes
        return self.brand


Pairs = tuple[tuple[Tariff, TariffVersion], ...]


@dataclass(frozen=True, slots=True)
class TariffOffer:
    """What one partner is offered now."""

    tariffs: dict[str, OfferedTariff]
    assignments: Assignments
    segment: Segment
    at: datetime
    # Every version of each code (as billing reads them), and the choice per set of codes.
    versions: dict[str, Pairs]
    _chosen: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def tariff_ids(self, location_id: str, evse_pk: str, connector_pk: str) -> tuple[str, ...]:
        """The code of the tariff billing prices the partner's sessions at this connector
        with: the segment's version in force among all versions of the codes assigned at
        the most specific scope (billing.pricing), none when nothing is in force."""
        codes = self.assignments.codes_at(location_id, evse_pk, connector_pk)
        if codes not in self._chosen:
            self._chosen[codes] = self._choose(codes)
        return self._chosen[codes]

    def _choose(self, codes: tuple[str, ...]) -> tuple[str, ...]:
        pairs = [pair for code in dict.fromkeys(codes) for pair in self.versions.get(code, ())]
        pairs.sort(key=lambda pair: (pair[1].created_at, pair[1].id))
        if not pairs:
            return ()
        try:
            chosen = select_tariff(_tariff_set(pairs), self.segment, at=self.at)
        except TariffError:
            return ()
        code = next(v.code for t, v in pairs if t is chosen)
        return (code,) if code in self.tariffs else ()


def _tariff_set(pairs: Iterable[tuple[Tariff, TariffVersion]]) -> TariffSet:
    sets: dict[Segment, tuple[Tariff, ...]] = {}
    for tariff, version in pairs:
        key = Segment(SegmentKind(version.segment), version.segment_ref)
        sets[key] = (*sets.get(key, ()), tariff)
    return TariffSet(sets)


def _by_code(versions: Iterable[TariffVersion]) -> dict[str, Pairs]:
    by_code: dict[str, Pairs] = {}
    for version in versions:
        by_code[version.code] = (*by_code.get(version.code, ()), (tariff_of(version), version))
    return by_code


def _in_force(
    by_code: dict[str, Pairs], segment: Segment, at: datetime
) -> dict[str, OfferedTariff]:
    offered: dict[str, OfferedTariff] = {}
    for code, pairs in by_code.items():
        try:
            chosen = select_tariff(_tariff_set(pairs), segment, at=at)
        except TariffError:
            continue  # nothing in force for this partner under this code
        version = next(v for t, v in pairs if t is chosen)
        offered[code] = OfferedTariff(chosen, version)
    return offered


async def tariff_offer(db_session: AsyncSession, segment: Segment, at: datetime) -> TariffOffer:
    """Every code's version in force at ``at`` for ``segment`` and where codes apply."""
    versions = await db_session.scalars(
        select(TariffVersion).order_by(TariffVersion.created_at, TariffVersion.id)
    )
    by_code = _by_code(versions)
    tariffs = _in_force(by_code, segment, at)
    brand: list[str] = []
    scoped: dict[tuple[str, str], list[str]] = {}
    rows = await db_session.execute(
        select(
            TariffAssignment.code,
            TariffAssignment.location_id,
            TariffAssignment.evse_pk,
            TariffAssignment.connector_pk,
        ).order_by(TariffAssignment.created_at)
    )
    for code, location_id, evse_pk, connector_pk in rows:
        if connector_pk is not None:
            scoped.setdefault(("connector", str(connector_pk)), []).append(code)
        elif evse_pk is not None:
            scoped.setdefault(("evse", str(evse_pk)), []).append(code)
        elif location_id is not None:
            scoped.setdefault(("location", str(location_id)), []).append(code)
        else:
            brand.append(code)
    assignments = Assignments(tuple(brand), {k: tuple(v) for k, v in scoped.items()})
    return TariffOffer(tariffs, assignments, segment, at, by_code)


def json_numbers(value: Any) -> Any:
    """Decimals as JSON numbers (OCPI ``number``): a price's shortest float repr is its
    decimal text, so nothing is rounded on the wire."""
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    return float(value) if isinstance(value, Decimal) else value


def tariff_object(offered: OfferedTariff, party: tuple[str, str]) -> dict[str, Any]:
    """The OCPI Tariff object: the engine's rendering with the brand's party and the code
    as id, ``last_updated`` when the partner's version was created or took over."""
    body = json_numbers(tariff_to_ocpi(offered.tariff))
    return {
        "country_code": party[0],
        "party_id": party[1],
        **{k: v for k, v in body.items() if k not in ("country_code", "party_id", "last_updated")},
        "last_updated": ocpi_datetime(offered.last_updated),
    }
