"""A flagged station's reason is said in the reader's language from what is stored (the
refused profile's purpose and the station's answer); a reason stored in another form is
shown as it is."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2

from tests.factories import REPO
from voltlane.smart_charging.overview import StationFlag
from voltlane.web.i18n import template_gettext


def shown(reason: str, status: str, locale: str) -> str:
    env = jinja2.Environment(
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        loader=jinja2.FileSystemLoader(str(REPO / "src/voltlane/portal/templates")),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    flag = StationFlag("CP1", status, reason, None, datetime(2026, 11, 25, tzinfo=UTC))
    source = '{% include "portal/sites/_flag.html" %}'
    return env.from_string(source).render({**template_gettext(locale), "flag": flag})


def test_a_rejected_default_profile_is_said_in_each_language() -> None:
    reason = "TxDefaultProfile: Rejected"
    assert shown(reason, "rejected", "en") == (
        "CP1 rejected the TxDefaultProfile (answer: Rejected) and takes no charging profiles."
    )
    assert shown(reason, "rejected", "de_DE") == (
        "CP1 hat das TxDefaultProfile abgelehnt (Antwort: Rejected) und nimmt keine Ladeprofile an."
    )
    assert shown(reason, "rejected", "fr_FR") == (
        "CP1 a refusé le TxDefaultProfile (réponse : Rejected) et n&#39;accepte aucun profil"
        " de charge."
    )


def test_a_station_without_smart_charging_and_an_old_reason() -> None:
    assert shown("TxProfile: NotImplemented", "unsupported", "de_DE") == (
        "CP1 unterstützt keine Ladeprofile: Auf das TxProfile antwortete sie mit NotImplemented."
    )
    assert shown("Rejected", "rejected", "fr_FR") == (
        "CP1 n&#39;accepte pas les profils de charge (Rejected)."
    )
