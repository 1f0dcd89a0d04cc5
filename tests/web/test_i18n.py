"""Template translations: the brand's catalogs, plural forms, messages kept as text, the words
for enumerated values, and real portal pages in German and French."""

from __future__ import annotations

import enum
import html
import pickle
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from ocpp.v16 import enums as ocpp16
from ocpp.v21 import enums as ocpp21
from ocpp.v201 import enums as ocpp201

from tests.factories import add_location, add_station, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from tests.web.test_portal_tariffs import add_tariff, component
from voltlane import billing
from voltlane.billing.documents.model import DocumentKind
from voltlane.billing.tariffs import VersionStatus
from voltlane.core.db import Database
from voltlane.core.text import N_, Message, N_plural
from voltlane.models.tenant import (
    AccountKind,
    AlertKind,
    AlertStatus,
    CdrKind,
    CommandStatus,
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    DunningState,
    IdTokenStatus,
    IdTokenType,
    Invoicing,
    LoyaltyKind,
    OperationKind,
    OperationState,
    PaymentPurpose,
    PaymentStatus,
    PowerType,
    RegistrationStatus,
    Role,
    SessionStatus,
    StationState,
    WalletKind,
)
from voltlane.monitoring.service import THRESHOLDS
from voltlane.station.service.stations import HEALTH_EVENT_KINDS
from voltlane.tariff.model import DayOfWeek, Dimension, Reservation
from voltlane.tariff.result import CdrDimensionType, LineKind, PeriodKind
from voltlane.tariff.selection import SegmentKind
from voltlane.web.i18n import LOCALE_DIR, template_gettext, translations
from voltlane.web.labels import LABELS
from voltlane.web.templating import in_language

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
NBSP = "\u00a0"  # French puts one before a colon; Babel puts one between amount and currency
APOSTROPHE = "\u2019"


def render(source: str, locale: str, **context: object) -> str:
    env = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    return env.from_string(source).render({**template_gettext(locale), **context})


def test_messages_come_from_the_languages_catalog_and_fall_back_to_english() -> None:
    assert translations("de_DE").gettext("Dashboard") == "Übersicht"
    assert translations("fr_FR").gettext("Dashboard") == "Tableau de bord"
    assert translations("en_GB").gettext("Dashboard") == "Dashboard"
    assert translations("de_AT").gettext("Sign out") == "Abmelden"


def test_plural_forms_and_variables_follow_the_language() -> None:
    source = '{{ ngettext("%(num)d charging point", "%(num)d charging points", n) }}'
    assert render(source, "de_DE", n=1) == "1 Ladepunkt"
    assert render(source, "de_DE", n=3) == "3 Ladepunkte"
    assert render(source, "fr_FR", n=2) == "2 points de charge"
    assert render(source, "en_GB", n=1) == "1 charging point"


def test_a_message_carrying_user_input_stays_text() -> None:
    error = 'Card "<script>alert(1)</script>" is taken.'
    assert render("{{ _(error) }}", "en_GB", error=error) == (
        "Card &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; is taken."
    )
    assert render('{{ _("Page %(num)d of %(name)s", num=2, name=n) }}', "en_GB", n="<b>") == (
        "Page 2 of &lt;b&gt;"
    )


def test_every_string_of_the_pages_is_translated_into_german_and_french() -> None:
    """`make messages` brings new strings into the catalogs; each needs its translation."""
    method_map = [
        ("src/voltlane/**.py", "python"),
        ("src/voltlane/**/templates/**.html", "jinja2"),
        ("themes/**/templates/**.html", "jinja2"),
    ]
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "N_plural": (1, 2)}
    wanted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(REPO), method_map, keywords=keywords)
    }
    for language in ("de", "fr"):
        with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
            catalog = read_po(source)
        translated = {
            entry.id if isinstance(entry.id, str) else entry.id[0]
            for entry in catalog
            if entry.id
            and not entry.fuzzy
            and (entry.string if isinstance(entry.string, str) else all(entry.string))
        }
        assert sorted(wanted - translated) == [], language


def test_a_connectors_ocpp_status_is_shown_in_the_readers_language() -> None:
    env = jinja2.Environment(
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        loader=jinja2.FileSystemLoader(str(REPO / "src/voltlane/portal/templates")),
        trim_blocks=True,  # as the web app's environments
        lstrip_blocks=True,
    )
    source = (
        '{% import "portal/stations/_forms.html" as forms with context %}'
        "{{ forms.connector_status(status) }}"
    )

    def shown(status: str, locale: str) -> str:
        return env.from_string(source).render({**template_gettext(locale), "status": status})

    assert shown("SuspendedEV", "de_DE") == "Vom Fahrzeug pausiert"
    assert shown("Faulted", "fr_FR") == "En défaut"
    assert shown("Unknown", "en_GB") == "Unknown"
    assert shown("Occupied", "de_DE") == "Belegt"
    assert shown("SomethingNew", "de_DE") == "SomethingNew"  # a status from a newer protocol


