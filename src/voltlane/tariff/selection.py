"""Which tariff prices a session: the driver's segment, then the version in force at its start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from voltlane.core.text import N_
from voltlane.tariff.errors import TariffError
from voltlane.tariff.model import Tariff


class SegmentKind(StrEnum):
    PUBLIC = "PUBLIC"  # ad hoc: app, QR code, payment terminal
    MEMBER = "MEMBER"  # the brand's registered drivers
    SUBSCRIPTION = "SUBSCRIPTION"  # ref: the subscription plan
    FLEET = "FLEET"  # ref: the fleet contract
    ROAMING = "ROAMING"  # ref: the partner, e.g. "NL*TNM"


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    ref: str | None = None

    def __str__(self) -> str:
        return self.kind if self.ref is None else f"{self.kind}:{self.ref}"


PUBLIC = Segment(SegmentKind.PUBLIC)
MEMBER = Segment(SegmentKind.MEMBER)
_CUSTOMERS = frozenset({SegmentKind.SUBSCRIPTION, SegmentKind.FLEET})
_ALWAYS = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TariffSet:
    """The price list of one EVSE: per segment, the tariff versions over time."""

    versions: Mapping[Segment, tuple[Tariff, ...]] = field(default_factory=dict)


def _in_force(versions: tuple[Tariff, ...], at: datetime) -> Tariff | None:
    # A scheduled version supersedes an earlier one from its start even if that one has no end.
    # Among versions starting together, the one listed last wins.
    in_force = [t for t in versions if t.in_force(at)]
    if not in_force:
        return None
    return max(reversed(in_force), key=lambda t: t.start_date_time or _ALWAYS)


def select_tariff(tariffs: TariffSet, segment: Segment, *, at: datetime) -> Tariff:
    """The tariff for a session of ``segment`` starting at ``at``.

    Falls back from the exact segment (``FLEET:acme``) to its kind (``FLEET``), then, for the
    brand's own customers (subscribers, fleets), to ``MEMBER``, then to ``PUBLIC``; a segment
    whose versions are all out of force falls back too. The version in force at the session
    start prices the whole session, even when another takes over while it runs.
    """
    if at.utcoffset() is None:
        raise TariffError("must be timezone-aware", field="at")
    customer = (MEMBER,) if segment.kind in _CUSTOMERS else ()
    for candidate in dict.fromkeys((segment, Segment(segment.kind), *customer, PUBLIC)):
        tariff = _in_force(tariffs.versions.get(candidate, ()), at)
        if tariff is not None:
            return tariff
    raise TariffError(
        N_(
            "no tariff in force for %(segment)s at %(time)s",
            segment=str(segment),
            time=at.isoformat(),
        ),
        field="segment",
    )
