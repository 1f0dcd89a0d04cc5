"""Template translations: the brand's catalogs, plural forms, and messages kept as text."""

from __future__ import annotations

from pathlib import Path

import jinja2
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from voltlane.web.i18n import LOCALE_DIR, template_gettext, translations

REPO = Path(__file__).resolve().parents[2]


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
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
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
