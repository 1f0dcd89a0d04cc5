"""The input of the engine: what happened in a session, as billing reads it from storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

from voltlane.tariff.errors import TariffError


class ChargingState(StrEnum):
    """The state of the EVSE for the driver (OCPP ChargingStateEnum, plus reservation)."""

    CHARGING = "CHARGING"  # energy flows: TIME
    SUSPENDED_EVSE = "SUSPENDED_EVSE"  # the EVSE (load management) holds back: still TIME
    SUSPENDED_EV = "SUSPENDED_EV"  # the EV does not take energy (full, timer): PARKING_TIME
    IDLE = "IDLE"  # charging finished, still plugged in: PARKING_TIME
    RESERVATION = "RESERVATION"  # the EVSE is held for the driver before the session


TIME_STATES = frozenset({ChargingState.CHARGING, ChargingState.SUSPENDED_EVSE})
PARKING_STATES = frozenset({ChargingState.SUSPENDED_EV, ChargingState.IDLE})


@dataclass(frozen=True, slots=True)
class MeterReading:
    at: datetime
    energy_wh: Decimal  # delivered since the session started (register minus baseline)
    power_w: Decimal | None = None
    current_a: Decimal | None = None  # sum over phases


@dataclass(frozen=True, slots=True)
class StateChange:
    at: datetime
    state: ChargingState


@dataclass(frozen=True, slots=True)
class SessionTrace:
    """A session from its start: meter readings and state changes, in UTC, any order.

    The state before the first change is CHARGING. Energy between two readings is taken as
    delivered evenly; after the last reading, and during a reservation, none is.
    """

    start: datetime
    time_zone: ZoneInfo  # the location's, for restrictions
    readings: tuple[MeterReading, ...] = ()
    states: tuple[StateChange, ...] = ()

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None:
            raise TariffError("must be timezone-aware", field="start")
        for i, reading in enumerate(self.readings):
            if reading.at.utcoffset() is None:
                raise TariffError("must be timezone-aware", field=f"readings[{i}].at")
            if reading.at < self.start:
                raise TariffError("is before the session start", field=f"readings[{i}].at")
            for name, value in (
                ("energy_wh", reading.energy_wh),
                ("power_w", reading.power_w),
                ("current_a", reading.current_a),
            ):
                if value is None and name != "energy_wh":
                    continue
                if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                    raise TariffError(
                        "must be a non-negative Decimal", field=f"readings[{i}].{name}"
                    )
            if reading.at == self.start and reading.energy_wh != 0:
                raise TariffError("energy at the session start must be 0", field=f"readings[{i}]")
        for i, change in enumerate(self.states):
            if change.at.utcoffset() is None:
                raise TariffError("must be timezone-aware", field=f"states[{i}].at")
        ordered = sorted(self.readings, key=lambda r: r.at)
        for before, after in pairwise(ordered):
            if after.energy_wh < before.energy_wh:
                raise TariffError(
                    f"energy goes backwards at {after.at.isoformat()}", field="readings"
                )