# -- messages written in Python, translated where they are shown ---------------------------


def test_a_message_with_values_is_its_english_text_and_keeps_its_msgid() -> None:
    message = N_("Not an e-mail address: %(address)s", address="nobody")
    assert message == "Not an e-mail address: nobody"
    assert isinstance(message, Message)
    assert (message.msgid, dict(message.values)) == (
        "Not an e-mail address: %(address)s",
        {"address": "nobody"},
    )
    assert N_("Enter a whole number.") == "Enter a whole number."
    assert type(N_("Enter a whole number.")) is str  # nothing to keep apart: a plain msgid
    waiting = N_plural("Try again in %(num)d minute.", "Try again in %(num)d minutes.", 1)
    assert (waiting, N_plural(waiting.msgid, str(waiting.plural), 5)) == (
        "Try again in 1 minute.",
        "Try again in 5 minutes.",
    )
    copied = pickle.loads(pickle.dumps(message))
    assert (copied, copied.msgid, dict(copied.values)) == (
        message,
        message.msgid,
        {"address": "nobody"},
    )


def test_a_message_from_python_is_translated_then_filled_in_and_its_values_escaped() -> None:
    error = N_("Not an e-mail address: %(address)s", address="<b>x%(y)s</b>")
    assert render("{{ _(error) }}", "de_DE", error=error) == (
        "Keine E-Mail-Adresse: &lt;b&gt;x%(y)s&lt;/b&gt;"
    )
    later = N_plural(
        "Too many failed sign-ins. Try again in %(num)d minute.",
        "Too many failed sign-ins. Try again in %(num)d minutes.",
        3,
    )
    assert render("{{ _(error) }}", "fr_FR", error=later) == (
        "Trop de connexions échouées. Réessayez dans 3 minutes."
    )
    # A station's own error text is no msgid: shown as it is, a bare "%" included.
    assert render("{{ _(error) }}", "de_DE", error="Relay at 100% load") == "Relay at 100% load"


# -- the words for enumerated values --------------------------------------------------------

ENUMERATIONS: dict[str, type[enum.Enum]] = {
    "registration_status": RegistrationStatus,
    "connector_standard": ConnectorStandard,
    "connector_format": ConnectorFormat,
    "power_type": PowerType,
    "station_state": StationState,
    "command_status": CommandStatus,
    "session_status": SessionStatus,
    "id_token_status": IdTokenStatus,
    "id_token_type": IdTokenType,
    "cdr_kind": CdrKind,
    "segment": SegmentKind,
    "tariff_status": VersionStatus,
    "tariff_dimension": Dimension,
    "price_line": LineKind,
    "cdr_dimension": CdrDimensionType,
    "charging_period": PeriodKind,
    "day_of_week": DayOfWeek,
    "reservation": Reservation,
    "document_kind": DocumentKind,
    "account_kind": AccountKind,
    "invoicing": Invoicing,
    "payment_status": PaymentStatus,
    "payment_purpose": PaymentPurpose,
    "dunning_state": DunningState,
    "payment_operation": OperationKind,
    "operation_state": OperationState,
    "wallet_kind": WalletKind,
    "loyalty_kind": LoyaltyKind,
    "alert_kind": AlertKind,
    "alert_status": AlertStatus,
    "role": Role,
}


# Tables keyed by what a charger sends: every value of each OCPP version the gateway speaks.
PROTOCOL_VALUES: dict[str, tuple[type[enum.Enum], ...]] = {
    "connector_status": (
        ocpp16.ChargePointStatus,
        ocpp201.ConnectorStatusEnumType,
        ocpp21.ConnectorStatusEnumType,
    ),
    "charging_state": (ocpp201.ChargingStateEnumType, ocpp21.ChargingStateEnumType),
    "stop_reason": (ocpp16.Reason, ocpp201.ReasonEnumType, ocpp21.ReasonEnumType),
}
# Values the platform adds to a protocol's: a connector that has not reported yet.
PLATFORM_VALUES: dict[str, set[object]] = {
    "connector_status": {Connector.__table__.c.status.default.arg},
}
# Tables of values that no enumeration lists.
OTHER_VALUES: dict[str, set[object]] = {
    "security_profile": {1, 2, 3},
    "station_event": set(HEALTH_EVENT_KINDS),
}


