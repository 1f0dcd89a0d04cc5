"""The hand-transcribed OCPI 2.2.1 rules checked against the specification's own examples,
and the validator's report on objects that break them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.ocpi.spec_rules import validate, validate_envelope

EXAMPLES = Path(__file__).parent / "spec_examples"

# Complete objects among the spec's examples, by type. Tariff examples are all "tariff_*".
COMPLETE = {
    "cdr_example": "CDR",
    "credentials_example": "Credentials",
    "credentials_example2": "Credentials",
    "credentials_example3": "Credentials",
    "credentials_example4": "Credentials",
    "location_example": "Location",
    "location_example_parking_garage_opening_hours": "Location",
    "location_example_uc2_destination_charger": "Location",
    "location_example_uc3_destination_charger_not_published": "Location",
    "location_example_uc4_limited_visibility": "Location",
    "location_example_uc5_home_charge_point": "Location",
    "location_hours_247_open_exception_closing": "Hours",
    "location_hours_opening_hours_with_exceptional_closing": "Hours",
    "location_hours_opening_hours_with_exceptional_opening": "Hours",
    "session_example_1_simple_start": "Session",
    "session_example_2_short_finished": "Session",
    "token_example_1_app_user": "Token",
    "token_example_2_full_rfid": "Token",
    "token_put_example": "Token",
    "type_displaytext_example": "DisplayText",
    "version_details_example": "VersionDetails",
    "version_details_example2": "VersionDetails",
}
# Fragments: a PATCH body (checked as partial) or one property of an object.
PARTIAL = {
    "location_patch_example_location": "Location",
    "location_patch_example_remove_evse": "EVSE",
    "location_patch_example_status": "EVSE",
    "location_patch_example_tariff": "Connector",
    "session_patch_example_charging_period": "Session",
    "session_patch_example_total_cost": "Session",
    "token_patch_example": "Token",
    "location_energymix_example_complete": "Location",
    "location_energymix_example_energy_provider": "Location",
    "location_energymix_example_simple": "Location",
    "location_regularhours_example": "Location",
}
# Where the specification's examples break its own tables.
SPEC_MISTAKES = {
    # An EVSE PUT: "floor" is no EVSE property (floor_level is), physical_reference is the
    # number 3 instead of a string, and its connector lacks four required properties.
    "location_put_example_add_evse": (
        "EVSE",
        [
            "$.floor: not a property of EVSE",
            "$.connectors[0].power_type: required (1) but missing",
            "$.connectors[0].max_voltage: required (1) but missing",
            "$.connectors[0].max_amperage: required (1) but missing",
            "$.connectors[0].last_updated: required (1) but missing",
            "$.physical_reference: 3 is not a string(16)",
        ],
    ),
    # A Tariff PUT without its required last_updated.
    "tariff_put_example": ("Tariff", ["$.last_updated: required (1) but missing"]),
}


def example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def complete_examples() -> list[tuple[str, str]]:
    tariffs = [
        (path.stem, "Tariff")
        for path in sorted(EXAMPLES.glob("tariff*.json"))
        if path.stem not in SPEC_MISTAKES
    ]
    return [*COMPLETE.items(), *tariffs]


def test_every_example_file_is_checked() -> None:
    checked = {
        *COMPLETE,
        *PARTIAL,
        *SPEC_MISTAKES,
        *(name for name, _ in complete_examples()),
        "versions_info_example",
        "transport_and_format_get_token_example",
        "transport_and_format_get_token_list_example",
        "transport_and_format_version_details_example",
        "transport_and_format_version_info_example",
    }
    assert {path.stem for path in EXAMPLES.glob("*.json")} == checked


@pytest.mark.parametrize(("name", "kind"), complete_examples())
def test_the_specs_complete_examples_pass(name: str, kind: str) -> None:
    assert validate(example(name), kind) == []


@pytest.mark.parametrize(("name", "kind"), sorted(PARTIAL.items()))
def test_the_specs_patch_examples_pass_as_partial_objects(name: str, kind: str) -> None:
    assert validate(example(name), kind, partial=True) == []


@pytest.mark.parametrize("name", sorted(SPEC_MISTAKES))
def test_the_specs_own_mistakes_are_found(name: str) -> None:
    kind, problems = SPEC_MISTAKES[name]
    assert validate(example(name), kind) == problems


def test_the_specs_versions_and_envelopes_pass() -> None:
    assert [validate(v, "Version") for v in example("versions_info_example")] == [[], []]
    for name, kind, many in (
        ("transport_and_format_get_token_example", "Token", False),
        ("transport_and_format_get_token_list_example", "Token", True),
        ("transport_and_format_version_details_example", "VersionDetails", False),
        ("transport_and_format_version_info_example", "Version", True),
    ):
        assert validate_envelope(example(name), kind, many=many) == [], name


def test_every_kind_of_violation_is_reported_with_its_path() -> None:
    session = example("session_example_2_short_finished")
    session.update(
        {
            "id": "x" * 37,
            "kwh": 1.23456,
            "status": "DONE",
            "last_updated": "2015-06-29T22:39:09+02:00",
            "currency": "eur",
            "charging_periods": {"start_date_time": "2015-06-29T21:39:09Z"},
            "total_cost": {"excl_vat": "8.50"},
            "colour": "red",
        }
    )
    del session["cdr_token"]["contract_id"]
    session["cdr_token"]["uid"] = "caf\u00e9"
    assert validate(session, "Session") == [
        "$.colour: not a property of Session",
        "$.id: 37 characters exceed CiString(36) (36)",
        "$.kwh: 1.23456 has more than 4 decimals",
        "$.cdr_token.uid: 'café' has characters a CiString(36) may not hold",
        "$.cdr_token.contract_id: required (1) but missing",
        "$.currency: 'eur' does not match [A-Z]{3}",
        "$.charging_periods: {'start_date_time': '2015-06-29T21:39:09Z'} is not a list (*)",
        "$.total_cost.excl_vat: '8.50' is not a number",
        "$.status: 'DONE' is not a SessionStatus",
        "$.last_updated: '2015-06-29T22:39:09+02:00' is not an OCPI DateTime",
    ]


def test_lists_coordinates_urls_and_envelopes_are_checked() -> None:
    location = example("location_example")
    location["coordinates"]["latitude"] = "51.04"
    location["evses"][0]["connectors"] = []
    location["operator"]["website"] = "www.example.com"
    assert validate(location, "Location") == [
        "$.coordinates.latitude: '51.04' does not match -?[0-9]{1,2}\\.[0-9]{5,7}",
        "$.evses[0].connectors: empty, needs one or more (+)",
        "$.operator.website: 'www.example.com' is not an absolute http(s) URL",
    ]
    assert validate_envelope({"status_code": 1000, "data": [1]}, "Version", many=True) == [
        "$.timestamp: required (1) but missing",
        "$.data[0]: 1 is not a Version object",
    ]
    assert validate_envelope({"status_code": 999, "timestamp": "2026-11-25T03:00:00Z"}) == [
        "$.status_code: 999 is outside the 1xxx-4xxx ranges"
    ]
    preferences = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z", "data": "MAYBE"}
    assert validate_envelope(preferences, "ChargingPreferencesResponse") == [
        "$.data: 'MAYBE' is not a ChargingPreferencesResponse"
    ]
