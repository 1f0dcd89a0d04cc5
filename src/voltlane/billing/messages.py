"""What the brand writes to a driver about money, in the driver's language."""

from __future__ import annotations

from datetime import date

from babel import Locale

from voltlane.billing.documents.text import DocumentText

_MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "payment_failed": (
            "{brand}: your payment of {amount} did not go through",
            "Hello {name},\n\nwe could not charge {amount} for your charging session of {day}"
            " to your payment method ({reason}).\n\nWe will try again on {retry}. Please make"
            " sure your card can be charged, or add another one in the app.\n\n{brand}",
        ),
        "payment_retry_failed": (
            "{brand}: your payment of {amount} failed again",
            "Hello {name},\n\nwe tried again to charge {amount} for your charging session of"
            " {day}, without success ({reason}).\n\nWe will try once more on {retry}.\n\n{brand}",
        ),
        "payment_recovered": (
            "{brand}: thank you, {amount} has been paid",
            "Hello {name},\n\nthe {amount} for your charging session of {day} has now been"
            " paid. Thank you.\n\n{brand}",
        ),
        "token_blocked": (
            "{brand}: your card {card} has been blocked",
            "Hello {name},\n\nwe could not charge {amount} for your charging session of {day}"
            " after several attempts, so your card {card} cannot start charging for now.\n\n"
            "Please contact us to settle the amount; we will unblock your card right away."
            "\n\n{brand}",
        ),
    },
    "de": {
        "payment_failed": (
            "{brand}: Ihre Zahlung von {amount} ist fehlgeschlagen",
            "Hallo {name},\n\nwir konnten {amount} für Ihren Ladevorgang vom {day} nicht von"
            " Ihrem Zahlungsmittel abbuchen ({reason}).\n\nWir versuchen es am {retry} erneut."
            " Bitte sorgen Sie für Deckung oder hinterlegen Sie in der App ein anderes"
            " Zahlungsmittel.\n\n{brand}",
        ),
        "payment_retry_failed": (
            "{brand}: Ihre Zahlung von {amount} ist erneut fehlgeschlagen",
            "Hallo {name},\n\nauch der erneute Versuch, {amount} für Ihren Ladevorgang vom {day}"
            " abzubuchen, ist fehlgeschlagen ({reason}).\n\nWir versuchen es am {retry} noch"
            " einmal.\n\n{brand}",
        ),
        "payment_recovered": (
            "{brand}: Vielen Dank, {amount} ist bezahlt",
            "Hallo {name},\n\ndie {amount} für Ihren Ladevorgang vom {day} sind jetzt bezahlt."
            " Vielen Dank.\n\n{brand}",
        ),
        "token_blocked": (
            "{brand}: Ihre Karte {card} wurde gesperrt",
            "Hallo {name},\n\nwir konnten {amount} für Ihren Ladevorgang vom {day} auch nach"
            " mehreren Versuchen nicht abbuchen. Ihre Karte {card} kann deshalb vorerst keinen"
            " Ladevorgang starten.\n\nBitte melden Sie sich bei uns, um den Betrag zu begleichen;"
            " wir entsperren Ihre Karte dann sofort.\n\n{brand}",
        ),
    },
}


def payment_message(
    kind: str,
    *,
    locale: str,
    currency: str,
    timezone: str,
    brand: str,
    name: str,
    amount: int,
    day: date,
    retry: date | None = None,
    reason: str | None = None,
    card: str | None = None,
) -> tuple[str, str]:
    """Subject and body of a message about a session's payment."""
    text = DocumentText(locale, currency, timezone)
    templates = _MESSAGES.get(Locale.parse(locale).language, _MESSAGES["en"])
    subject, body = templates[kind]
    values = {
        "brand": brand,
        "name": name,
        "amount": text.money(amount),
        "day": text.date(day),
        "retry": text.date(retry) if retry else "",
        "reason": reason or "-",
        "card": card or "",
    }
    return subject.format(**values), body.format(**values)


_DOCUMENT_MESSAGES: dict[str, tuple[str, str]] = {
    "en": (
        "{brand}: your {kind} {number}",
        "Hello {name},\n\nthank you for charging with {brand}. Your {kind} {number} of {day}"
        " comes to {amount}{due}.\n\nPDF: {pdf}\nE-invoice (UBL): {ubl}\n\nThese links stay"
        " valid; keep this e-mail to find the document again.\n\n{brand}",
    ),
    "de": (
        "{brand}: Ihre {kind} {number}",
        "Hallo {name},\n\nvielen Dank, dass Sie bei {brand} laden. Ihre {kind} {number} vom"
        " {day} beträgt {amount}{due}.\n\nPDF: {pdf}\nE-Rechnung (UBL): {ubl}\n\nDiese Links"
        " bleiben gültig; bewahren Sie diese E-Mail auf, um das Dokument wiederzufinden."
        "\n\n{brand}",
    ),
}
_DUE = {"en": ", due by {date}", "de": ", fällig am {date}"}


def document_message(
    *,
    kind_label: str,
    locale: str,
    currency: str,
    timezone: str,
    brand: str,
    name: str,
    number: str,
    amount: int,
    day: date,
    due: date | None,
    pdf: str,
    ubl: str,
) -> tuple[str, str]:
    """Subject and body of the e-mail that brings a customer a document and its links."""
    text = DocumentText(locale, currency, timezone)
    language = Locale.parse(locale).language
    subject, body = _DOCUMENT_MESSAGES.get(language, _DOCUMENT_MESSAGES["en"])
    due_text = _DUE.get(language, _DUE["en"]).format(date=text.date(due)) if due else ""
    values = {
        "brand": brand,
        "name": name,
        "kind": kind_label,
        "number": number,
        "amount": text.money(amount),
        "day": text.date(day),
        "due": due_text,
        "pdf": pdf,
        "ubl": ubl,
    }
    return subject.format(**values), body.format(**values)
