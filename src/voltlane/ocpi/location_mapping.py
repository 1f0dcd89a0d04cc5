"""Our station model as OCPI 2.2.1 Location, EVSE and Connector objects
(mod_locations.asciidoc): one EVSE per ``evses`` row of the location's accepted stations,
``uid`` its uuid, ``evse_id`` its eMI3 id, the status from its connectors' OCPP statuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec

from voltlane.ocpi.location_repository import ConnectorRow, LocationRow
from voltlane.ocpi.protocol import ocpi_datetime
from voltlane.ocpi.tariff_offer import TariffOffer

# OCPI 2.2.1 ConnectorType: a standard outside it (MCS came later) is not shown to partners.
CONNECTOR_TYPES = frozenset(
    {
        "CHADEMO", "CHAOJI", "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D",
        "DOMESTIC_E", "DOMESTIC_F", "DOMESTIC_G", "DOMESTIC_H", "DOMESTIC_I", "DOMESTIC_J",
        "DOMESTIC_K", "DOMESTIC_L", "DOMESTIC_M", "DOMESTIC_N", "DOMESTIC_O", "GBT_AC",
        "GBT_DC", "IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32",
        "IEC_60309_2_three_64", "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2",
        "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C", "NEMA_5_20", "NEMA_6_30",
        "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50",
        "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S",
    }
)  # fmt: skip
# What every OCPP station can do (core profile of 1.6, mandatory in 2.x).
CAPABILITIES = ("REMOTE_START_STOP_CAPABLE", "UNLOCK_CAPABLE")
_IN_USE = frozenset(
    {"Occupied", "Charging", "Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing"}
)
# OCPP connector statuses -> OCPI EVSE Status, first match wins (see evse_status).
STATUS_RULES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"Available"}), "AVAILABLE"),
    (_IN_USE, "CHARGING"),
    (frozenset({"Reserved"}), "RESERVED"),
    (frozenset({"Faulted"}), "OUTOFORDER"),
    (frozenset({"Unavailable"}), "INOPERATIVE"),
)
# Unicode Cc (tabs, line breaks, ...) and lone surrogates: OCPI strings are printable only.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]+")
_HOURS_KEYS = ("twentyfourseven", "regular_hours", "exceptional_openings", "exceptional_closings")


def evse_status(statuses: Iterable[str]) -> str:
    """OCPI EVSE Status from its connectors' last OCPP statuses: AVAILABLE when any
    connector can start a session, else CHARGING while one is in use, else RESERVED,
    OUTOFORDER (Faulted), INOPERATIVE (Unavailable), UNKNOWN."""
    seen = set(statuses)
    for ocpp, ocpi in STATUS_RULES:
        if seen & ocpp:
            return ocpi
    return "UNKNOWN"


def _sql_strings(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


def evse_status_sql(status: str) -> str:
    """:func:`evse_status` as an SQL aggregate over the connectors' column ``status``."""
    cases = " ".join(
        f"WHEN bool_or({status} IN ({_sql_strings(ocpp)})) THEN '{ocpi}'"
        for ocpp, ocpi in STATUS_RULES
    )
    return f"CASE {cases} ELSE 'UNKNOWN' END"


def shown_sql(standard: str, emi3_id: str) -> str:
    """Whether an EVSE is shown (see :func:`evse_object`), as an SQL aggregate over the
    connectors' column ``standard`` and the EVSE's ``emi3_id``."""
    return (
        f"(bool_or({standard} IN ({_sql_strings(CONNECTOR_TYPES)}))"
        f" AND coalesce(min({emi3_id}), '') <> '')"
    )


