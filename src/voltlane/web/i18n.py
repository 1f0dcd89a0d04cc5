"""Languages of the web pages: gettext catalogs per language, the language of a request.

Catalogs are the ``locale/<language>/LC_MESSAGES/messages.po`` files in the repository,
compiled in memory when first used (no generated ``.mo`` files to keep in step). English is
the source language. ``make messages`` extracts new strings into the catalogs.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.connection import ASGIConnection
from markupsafe import Markup, escape

from voltlane.core.text import N_, Message, N_plural
from voltlane.tenancy import TenantInfo
from voltlane.web.labels import LABELS

# N_ and N_plural are re-exported: web code marks its messages with them as domain code does.
__all__ = [
    "LANGUAGE_COOKIE",
    "LOCALE_DIR",
    "N_",
    "N_plural",
    "language_name",
    "request_locale",
    "template_gettext",
    "translations",
]

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_COOKIE = "vl_lang"


def _catalog_file(language: str) -> Path | None:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    return path if path.is_file() else None


@lru_cache(maxsize=64)
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog for ``locale`` (``de_DE`` falls back to ``de``); English needs none."""
    for name in (locale, Locale.parse(locale).language):
        path = _catalog_file(name)
        if path is None:
            continue
        with path.open("rb") as source:
            catalog = read_po(source, locale=name)
        compiled = BytesIO()
        write_mo(compiled, catalog)  # fuzzy entries stay untranslated
        compiled.seek(0)
        return Translations(compiled)
    return gettext.NullTranslations()


def request_locale(connection: ASGIConnection[Any, Any, Any, Any], tenant: TenantInfo) -> str:
    """The language a visitor chose among the brand's, else the brand's own."""
    chosen = connection.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in tenant.locales else tenant.locale


def language_name(locale: str) -> str:
    """A language's name in itself ("Deutsch", "English", "français")."""
    parsed = Locale.parse(locale)
    return (parsed.get_language_name(parsed) or locale).capitalize()


def _as_text(context: Context, text: str, variables: Mapping[str, Any]) -> str | Markup:
    # A message is text, never markup: it is escaped like any other value, so a message
    # that carries user input (a form error, say) cannot inject HTML. Variables are
    # escaped by Markup's % as well.
    message = escape(text) if context.eval_ctx.autoescape else text
    try:
        return message % variables
    except (KeyError, TypeError, ValueError):
        if variables:
            raise
        # Text that is no msgid (a station's own error text, say) may hold a bare "%".
        return message


def _translate(
    catalog: gettext.NullTranslations, message: str, variables: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The translation of ``message`` and the values to fill in: those a ``Message`` from
    Python code carries, then the template's own."""
    if not isinstance(message, Message):
        return catalog.gettext(message), variables
    values = {**message.values, **variables}
    if message.plural is not None and message.num is not None:
        return catalog.ngettext(message.msgid, message.plural, message.num), values
    return catalog.gettext(message.msgid), values


def _text_gettext(catalog: gettext.NullTranslations) -> Any:
    @pass_context
    def gettext_(context: Context, message: str, /, **variables: Any) -> str | Markup:
        return _as_text(context, *_translate(catalog, message, variables))

    return gettext_


def _text_ngettext(catalog: gettext.NullTranslations) -> Any:
    @pass_context
    def ngettext_(
        context: Context, singular: str, plural: str, num: int, /, **variables: Any
    ) -> str | Markup:
        variables.setdefault("num", num)
        return _as_text(context, catalog.ngettext(singular, plural, num), variables)

    return ngettext_


def _value_key(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _text_labels(catalog: gettext.NullTranslations) -> tuple[Any, Any]:
    @pass_context
    def label_of(context: Context, kind: str, value: Any) -> str | Markup:
        """The word for ``value`` of the enumeration ``kind`` (``LABELS``), in the reader's
        language; a value without a label (from a newer protocol, say) is shown as it is."""
        key = _value_key(value)
        msgid = LABELS[kind].get(key)
        if msgid is None:
            text = "" if key is None else str(key)
            return escape(text) if context.eval_ctx.autoescape else text
        return _as_text(context, catalog.gettext(msgid), {})

    @pass_context
    def options_of(context: Context, kind: str) -> list[tuple[str, str | Markup]]:
        """(value, word) pairs of ``kind`` in their defined order, for a select's options."""
        return [(str(_value_key(key)), label_of(context, kind, key)) for key in LABELS[kind]]

    return label_of, options_of


@lru_cache(maxsize=64)
def template_gettext(locale: str) -> dict[str, Any]:
    """``_``, ``gettext`` and ``ngettext`` for templates in ``locale``, in Jinja's "newstyle"
    (``_("%(num)d EVSEs", num=n)`` formats its variables), with messages escaped as text;
    ``label_of(kind, value)`` and ``options_of(kind)`` for the words of enumerated values;
    ``language_name(code)`` for a language as its speakers write it ("Deutsch")."""
    catalog = translations(locale)
    gettext_ = _text_gettext(catalog)
    label_of, options_of = _text_labels(catalog)
    return {
        "_": gettext_,
        "gettext": gettext_,
        "ngettext": _text_ngettext(catalog),
        "label_of": label_of,
        "options_of": options_of,
        "language_name": language_name,
    }
