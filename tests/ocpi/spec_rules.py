"""The field rules of OCPI 2.2.1, transcribed by hand from the specification's tables
(the ocpi/ocpi repository at tag v2.2.1-d2: mod_*.asciidoc, credentials,
version_information_endpoint, types, transport_and_format), and a validator that checks a
JSON object against them.

Deliberately independent of ``voltlane``: an eMSP peer that checks our OCPI output must
not share our models, or it would agree with our mistakes.

A rule is ``(type, cardinality)``. Types: ``string(n)`` (printable UTF-8, at most n
characters), ``CiString(n)`` (printable ASCII), ``DateTime`` (RFC 3339 in UTC as the
spec's types table restricts it, string(25)), ``URL`` (string(255)), ``number`` (a JSON
number), ``int`` / ``int(n)`` (at most n digits), ``boolean``, an enum of ``ENUMS`` or an
object of ``OBJECTS``. Cardinality: ``1`` required, ``?`` optional, ``*`` a list,
``+`` a non-empty list.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

Rule = tuple[str, str]

ENUMS: dict[str, frozenset[str]] = {
    name: frozenset(values.split())
    for name, values in {
        # mod_locations
        "Capability": "CHARGING_PROFILE_CAPABLE CHARGING_PREFERENCES_CAPABLE CHIP_CARD_SUPPORT"
        " CONTACTLESS_CARD_SUPPORT CREDIT_CARD_PAYABLE DEBIT_CARD_PAYABLE PED_TERMINAL"
        " REMOTE_START_STOP_CAPABLE RESERVABLE RFID_READER START_SESSION_CONNECTOR_REQUIRED"
        " TOKEN_GROUP_CAPABLE UNLOCK_CAPABLE",
        "ConnectorFormat": "SOCKET CABLE",
        "ConnectorType": "CHADEMO CHAOJI DOMESTIC_A DOMESTIC_B DOMESTIC_C DOMESTIC_D DOMESTIC_E"
        " DOMESTIC_F DOMESTIC_G DOMESTIC_H DOMESTIC_I DOMESTIC_J DOMESTIC_K DOMESTIC_L"
        " DOMESTIC_M DOMESTIC_N DOMESTIC_O GBT_AC GBT_DC IEC_60309_2_single_16"
        " IEC_60309_2_three_16 IEC_60309_2_three_32 IEC_60309_2_three_64 IEC_62196_T1"
        " IEC_62196_T1_COMBO IEC_62196_T2 IEC_62196_T2_COMBO IEC_62196_T3A IEC_62196_T3C"
        " NEMA_5_20 NEMA_6_30 NEMA_6_50 NEMA_10_30 NEMA_10_50 NEMA_14_30 NEMA_14_50"
        " PANTOGRAPH_BOTTOM_UP PANTOGRAPH_TOP_DOWN TESLA_R TESLA_S",
        "EnergySourceCategory": "NUCLEAR GENERAL_FOSSIL COAL GAS GENERAL_GREEN SOLAR WIND WATER",
        "EnvironmentalImpactCategory": "NUCLEAR_WASTE CARBON_DIOXIDE",
        "Facility": "HOTEL RESTAURANT CAFE MALL SUPERMARKET SPORT RECREATION_AREA NATURE MUSEUM"
        " BIKE_SHARING BUS_STOP TAXI_STAND TRAM_STOP METRO_STATION TRAIN_STATION AIRPORT"
        " PARKING_LOT CARPOOL_PARKING FUEL_STATION WIFI",
        "ImageCategory": "CHARGER ENTRANCE LOCATION NETWORK OPERATOR OTHER OWNER",
        "ParkingRestriction": "EV_ONLY PLUGGED DISABLED CUSTOMERS MOTORCYCLES",
        "ParkingType": "ALONG_MOTORWAY PARKING_GARAGE PARKING_LOT ON_DRIVEWAY ON_STREET"
        " UNDERGROUND_GARAGE",
        "PowerType": "AC_1_PHASE AC_2_PHASE AC_2_PHASE_SPLIT AC_3_PHASE DC",
        "Status": "AVAILABLE BLOCKED CHARGING INOPERATIVE OUTOFORDER PLANNED REMOVED RESERVED"
        " UNKNOWN",
        # mod_tariffs
        "DayOfWeek": "MONDAY TUESDAY WEDNESDAY THURSDAY FRIDAY SATURDAY SUNDAY",
        "ReservationRestrictionType": "RESERVATION RESERVATION_EXPIRES",
        "TariffDimensionType": "ENERGY FLAT PARKING_TIME TIME",
        "TariffType": "AD_HOC_PAYMENT PROFILE_CHEAP PROFILE_FAST PROFILE_GREEN REGULAR",
        # mod_sessions
        "ChargingPreferencesResponse": "ACCEPTED DEPARTURE_REQUIRED ENERGY_NEED_REQUIRED"
        " NOT_POSSIBLE PROFILE_TYPE_NOT_SUPPORTED",
        "ProfileType": "CHEAP FAST GREEN REGULAR",
        "SessionStatus": "ACTIVE COMPLETED INVALID PENDING RESERVATION",
        # mod_cdrs
        "AuthMethod": "AUTH_REQUEST COMMAND WHITELIST",
        "CdrDimensionType": "CURRENT ENERGY ENERGY_EXPORT ENERGY_IMPORT MAX_CURRENT MIN_CURRENT"
        " MAX_POWER MIN_POWER PARKING_TIME POWER RESERVATION_TIME STATE_OF_CHARGE TIME",
        # mod_tokens
        "AllowedType": "ALLOWED BLOCKED EXPIRED NO_CREDIT NOT_ALLOWED",
        "TokenType": "AD_HOC_USER APP_USER OTHER RFID",
        "WhitelistType": "ALWAYS ALLOWED ALLOWED_OFFLINE NEVER",
        # mod_commands
        "CommandResponseType": "NOT_SUPPORTED REJECTED ACCEPTED UNKNOWN_SESSION",
        "CommandResultType": "ACCEPTED CANCELED_RESERVATION EVSE_OCCUPIED EVSE_INOPERATIVE FAILED"
        " NOT_SUPPORTED REJECTED TIMEOUT UNKNOWN_RESERVATION",
        "CommandType": "CANCEL_RESERVATION RESERVE_NOW START_SESSION STOP_SESSION UNLOCK_CONNECTOR",
        # mod_charging_profiles
        "ChargingProfileResponseType": "ACCEPTED NOT_SUPPORTED REJECTED TOO_OFTEN UNKNOWN_SESSION",
        "ChargingProfileResultType": "ACCEPTED REJECTED UNKNOWN",
        "ChargingRateUnit": "W A",
        # mod_hub_client_info
        "ConnectionStatus": "CONNECTED OFFLINE PLANNED SUSPENDED",
        # version_information_endpoint
        "InterfaceRole": "SENDER RECEIVER",
        "ModuleID": "cdrs chargingprofiles commands credentials hubclientinfo locations sessions"
        " tariffs tokens",
        "VersionNumber": "2.0 2.1 2.1.1 2.2 2.2.1",
        # types
        "Role": "CPO EMSP HUB NAP NSP OTHER SCSP",
    }.items()
}

OBJECTS: dict[str, dict[str, Rule]] = {
    # mod_locations.asciidoc
    "Location": {
        "country_code": ("CiString(2)", "1"),
        "party_id": ("CiString(3)", "1"),
        "id": ("CiString(36)", "1"),
        "publish": ("boolean", "1"),
        "publish_allowed_to": ("PublishTokenType", "*"),
        "name": ("string(255)", "?"),
        "address": ("string(45)", "1"),
        "city": ("string(45)", "1"),
        "postal_code": ("string(10)", "?"),
        "state": ("string(20)", "?"),
        "country": ("string(3)", "1"),
        "coordinates": ("GeoLocation", "1"),
        "related_locations": ("AdditionalGeoLocation", "*"),
        "parking_type": ("ParkingType", "?"),
        "evses": ("EVSE", "*"),
        "directions": ("DisplayText", "*"),
        "operator": ("BusinessDetails", "?"),
        "suboperator": ("BusinessDetails", "?"),
        "owner": ("BusinessDetails", "?"),
        "facilities": ("Facility", "*"),
        "time_zone": ("string(255)", "1"),
        "opening_times": ("Hours", "?"),
        "charging_when_closed": ("boolean", "?"),
        "images": ("Image", "*"),
        "energy_mix": ("EnergyMix", "?"),
        "last_updated": ("DateTime", "1"),
    },
    "EVSE": {
        "uid": ("CiString(36)", "1"),
        "evse_id": ("CiString(48)", "?"),
        "status": ("Status", "1"),
        "status_schedule": ("StatusSchedule", "*"),
        "capabilities": ("Capability", "*"),
        "connectors": ("Connector", "+"),
        "floor_level": ("string(4)", "?"),
        "coordinates": ("GeoLocation", "?"),
        "physical_reference": ("string(16)", "?"),
        "directions": ("DisplayText", "*"),
        "parking_restrictions": ("ParkingRestriction", "*"),
        "images": ("Image", "*"),
        "last_updated": ("DateTime", "1"),
    },
    "Connector": {
        "id": ("CiString(36)", "1"),
        "standard": ("ConnectorType", "1"),
        "format": ("ConnectorFormat", "1"),
        "power_type": ("PowerType", "1"),
        "max_voltage": ("int", "1"),
        "max_amperage": ("int", "1"),
        "max_electric_power": ("int", "?"),
        "tariff_ids": ("CiString(36)", "*"),
        "terms_and_conditions": ("URL", "?"),
        "last_updated": ("DateTime", "1"),
    },
    "AdditionalGeoLocation": {
        "latitude": ("string(10)", "1"),
        "longitude": ("string(11)", "1"),
        "name": ("DisplayText", "?"),
    },
    "BusinessDetails": {
        "name": ("string(100)", "1"),
        "website": ("URL", "?"),
        "logo": ("Image", "?"),
    },
    "EnergyMix": {
        "is_green_energy": ("boolean", "1"),
        "energy_sources": ("EnergySource", "*"),
        "environ_impact": ("EnvironmentalImpact", "*"),
        "supplier_name": ("string(64)", "?"),
        "energy_product_name": ("string(64)", "?"),
    },
    "EnergySource": {
        "source": ("EnergySourceCategory", "1"),
        "percentage": ("number", "1"),
    },
    "EnvironmentalImpact": {
        "category": ("EnvironmentalImpactCategory", "1"),
        "amount": ("number", "1"),
    },
    "ExceptionalPeriod": {
        "period_begin": ("DateTime", "1"),
        "period_end": ("DateTime", "1"),
    },
    "GeoLocation": {
        "latitude": ("string(10)", "1"),
        "longitude": ("string(11)", "1"),
    },
    "Hours": {
        "twentyfourseven": ("boolean", "1"),
        "regular_hours": ("RegularHours", "*"),
        "exceptional_openings": ("ExceptionalPeriod", "*"),
        "exceptional_closings": ("ExceptionalPeriod", "*"),
    },
    "Image": {
        "url": ("URL", "1"),
        "thumbnail": ("URL", "?"),
        "category": ("ImageCategory", "1"),
        "type": ("CiString(4)", "1"),
        "width": ("int(5)", "?"),
        "height": ("int(5)", "?"),
    },
    "PublishTokenType": {
        "uid": ("CiString(36)", "?"),
        "type": ("TokenType", "?"),
        "visual_number": ("string(64)", "?"),
        "issuer": ("string(64)", "?"),
        "group_id": ("CiString(36)", "?"),
    },
    "RegularHours": {
        "weekday": ("int(1)", "1"),
        "period_begin": ("string(5)", "1"),
        "period_end": ("string(5)", "1"),
    },
    "StatusSchedule": {
        "period_begin": ("DateTime", "1"),
        "period_end": ("DateTime", "?"),
        "status": ("Status", "1"),
    },
    # mod_tariffs.asciidoc
    "Tariff": {
        "country_code": ("CiString(2)", "1"),
        "party_id": ("CiString(3)", "1"),
        "id": ("CiString(36)", "1"),
        "currency": ("string(3)", "1"),
        "type": ("TariffType", "?"),
        "tariff_alt_text": ("DisplayText", "*"),
        "tariff_alt_url": ("URL", "?"),
        "min_price": ("Price", "?"),
        "max_price": ("Price", "?"),
        "elements": ("TariffElement", "+"),
        "start_date_time": ("DateTime", "?"),
        "end_date_time": ("DateTime", "?"),
        "energy_mix": ("EnergyMix", "?"),
        "last_updated": ("DateTime", "1"),
    },
    "PriceComponent": {
        "type": ("TariffDimensionType", "1"),
        "price": ("number", "1"),
        "vat": ("number", "?"),
        "step_size": ("int", "1"),
    },
    "TariffElement": {
        "price_components": ("PriceComponent", "+"),
        "restrictions": ("TariffRestrictions", "?"),
    },
    "TariffRestrictions": {
        "start_time": ("string(5)", "?"),
        "end_time": ("string(5)", "?"),
        "start_date": ("string(10)", "?"),
        "end_date": ("string(10)", "?"),
        "min_kwh": ("number", "?"),
        "max_kwh": ("number", "?"),
        "min_current": ("number", "?"),
        "max_current": ("number", "?"),
        "min_power": ("number", "?"),
        "max_power": ("number", "?"),
        "min_duration": ("int", "?"),
        "max_duration": ("int", "?"),
        "day_of_week": ("DayOfWeek", "*"),
        "reservation": ("ReservationRestrictionType", "?"),
    },
    # mod_sessions.asciidoc
    "Session": {
        "country_code": ("CiString(2)", "1"),
        "party_id": ("CiString(3)", "1"),
        "id": ("CiString(36)", "1"),
        "start_date_time": ("DateTime", "1"),
        "end_date_time": ("DateTime", "?"),
        "kwh": ("number", "1"),
        "cdr_token": ("CdrToken", "1"),
        "auth_method": ("AuthMethod", "1"),
        "authorization_reference": ("CiString(36)", "?"),
        "location_id": ("CiString(36)", "1"),
        "evse_uid": ("CiString(36)", "1"),
        "connector_id": ("CiString(36)", "1"),
        "meter_id": ("string(255)", "?"),
        "currency": ("string(3)", "1"),
        "charging_periods": ("ChargingPeriod", "*"),
        "total_cost": ("Price", "?"),
        "status": ("SessionStatus", "1"),
        "last_updated": ("DateTime", "1"),
    },
    "ChargingPreferences": {
        "profile_type": ("ProfileType", "1"),
        "departure_time": ("DateTime", "?"),
        "energy_need": ("number", "?"),
        "discharge_allowed": ("boolean", "?"),
    },
    # mod_cdrs.asciidoc
    "CDR": {
        "country_code": ("CiString(2)", "1"),
        "party_id": ("CiString(3)", "1"),
        "id": ("CiString(39)", "1"),
        "start_date_time": ("DateTime", "1"),
        "end_date_time": ("DateTime", "1"),
        "session_id": ("CiString(36)", "?"),
        "cdr_token": ("CdrToken", "1"),
        "auth_method": ("AuthMethod", "1"),
        "authorization_reference": ("CiString(36)", "?"),
        "cdr_location": ("CdrLocation", "1"),
        "meter_id": ("string(255)", "?"),
        "currency": ("string(3)", "1"),
        "tariffs": ("Tariff", "*"),
        "charging_periods": ("ChargingPeriod", "+"),
        "signed_data": ("SignedData", "?"),
        "total_cost": ("Price", "1"),
        "total_fixed_cost": ("Price", "?"),
        "total_energy": ("number", "1"),
        "total_energy_cost": ("Price", "?"),
        "total_time": ("number", "1"),
        "total_time_cost": ("Price", "?"),
        "total_parking_time": ("number", "?"),
        "total_parking_cost": ("Price", "?"),
        "total_reservation_cost": ("Price", "?"),
        "remark": ("string(255)", "?"),
        "invoice_reference_id": ("CiString(39)", "?"),
        "credit": ("boolean", "?"),
        "credit_reference_id": ("CiString(39)", "?"),
        "home_charging_compensation": ("boolean", "?"),
        "last_updated": ("DateTime", "1"),
    },
    "CdrDimension": {
        "type": ("CdrDimensionType", "1"),
        "volume": ("number", "1"),
    },
    "CdrLocation": {
        "id": ("CiString(36)", "1"),
        "name": ("string(255)", "?"),
        "address": ("string(45)", "1"),
        "city": ("string(45)", "1"),
        "postal_code": ("string(10)", "?"),
        "state": ("string(20)", "?"),
        "country": ("string(3)", "1"),
        "coordinates": ("GeoLocation", "1"),
        "evse_uid": ("CiString(36)", "1"),
        "evse_id": ("CiString(48)", "1"),
        "connector_id": ("CiString(36)", "1"),
        "connector_standard": ("ConnectorType", "1"),
        "connector_format": ("ConnectorFormat", "1"),
        "connector_power_type": ("PowerType", "1"),
    },
    "CdrToken": {
        "country_code": ("CiString(2)", "1"),
        "party_id": ("CiString(3)", "1"),
        "uid": ("CiString(36)", "1"),
        "type": ("TokenType", "1"),
        "contract_id": ("CiString(36)", "1"),
    },
    "ChargingPeriod": {
        "start_date_time": ("DateTime", "1"),
        "dimensions": ("CdrDimension", "+"),
        "tariff_id": ("CiString(36)", "?"),
    },
    "SignedData": {
        "encoding_method": ("CiString(36)", "1"),
        "encoding_method_version": ("int", "?"),
        "public_key": ("string(512)", "?"),
        "signed_values": ("SignedValue", "+"),
        "url": ("string(512)", "?"),
    },
    "SignedValue": {
        "nature": ("CiString(32)", "1"),
        "plain_data": ("string(512)", "1"),
        "signed_data": ("string(5000)", "1"),
    },
    # mod_tokens.asciidoc
    "Token": {
        "country_code": ("CiString(2)", "1"),
        "party_id": ("CiString(3)", "1"),
        "uid": ("CiString(36)", "1"),
        "type": ("TokenType", "1"),
        "contract_id": ("CiString(36)", "1"),
        "visual_number": ("string(64)", "?"),
        "issuer": ("string(64)", "1"),
        "group_id": ("CiString(36)", "?"),
        "valid": ("boolean", "1"),
        "whitelist": ("WhitelistType", "1"),
        "language": ("string(2)", "?"),
        "default_profile_type": ("ProfileType", "?"),
        "energy_contract": ("EnergyContract", "?"),
        "last_updated": ("DateTime", "1"),
    },
    "AuthorizationInfo": {
        "allowed": ("AllowedType", "1"),
        "token": ("Token", "1"),
        "location": ("LocationReferences", "?"),
        "authorization_reference": ("CiString(36)", "?"),
        "info": ("DisplayText", "?"),
    },
    "EnergyContract": {
        "supplier_name": ("string(64)", "1"),
        "contract_id": ("string(64)", "?"),
    },
    "LocationReferences": {
        "location_id": ("CiString(36)", "1"),
        "evse_uids": ("CiString(36)", "*"),
    },
    # mod_commands.asciidoc
    "CancelReservation": {
        "response_url": ("URL", "1"),
        "reservation_id": ("CiString(36)", "1"),
    },
    "CommandResponse": {
        "result": ("CommandResponseType", "1"),
        "timeout": ("int", "1"),
        "message": ("DisplayText", "*"),
    },
    "CommandResult": {
        "result": ("CommandResultType", "1"),
        "message": ("DisplayText", "*"),
    },
    # mod_charging_profiles.asciidoc
    "ChargingProfileResponse": {
        "result": ("ChargingProfileResponseType", "1"),
        "timeout": ("int", "1"),
    },
    "ActiveChargingProfileResult": {
        "result": ("ChargingProfileResultType", "1"),
        "profile": ("ActiveChargingProfile", "?"),
    },
    "ChargingProfileResult": {
        "result": ("ChargingProfileResultType", "1"),
    },
    "ClearProfileResult": {
        "result": ("ChargingProfileResultType", "1"),
    },
    "SetChargingProfile": {
        "charging_profile": ("ChargingProfile", "1"),
        "response_url": ("URL", "1"),
    },
    "ActiveChargingProfile": {
        "start_date_time": ("DateTime", "1"),
        "charging_profile": ("ChargingProfile", "1"),
    },
    "ChargingProfile": {
        "start_date_time": ("DateTime", "?"),
        "duration": ("int", "?"),
        "charging_rate_unit": ("ChargingRateUnit", "1"),
        "min_charging_rate": ("number", "?"),
        "charging_profile_period": ("ChargingProfilePeriod", "*"),
    },
    "ChargingProfilePeriod": {
        "start_period": ("int", "1"),
        "limit": ("number", "1"),
    },
    "ReserveNow": {
        "response_url": ("URL", "1"),
        "token": ("Token", "1"),
        "expiry_date": ("DateTime", "1"),
        "reservation_id": ("CiString(36)", "1"),
        "location_id": ("CiString(36)", "1"),
        "evse_uid": ("CiString(36)", "?"),
        "authorization_reference": ("CiString(36)", "?"),
    },
    "StartSession": {
        "response_url": ("URL", "1"),
        "token": ("Token", "1"),
        "location_id": ("CiString(36)", "1"),
        "evse_uid": ("CiString(36)", "?"),
        "connector_id": ("CiString(36)", "?"),
        "authorization_reference": ("CiString(36)", "?"),
    },
    "StopSession": {
        "response_url": ("URL", "1"),
        "session_id": ("CiString(36)", "1"),
    },
    "UnlockConnector": {
        "response_url": ("URL", "1"),
        "location_id": ("CiString(36)", "1"),
        "evse_uid": ("CiString(36)", "1"),
        "connector_id": ("CiString(36)", "1"),
    },
    # mod_hub_client_info.asciidoc
    "ClientInfo": {
        "party_id": ("CiString(3)", "1"),
        "country_code": ("CiString(2)", "1"),
        "role": ("Role", "1"),
        "status": ("ConnectionStatus", "1"),
        "last_updated": ("DateTime", "1"),
    },
    # credentials.asciidoc
    "Credentials": {
        "token": ("string(64)", "1"),
        "url": ("URL", "1"),
        "roles": ("CredentialsRole", "+"),
    },
    "CredentialsRole": {
        "role": ("Role", "1"),
        "business_details": ("BusinessDetails", "1"),
        "party_id": ("CiString(3)", "1"),
        "country_code": ("CiString(2)", "1"),
    },
    # version_information_endpoint.asciidoc
    "Version": {
        "version": ("VersionNumber", "1"),
        "url": ("URL", "1"),
    },
    "VersionDetails": {
        "version": ("VersionNumber", "1"),
        "endpoints": ("Endpoint", "+"),
    },
    "Endpoint": {
        "identifier": ("ModuleID", "1"),
        "role": ("InterfaceRole", "1"),
        "url": ("URL", "1"),
    },
    # types.asciidoc
    "DisplayText": {
        "language": ("string(2)", "1"),
        "text": ("string(512)", "1"),
    },
    "Price": {
        "excl_vat": ("number", "1"),
        "incl_vat": ("number", "?"),
    },
}

# The response format of transport_and_format.asciidoc; ``data`` is checked by the caller's
# type (its cardinality depends on the request: "* or ?").
ENVELOPE: dict[str, Rule] = {
    "status_code": ("int", "1"),
    "status_message": ("string", "?"),
    "timestamp": ("DateTime", "1"),
}

# Regular expressions the tables state in a property's description.
_COORDINATE = {
    "latitude": r"-?[0-9]{1,2}\.[0-9]{5,7}",
    "longitude": r"-?[0-9]{1,3}\.[0-9]{5,7}",
}
_TIME_OF_DAY = r"([0-1][0-9]|2[0-3]):[0-5][0-9]"
_DATE = r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
PATTERNS: dict[tuple[str, str], str] = {
    ("GeoLocation", "latitude"): _COORDINATE["latitude"],
    ("GeoLocation", "longitude"): _COORDINATE["longitude"],
    ("AdditionalGeoLocation", "latitude"): _COORDINATE["latitude"],
    ("AdditionalGeoLocation", "longitude"): _COORDINATE["longitude"],
    ("RegularHours", "period_begin"): _TIME_OF_DAY,
    ("RegularHours", "period_end"): _TIME_OF_DAY,
    ("TariffRestrictions", "start_time"): _TIME_OF_DAY,
    ("TariffRestrictions", "end_time"): _TIME_OF_DAY,
    ("TariffRestrictions", "start_date"): _DATE,
    ("TariffRestrictions", "end_date"): _DATE,
    # ISO 4217 and ISO 3166-1 alpha-3/alpha-2 codes, ISO 639-1 languages.
    ("Location", "country"): r"[A-Z]{3}",
    ("CdrLocation", "country"): r"[A-Z]{3}",
    ("Session", "currency"): r"[A-Z]{3}",
    ("CDR", "currency"): r"[A-Z]{3}",
    ("Tariff", "currency"): r"[A-Z]{3}",
    ("DisplayText", "language"): r"[a-z]{2}",
    ("Token", "language"): r"[a-z]{2}",
}

# RFC 3339 as the types table allows it: UTC with or without "Z", optional fractions.
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z?")
_SIZED = re.compile(r"(string|CiString|int)\((\d+)\)")
# Unless a table says otherwise, numbers use 4 decimals (types.asciidoc, number type).
_NUMBER_DECIMALS = 4


def _printable(text: str, ascii_only: bool) -> bool:
    if ascii_only:
        return all(" " <= c <= "~" for c in text)
    return text.isprintable()


def _check_scalar(value: Any, kind: str, path: str, pattern: str | None) -> list[str]:
    sized = _SIZED.fullmatch(kind)
    base, size = (sized.group(1), int(sized.group(2))) if sized else (kind, None)
    if base in ("string", "CiString", "DateTime", "URL"):
        if not isinstance(value, str):
            return [f"{path}: {value!r} is not a {kind}"]
        problems = []
        limit = {"DateTime": 25, "URL": 255}.get(base, size)
        if limit is not None and len(value) > limit:
            problems.append(f"{path}: {len(value)} characters exceed {kind} ({limit})")
        if not _printable(value, ascii_only=base == "CiString"):
            problems.append(f"{path}: {value!r} has characters a {kind} may not hold")
        if base == "DateTime" and not _DATETIME.fullmatch(value):
            problems.append(f"{path}: {value!r} is not an OCPI DateTime")
        if base == "URL":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"{path}: {value!r} is not an absolute http(s) URL")
        if pattern is not None and not re.fullmatch(pattern, value):
            problems.append(f"{path}: {value!r} does not match {pattern}")
        return problems
    if base == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: {value!r} is not an int"]
        if size is not None and len(str(abs(value))) > size:
            return [f"{path}: {value} has more than {size} digits"]
        return []
    if base == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{path}: {value!r} is not a number"]
        exponent = Decimal(repr(value)).as_tuple().exponent
        if isinstance(exponent, int) and -exponent > _NUMBER_DECIMALS:
            return [f"{path}: {value!r} has more than {_NUMBER_DECIMALS} decimals"]
        return []
    if base in ENUMS:
        if value not in ENUMS[base]:
            return [f"{path}: {value!r} is not a {base}"]
        return []
    raise KeyError(f"no rule for type {kind}")


def _check_one(value: Any, kind: str, path: str, pattern: str | None) -> list[str]:
    if kind in OBJECTS:
        return validate(value, kind, path)
    return _check_scalar(value, kind, path, pattern)


def validate(obj: Any, name: str, path: str = "$", *, partial: bool = False) -> list[str]:
    """Every violation of object ``name``'s rules in ``obj``, each with its JSON path:
    unknown properties, missing required ones, wrong cardinality, types, lengths, enum
    values and formats. ``partial`` checks a PATCH body: only the properties present."""
    if not isinstance(obj, dict):
        return [f"{path}: {obj!r} is not a {name} object"]
    rules = OBJECTS[name]
    problems = [f"{path}.{key}: not a property of {name}" for key in obj if key not in rules]
    for prop, (kind, card) in rules.items():
        where = f"{path}.{prop}"
        value = obj.get(prop)
        if value is None:
            if card in ("1", "+") and not partial:
                problems.append(f"{where}: required ({card}) but missing")
            continue
        pattern = PATTERNS.get((name, prop))
        if card in ("*", "+"):
            if not isinstance(value, list):
                problems.append(f"{where}: {value!r} is not a list ({card})")
                continue
            if card == "+" and not value:
                problems.append(f"{where}: empty, needs one or more (+)")
            for index, item in enumerate(value):
                problems += _check_one(item, kind, f"{where}[{index}]", pattern)
        elif isinstance(value, list):
            problems.append(f"{where}: a list where one {kind} is due ({card})")
        else:
            problems += _check_one(value, kind, where, pattern)
    return problems


def validate_envelope(body: Any, data: str | None = None, *, many: bool = False) -> list[str]:
    """Violations of the response format; ``data`` names the type of its data field (an
    object of OBJECTS or an enum of ENUMS, or None when the response carries no data),
    ``many`` a list."""
    if not isinstance(body, dict):
        return [f"$: {body!r} is not a response object"]
    allowed = {*ENVELOPE, "data"}
    problems = [f"$.{key}: not a property of the response" for key in body if key not in allowed]
    for prop, (kind, card) in ENVELOPE.items():
        if body.get(prop) is None:
            if card == "1":
                problems.append(f"$.{prop}: required ({card}) but missing")
            continue
        problems += _check_scalar(body[prop], kind, f"$.{prop}", None)
    code = body.get("status_code")
    if isinstance(code, int) and not 1000 <= code <= 4999:
        problems.append(f"$.status_code: {code} is outside the 1xxx-4xxx ranges")
    payload = body.get("data")
    if data is None or payload is None:
        if data is not None:
            problems.append("$.data: missing")
        return problems
    if many:
        if not isinstance(payload, list):
            return [*problems, f"$.data: {payload!r} is not a list of {data}"]
        for index, item in enumerate(payload):
            problems += validate(item, data, f"$.data[{index}]")
        return problems
    if data in ENUMS:
        return problems + _check_scalar(payload, data, "$.data", None)
    return problems + validate(payload, data, "$.data")