def printable(text: str) -> str:
    """``text`` as an OCPI string: each run of control characters (stored before the
    station checks refused them) becomes one space, none at either end."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(" ", text).strip()


def coordinate(value: Decimal, max_length: int) -> str:
    """A GeoLocation number: 5 to 7 decimals (the spec's regex) within its string length
    (10 for a latitude, 11 for a longitude), as many as fit."""
    for places in (7, 6, 5):
        text = format(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN), "f")
        whole, _, decimals = text.partition(".")
        text = f"{whole}.{decimals.rstrip('0').ljust(5, '0')}"
        if len(text) <= max_length:
            return text
    raise ValueError(f"coordinate out of range: {value}")


def opening_times(hours: dict[str, Any]) -> dict[str, Any]:
    """The stored OCPI Hours; regular hours only when not open around the clock."""
    shaped = {key: hours[key] for key in _HOURS_KEYS if hours.get(key) not in (None, [])}
    shaped["twentyfourseven"] = bool(hours.get("twentyfourseven", False))
    if shaped["twentyfourseven"]:
        shaped.pop("regular_hours", None)
    return shaped


class ConnectorObject(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    id: str
    standard: str
    format: str
    power_type: str
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: tuple[str, ...] | None = None
    last_updated: str


class EvseObject(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    uid: str
    evse_id: str | None = None
    status: str
    capabilities: tuple[str, ...]
    connectors: tuple[ConnectorObject, ...]
    physical_reference: str | None = None
    last_updated: str


class GeoLocation(msgspec.Struct, gc=False):
    latitude: str
    longitude: str


class LocationObject(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """An OCPI Location. The objects of a page are not tracked by the garbage collector:
    thousands of dicts per page set off full collections of the whole process's heap."""

    country_code: str
    party_id: str
    id: str
    publish: bool
    name: str
    address: str
    city: str
    postal_code: str | None = None
    state: str | None = None
    country: str
    coordinates: GeoLocation
    evses: tuple[EvseObject, ...]
    time_zone: str
    opening_times: dict[str, Any]
    last_updated: str


def connector_object(row: ConnectorRow, offer: TariffOffer) -> ConnectorObject:
    return ConnectorObject(
        id=str(row.connector_id),
        standard=str(row.standard),
        format=str(row.format),
        power_type=str(row.power_type),
        max_voltage=row.max_voltage,
        max_amperage=row.max_amperage,
        max_electric_power=row.max_electric_power,
        tariff_ids=offer.tariff_ids(row.location_id, row.evse_pk, row.connector_pk) or None,
        last_updated=ocpi_datetime(row.updated_at),
    )


def evse_object(rows: Sequence[ConnectorRow], offer: TariffOffer) -> EvseObject | None:
    """The EVSE of ``rows`` (its connectors); None when none of them is an OCPI 2.2.1
    connector type (an EVSE must have at least one), or when the EVSE has no eMI3 id: a
    CDR must name the EVSE by it (mod_cdrs CdrLocation.evse_id), so an EVSE without one
    cannot roam and is not shown."""
    shown = [row for row in rows if str(row.standard) in CONNECTOR_TYPES]
    first = rows[0] if rows else None
    if not shown or first is None or not first.emi3_id:
        return None
    return EvseObject(
        uid=first.evse_pk,
        evse_id=first.emi3_id,
        status=evse_status(row.status for row in rows),
        capabilities=CAPABILITIES,
        connectors=tuple(connector_object(row, offer) for row in shown),
        physical_reference=first.physical_reference or None,
        last_updated=ocpi_datetime(max([first.evse_updated_at, *(row.updated_at for row in rows)])),
    )


def evses_of(rows: Sequence[ConnectorRow], offer: TariffOffer) -> tuple[EvseObject, ...]:
    """EVSE objects of connector rows ordered by EVSE (as the repository reads them)."""
    evses: list[EvseObject] = []
    group: list[ConnectorRow] = []
    for row in rows:
        if group and group[0].evse_pk != row.evse_pk:
            if (evse := evse_object(group, offer)) is not None:
                evses.append(evse)
            group = []
        group.append(row)
    if group and (evse := evse_object(group, offer)) is not None:
        evses.append(evse)
    return tuple(evses)


def location_object(
    location: LocationRow,
    rows: Sequence[ConnectorRow],
    offer: TariffOffer,
    party: tuple[str, str],
) -> LocationObject:
    return LocationObject(
        country_code=party[0],
        party_id=party[1],
        id=str(location.id),
        publish=location.publish,
        name=printable(location.name),
        address=printable(location.address),
        city=printable(location.city),
        postal_code=printable(location.postal_code) if location.postal_code else None,
        state=printable(location.state) if location.state else None,
        country=location.country,
        coordinates=GeoLocation(
            coordinate(location.latitude, 10), coordinate(location.longitude, 11)
        ),
        evses=evses_of(rows, offer),
        time_zone=location.timezone,
        opening_times=opening_times(location.opening_hours),
        last_updated=ocpi_datetime(location.last_updated),
    )


def locations_of(
    locations: Sequence[LocationRow],
    rows: Sequence[ConnectorRow],
    offer: TariffOffer,
    party: tuple[str, str],
) -> list[LocationObject]:
    by_location: dict[str, list[ConnectorRow]] = {}
    for row in rows:
        by_location.setdefault(row.location_id, []).append(row)
    return [
        location_object(location, by_location.get(str(location.id), ()), offer, party)
        for location in locations
    ]
