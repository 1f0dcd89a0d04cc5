"""The sandbox's HTML: the hosted card form, the 3-D Secure confirmation, short messages.

Small, neutral, readable on a phone and usable with the keyboard alone: every field has its
label, an error sits beside its field (``aria-describedby``) and the form says at the top
that something needs fixing. Every value shown is escaped.
"""

from __future__ import annotations

import gettext
from decimal import Decimal
from html import escape

from babel.numbers import format_currency, get_currency_precision

from voltlane.billing.sandbox import text
from voltlane.billing.sandbox.cards import TEST_CARDS

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1f2328;background:#f6f8fa}
.banner{margin:0;padding:.5rem 1rem;background:#fff8c5;border-bottom:1px solid #d4a72c;
font-weight:600;text-align:center}
main{max-width:28rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
h2{font-size:1rem;margin:1.5rem 0 .25rem}
.field{margin:0 0 1rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
input{width:100%;padding:.6rem .7rem;font:inherit;border:1px solid #8c959f;border-radius:6px;
background:#fff}
input[aria-invalid=true]{border-color:#b3261e;border-width:2px}
input:focus,button:focus,a:focus{outline:3px solid #0969da;outline-offset:2px}
.error{color:#b3261e;margin:.25rem 0 0;font-size:.95rem}
.summary{border:2px solid #b3261e;border-radius:6px;padding:.5rem .75rem;margin-bottom:1rem;
background:#fff}
.summary p{margin:0}
.actions{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap;margin-top:1.25rem}
button{padding:.65rem 1.25rem;font:inherit;font-weight:600;border-radius:6px;cursor:pointer;
border:1px solid #1f2328;background:#1f2328;color:#fff}
button.secondary{background:#fff;color:#1f2328}
.notes{font-size:.95rem;color:#424a53}
code{font-size:1rem}
"""

_OUTCOMES = {
    ("approve", "approve"): text.CARD_APPROVED,
    ("decline", "decline"): text.CARD_DECLINED,
    ("challenge", "challenge"): text.CARD_CHALLENGE,
    ("approve", "decline"): text.CARD_DECLINED_LATER,
}


def _page(catalog: gettext.NullTranslations, locale: str, title: str, body: str) -> str:
    language = escape(locale.replace("_", "-").split("-")[0] or "en")
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<p class="banner" role="note">{escape(catalog.gettext(text.BANNER))}</p>'
        f"<main>{body}</main></body></html>"
    )


def grouped(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _field(
    name: str,
    label: str,
    value: str,
    error: str | None,
    *,
    autocomplete: str,
    placeholder: str = "",
    focus: bool = False,
) -> str:
    described = f' aria-invalid="true" aria-describedby="error-{name}"' if error else ""
    described += " autofocus" if focus else ""
    message = f'<p class="error" id="error-{name}">{escape(error)}</p>' if error else ""
    return (
        f'<div class="field"><label for="field-{name}">{escape(label)}</label>'
        f'<input id="field-{name}" name="{name}" value="{escape(value)}" inputmode="numeric"'
        f' autocomplete="{autocomplete}" placeholder="{escape(placeholder)}" required'
        f"{described}>{message}</div>"
    )


def card_form(
    catalog: gettext.NullTranslations,
    locale: str,
    *,
    merchant: str,
    action: str,
    values: dict[str, str],
    errors: dict[str, str],
    cancel_url: str | None,
) -> str:
    """The hosted card form; ``errors``: message ids by field (number, expiry, cvc)."""
    say = catalog.gettext
    problems = {name: say(message) for name, message in errors.items()}
    # The keyboard starts at the first field to fix.
    first = next((name for name in ("number", "expiry", "cvc") if name in errors), None)
    summary = (
        f'<div class="summary" role="alert"><p>{escape(say(text.ERRORS_SUMMARY))}</p></div>'
        if errors
        else ""
    )
    cancel = f'<a href="{escape(cancel_url)}">{escape(say(text.CANCEL))}</a>' if cancel_url else ""
    cards = "".join(
        f"<li><code>{grouped(card.number)}</code>: "
        f"{escape(say(_OUTCOMES[(card.entry, card.charge)]))}</li>"
        for card in TEST_CARDS.values()
    )
    body = (
        f"<h1>{escape(say(text.ENTRY_HEADING))}</h1>"
        f"<p>{escape(say(text.ENTRY_INTRO) % {'merchant': merchant})}</p>{summary}"
        f'<form method="post" action="{escape(action)}" novalidate>'
        + _field(
            "number",
            say(text.NUMBER),
            values.get("number", ""),
            problems.get("number"),
            autocomplete="cc-number",
            placeholder="1234 1234 1234 1234",
            focus=first == "number",
        )
        + _field(
            "expiry",
            say(text.EXPIRY),
            values.get("expiry", ""),
            problems.get("expiry"),
            autocomplete="cc-exp",
            placeholder="MM / YY",
            focus=first == "expiry",
        )
        # The security code is never written back into a page.
        + _field(
            "cvc",
            say(text.CVC),
            "",
            problems.get("cvc"),
            autocomplete="cc-csc",
            focus=first == "cvc",
        )
        + f'<div class="actions"><button type="submit">{escape(say(text.SAVE))}</button>'
        f"{cancel}</div></form>"
        f'<section class="notes" aria-labelledby="test-cards">'
        f'<h2 id="test-cards">{escape(say(text.TEST_CARDS_HEADING))}</h2><ul>{cards}</ul>'
        f"<p>{escape(say(text.TEST_CARDS_HINT))}</p></section>"
    )
    return _page(catalog, locale, say(text.ENTRY_HEADING), body)


def amount_text(amount: int, currency: str, locale: str) -> str:
    value = Decimal(amount).scaleb(-get_currency_precision(currency))
    try:
        return str(format_currency(value, currency, locale=locale))
    except ValueError:  # a locale babel does not know
        return str(format_currency(value, currency, locale="en"))


def challenge_page(
    catalog: gettext.NullTranslations,
    locale: str,
    *,
    merchant: str,
    action: str,
    amount: int | None,
    currency: str | None,
) -> str:
    """The bank's 3-D Secure step, where the sandbox lets the driver pick the answer."""
    say = catalog.gettext
    shown = ""
    if amount is not None and currency:
        money = amount_text(amount, currency, locale)
        shown = f"<p>{escape(say(text.CHALLENGE_AMOUNT) % {'amount': money})}</p>"
    body = (
        f"<h1>{escape(say(text.CHALLENGE_HEADING))}</h1><p>{escape(merchant)}</p>{shown}"
        f"<p>{escape(say(text.CHALLENGE_INTRO))}</p>"
        f'<form method="post" action="{escape(action)}"><div class="actions">'
        f'<button type="submit" name="outcome" value="complete">{escape(say(text.COMPLETE))}'
        "</button>"
        f'<button type="submit" name="outcome" value="fail" class="secondary">'
        f"{escape(say(text.FAIL))}</button></div></form>"
    )
    return _page(catalog, locale, say(text.CHALLENGE_HEADING), body)


def message_page(catalog: gettext.NullTranslations, locale: str, message: str) -> str:
    said = catalog.gettext(message)
    return _page(catalog, locale, said, f'<p role="status">{escape(said)}</p>')