def test_every_value_of_every_enumeration_shown_has_its_words() -> None:
    for kind, enumeration in ENUMERATIONS.items():
        assert sorted(str(m.value) for m in enumeration if m.value not in LABELS[kind]) == [], kind


def test_every_label_table_is_checked_against_the_values_it_covers() -> None:
    """A new member of an enumeration, a new OCPP value or a new label table without its
    words fails here; so does a label for a value that no longer exists."""
    for kind, table in LABELS.items():
        keyed_by = {type(key) for key in table if isinstance(key, enum.Enum)}
        if kind in ENUMERATIONS:
            values = {m.value for m in ENUMERATIONS[kind]}
            assert keyed_by <= {ENUMERATIONS[kind]}, kind
        elif kind in PROTOCOL_VALUES:
            values = {m.value for version in PROTOCOL_VALUES[kind] for m in version}
            values |= PLATFORM_VALUES.get(kind, set())
        else:
            assert kind in OTHER_VALUES, f"{kind}: say which values this table covers"
            values = OTHER_VALUES[kind]
        labelled = {key.value if isinstance(key, enum.Enum) else key for key in table}
        assert (sorted(map(str, values - labelled)), sorted(map(str, labelled - values))) == (
            [],
            [],
        ), kind


def test_a_value_is_shown_by_its_word_and_selects_list_the_words_in_order() -> None:
    source = (
        '{{ label_of("payment_status", status) }}|{{ label_of("security_profile", 3) }}|'
        '{{ label_of("command_status", "somethingnew") }}|'
        '{% for value, text in options_of("session_status") %}{{ value }}={{ text }};{% endfor %}'
    )
    assert render(source, "de_DE", status=PaymentStatus.OUTSTANDING) == (
        "Erfassung ausstehend|3 — TLS mit Client-Zertifikat|somethingnew|"
        "active=Lädt;finished=Beendet;"
    )
    assert render(source, "fr_FR", status="outstanding").split("|")[0] == "Capture en attente"
    assert render(source, "en_GB", status="outstanding").split("|")[0] == "Capture outstanding"


# -- real pages -----------------------------------------------------------------------------


def field_error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert match is not None, f"no error beside {field_id}"
    return html.unescape(match.group(1))


async def choose_language(client, locale: str, page: str) -> None:
    response = await client.post(
        "/language",
        data={"locale": locale, "next": "/portal/", "_csrf_token": csrf_token(page)},
        headers=HTML,
    )
    assert response.status_code == 303


async def test_portal_pages_speak_german_and_french(database: Database, make_brand, client_for):
    """A status word, a domain error beside its field and a sentence with values, each read in
    the staff member's language on the pages themselves."""
    brand = await make_brand(locale="de_DE", locales=["de_DE", "fr_FR"])
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.ADMIN)
        await add_station(db_session, await add_location(db_session), "CS-1")
        await add_tariff(
            db_session,
            "STANDARD",
            component("ENERGY", "0.40"),
            start=datetime(2025, 1, 1, tzinfo=UTC),
            idle_fee={"price_per_minute": "0.10", "grace": 900},
        )
        await billing.assign_tariff(db_session, "STANDARD")
    bounds = THRESHOLDS[AlertKind.OFFLINE]
    shown: dict[str, dict[str, str]] = {}
    async with client_for(f"{brand.slug}.localhost") as client:
        empty_login = await client.post(
            "/portal/login",
            data={
                "email": "",
                "password": "x",
                "_csrf_token": csrf_token((await client.get("/portal/login", headers=HTML)).text),
            },
            headers=HTML,
        )
        await sign_in(client, "ops@example.com", PASSWORD)
        for locale in ("de_DE", "fr_FR"):
            stations = await client.get("/portal/stations", headers=HTML)
            if locale == "fr_FR":
                await choose_language(client, locale, stations.text)
                stations = await client.get("/portal/stations", headers=HTML)
            rule = await client.get("/portal/alerts/rules/offline", headers=HTML)
            refused = await client.post(
                "/portal/alerts/rules/offline",
                data={
                    "_csrf_token": csrf_token(rule.text),
                    "threshold": "0",
                    "emails": "ops@example.com, no<b>pe",
                },
                headers=HTML,
            )
            tariff = await client.get("/portal/tariffs/STANDARD", headers=HTML)
            assert (stations.status_code, refused.status_code, tariff.status_code) == (
                200,
                400,
                200,
            )
            row = stations.text.split('<tr data-station-id="CS-1">')[1].split("</tr>")[0]
            shown[locale] = {
                "profile": re.findall(r"<td>(\d — [^<]*)</td>", row)[0],
                "threshold": field_error(refused.text, "threshold"),
                "emails": field_error(refused.text, "emails"),
                "escaped": refused.text.split('id="emails-error">')[1].split("<")[0],
                "price": re.findall(r'<td class="num">([^<]*kWh)</td>', tariff.text)[0],
                "idle": re.findall(r"<dt>[^<]+</dt><dd>([^<]*min[^<]*)</dd>", tariff.text)[0],
                "status": re.findall(
                    r'<span class="tag tariff-current">([^<]+)</span>', tariff.text
                )[0],
            }
    assert field_error(empty_login.text, "email") == "Geben Sie Ihre E-Mail-Adresse ein."
    assert shown["de_DE"] == {
        "profile": "2 — TLS mit HTTP-Basic-Passwort",
        "threshold": f"Geben Sie eine Zahl von {bounds.low} bis {bounds.high} ein.",
        "emails": "Keine E-Mail-Adresse: no<b>pe",
        "escaped": "Keine E-Mail-Adresse: no&lt;b&gt;pe",
        "price": f"0,40{NBSP}€ pro kWh",
        "idle": f"0,10{NBSP}€ pro Minute nach 15 min",
        "status": "Aktuell",
    }
    assert shown["fr_FR"] == {
        "profile": "2 — TLS avec mot de passe HTTP Basic",
        "threshold": f"Saisissez un nombre de {bounds.low} à {bounds.high}.",
        "emails": f"Ce n{APOSTROPHE}est pas une adresse e-mail{NBSP}: no<b>pe",
        "escaped": f"Ce n{APOSTROPHE}est pas une adresse e-mail{NBSP}: no&lt;b&gt;pe",
        "price": f"0,40{NBSP}€ par kWh",
        "idle": f"0,10{NBSP}€ par minute après 15 min",
        "status": "En vigueur",
    }


