"""A sample session for a price preview: what an operator types in, as a trace the engine prices.

The preview calls the same ``price_session`` as the live cost and the CDR, so it shows what a
session with these figures would really cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from voltlane.tariff.engine import price_session
from voltlane.tariff.errors import TariffError
from voltlane.tariff.model import Tariff
from voltlane.tariff.result import PricedSession
from voltlane.tariff.trace import ChargingState, MeterReading, SessionTrace, StateChange

_WATTS_PER_KW = Decimal(1000)


@dataclass(frozen=True, slots=True)
class SampleSession:
    """Charging from ``start`` for ``charging`` at ``max_power_kw``, delivering ``energy_kwh``
    evenly, then ``parking`` plugged in without charging (idle) before unplugging."""

    start: datetime  # timezone-aware
    time_zone: ZoneInfo  # the restrictions' zone: the location's, or the brand's
    charging: timedelta
    energy_kwh: Decimal
    max_power_kw: Decimal | None = None
    parking: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None:
            raise TariffError("must be timezone-aware", field="start")
        if self.charging <= timedelta(0):
            raise TariffError("must be longer than zero", field="charging")
        if self.parking < timedelta(0):
            raise TariffError("must not be negative", field="parking")
        if not self.energy_kwh.is_finite() or self.energy_kwh < 0:
            raise TariffError("must not be negative", field="energy_kwh")
        power = self.max_power_kw
        if power is not None and (not power.is_finite() or power < 0):
            raise TariffError("must not be negative", field="max_power_kw")

    @property
    def end(self) -> datetime:
        return self.start + self.charging + self.parking

    def trace(self) -> SessionTrace:
        """The meter readings and states of this session, as billing would read them."""
        stop = self.start + self.charging
        power = None if self.max_power_kw is None else self.max_power_kw * _WATTS_PER_KW
        readings = (
            MeterReading(self.start, Decimal(0), power_w=power),
            MeterReading(stop, self.energy_kwh * _WATTS_PER_KW, power_w=Decimal(0)),
        )
        states = (StateChange(stop, ChargingState.IDLE),) if self.parking else ()
        return SessionTrace(self.start, self.time_zone, readings, states)


def price_sample(tariff: Tariff, sample: SampleSession) -> PricedSession:
    """What ``sample`` costs under ``tariff``, computed by the engine that prices CDRs."""
    return price_session(tariff, sample.trace(), end=sample.end)
