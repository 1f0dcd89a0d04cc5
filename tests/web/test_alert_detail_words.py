"""An alert's specifics are said in the reader's language from the values stored with it;
an alert stored before its values were kept shows its stored text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from tests.factories import REPO
from voltlane.web.i18n import template_gettext


@dataclass
class StoredAlert:
    kind: str
    detail: str
    detail_values: dict[str, Any] | None


def shown(alert: StoredAlert, locale: str) -> str:
    env = jinja2.Environment(
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        loader=jinja2.FileSystemLoader(str(REPO / "src/voltlane/portal/templates")),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    source = (
        '{% import "portal/alerts/_macros.html" as alerts with context %}{{ alerts.detail(alert) }}'
    )
    return env.from_string(source).render({**template_gettext(locale), "alert": alert})


def test_a_faulted_connector_is_described_in_the_readers_language() -> None:
    faulted = StoredAlert(
        "faulted",
        "EVSE 2 connector 1: GroundFailure",
        {"evse": 2, "connector": 1, "error": "GroundFailure"},
    )
    quiet = StoredAlert("faulted", "EVSE 2 connector 1", {"evse": 2, "connector": 1, "error": None})
    assert shown(faulted, "de_DE") == "Ladepunkt 2, Stecker 1: GroundFailure"
    assert shown(faulted, "fr_FR") == "Point de charge 2, connecteur 1 : GroundFailure"
    assert shown(faulted, "en_GB") == "EVSE 2, connector 1: GroundFailure"
    assert shown(quiet, "de_DE") == "Ladepunkt 2, Stecker 1"


def test_alerts_without_values_show_what_was_stored() -> None:
    before = StoredAlert("faulted", "EVSE 1 connector 1: GroundFailure", None)
    stuck = StoredAlert("stuck_session", "4711", None)
    offline = StoredAlert("offline", "", None)
    assert shown(before, "de_DE") == "EVSE 1 connector 1: GroundFailure"
    assert shown(stuck, "de_DE") == "4711"
    assert shown(offline, "de_DE") == "—"