def error_page_text(page: str) -> tuple[str, str | None, str]:
    """(heading, sentence or None, the status line) of the brand's error page."""
    main = page.split('<main class="card narrow" role="main">')[1].split("</main>", maxsplit=1)[0]
    heading = main.split("<h1>")[1].split("</h1>")[0]
    sentences = re.findall(r"<p>([^<]*)</p>", main)
    status = main.split('<p class="muted">')[1].split("</p>")[0]
    return heading, (html.unescape(sentences[0]) if sentences else None), status


async def test_the_error_page_speaks_the_readers_language(make_brand, client_for) -> None:
    """Its title and its sentence in the reader's language; a domain error's own English
    title gives way to its status's, and an English sentence no catalog has is left out."""
    brand = await make_brand(locale="de_DE", locales=["de_DE", "fr_FR", "en_GB"])
    shown: dict[str, list[tuple[int, tuple[str, str | None, str]]]] = {}
    async with client_for(f"{brand.slug}.localhost") as client:
        for locale in ("de_DE", "fr_FR", "en_GB"):
            if locale != "de_DE":
                page = await client.get("/portal/login", headers=HTML)
                await choose_language(client, locale, page.text)
            answers = [
                await client.get(f"/stations/{uuid.uuid4()}", headers=HTML),
                await client.get(f"/charge/live/{uuid.uuid4()}", headers=HTML),
            ]
            shown[locale] = [(a.status_code, error_page_text(a.text)) for a in answers]
        problem = await client.get(f"/charge/live/{uuid.uuid4()}")
    assert shown == {
        "de_DE": [
            (404, ("Nicht gefunden", None, "Fehler 404")),
            (404, ("Nicht gefunden", None, "Fehler 404")),
        ],
        "fr_FR": [
            (404, ("Introuvable", None, "Erreur 404")),
            (404, ("Introuvable", None, "Erreur 404")),
        ],
        "en_GB": [
            (404, ("Not found", "This station is not in the app.", "Error 404")),
            (404, ("Charge not found", "No such charge.", "Error 404")),
        ],
    }
    # Problem details stay English: they are for programs.
    assert problem.json() == {
        "type": "about:blank",
        "title": "Charge not found",
        "status": 404,
        "detail": "No such charge.",
    }


def test_an_error_message_with_values_is_translated_then_filled_in() -> None:
    refused = N_("No location %(location)s.", location="Depot <1>")
    many = N_plural("%(num)d station", "%(num)d stations", 3)
    assert in_language(translations("de_DE"), refused) == "Kein Standort Depot <1>."
    assert in_language(translations("de_DE"), "An English sentence.") is None
    assert in_language(translations("en_GB"), "An English sentence.") == "An English sentence."
    assert in_language(translations("fr_FR"), many) == "3 bornes"
