"""Energy of a charging session from energy-register readings (pure functions).

A session's energy is a register delta: the last reading minus the reading at start. Two
things must never be billed: a charger's lifetime register read against an offline
``meterStart`` of 0, and a register that went backwards (reset or replacement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

REGISTER = "Energy.Active.Import.Register"
# Slack on the physical ceiling (max power x duration) before a reading counts as impossible.
PLAUSIBILITY_FACTOR = Decimal("1.10")
PLAUSIBILITY_FLOOR_WH = Decimal(100)

_ENERGY_UNITS = {"wh": Decimal(1), "kwh": Decimal(1000), "mwh": Decimal(1_000_000)}


def to_wh(value: Decimal, unit: str | None) -> Decimal | None:
    """An energy value in Wh, or None when the unit is not an active-energy unit."""
    factor = _ENERGY_UNITS.get((unit or "Wh").lower())
    return None if factor is None else value * factor


def _wh(value: Decimal) -> str:
    """A Wh figure for messages: the same text whether it came from a message or storage."""
    return format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class Reading:
    at: datetime
    wh: Decimal


@dataclass(frozen=True, slots=True)
class EnergyResult:
    energy_wh: Decimal | None
    review: str | None  # why a person must look at it; None when sound
    baseline_wh: Decimal | None = None  # the register value the energy counts from


def _ceiling(
    started_at: datetime | None, until: datetime, max_power_w: int | None
) -> Decimal | None:
    if started_at is None or max_power_w is None:
        return None
    hours = Decimal(max((until - started_at).total_seconds(), 0)) / Decimal(3600)
    return Decimal(max_power_w) * hours * PLAUSIBILITY_FACTOR + PLAUSIBILITY_FLOOR_WH


def session_energy(
    readings: list[Reading],
    *,
    meter_start_wh: Decimal | None,
    started_at: datetime | None,
    max_power_w: int | None,
) -> EnergyResult:
    """Energy in Wh from the register readings of one session (any order, duplicates ok)."""
    ordered = sorted(readings, key=lambda r: r.at)
    if meter_start_wh is None and not ordered:
        return EnergyResult(None, None)
    baseline = meter_start_wh if meter_start_wh is not None else ordered[0].wh
    if not ordered:
        return EnergyResult(Decimal(0), None, baseline)
    last = ordered[-1]
    review: str | None = None
    if baseline == 0:
        # An offline start often reports 0; if the first non-zero reading could not have
        # been reached from 0 in the time since the start, it is the lifetime register.
        nonzero = next((r for r in ordered if r.wh > 0), None)
        ceiling = _ceiling(started_at, nonzero.at, max_power_w) if nonzero else None
        if nonzero is not None and (ceiling is None or nonzero.wh > ceiling):
            if nonzero is last or nonzero.at == last.at:
                return EnergyResult(
                    None,
                    f"meter start 0 against a register of {_wh(nonzero.wh)} Wh and no earlier "
                    "reading: energy unknown",
                )
            baseline = nonzero.wh
            review = (
                f"meter start 0 ignored: baseline is the first register reading "
                f"({_wh(nonzero.wh)} Wh at {nonzero.at.isoformat()})"
            )
    if last.wh < baseline:
        return EnergyResult(
            None, f"register went backwards ({_wh(baseline)} -> {_wh(last.wh)} Wh): energy unknown"
        )
    energy = last.wh - baseline
    ceiling = _ceiling(started_at, last.at, max_power_w)
    if ceiling is not None and energy > ceiling:
        return EnergyResult(
            energy, f"{_wh(energy)} Wh exceeds what the EVSE can deliver in the time", baseline
        )
    return EnergyResult(energy, review, baseline)
