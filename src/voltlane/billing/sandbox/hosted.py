"""The pages a PSP hosts, for both APIs: the card entry (``/pay/<entry>``, with its 3-D
Secure step when the card asks for one) and the confirmation of a payment that needs 3-D
Secure (``/authenticate/<payment>``)."""

from __future__ import annotations

import gettext
import re
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from babel.core import UnknownLocaleError

from voltlane.billing.sandbox import pages, text
from voltlane.billing.sandbox.cards import EnteredCardData, check_card_form
from voltlane.billing.sandbox.core import Request, Response, html_response, redirect
from voltlane.billing.sandbox.hosted_types import Entry
from voltlane.billing.sandbox.text import english

if TYPE_CHECKING:
    from voltlane.billing.sandbox.psp import Sandbox

_ENTRY = re.compile(r"/pay/([A-Za-z0-9_]+)(/challenge)?")
_CONFIRM = re.compile(r"/authenticate/([A-Za-z0-9_]+)")


class HostedPages:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        # entry -> the card waiting for its 3-D Secure step (never its security code)
        self._waiting: dict[str, EnteredCardData] = {}

    def _catalog(self, locale: str) -> gettext.NullTranslations:
        try:
            return self.sandbox.catalogs(locale)
        except (ValueError, UnknownLocaleError):  # a locale nobody knows: English
            return english(locale)

    def _message(self, status: int, locale: str, message: str) -> Response:
        catalog = self._catalog(locale)
        return html_response(status, pages.message_page(catalog, locale, message))

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return Response(405, b"", "text/plain", {"Allow": "GET, POST"})
        if match := _ENTRY.fullmatch(request.path):
            entry = self.sandbox.stripe.entry(match[1]) or self.sandbox.adyen.entry(match[1])
            if entry is None:
                return self._message(404, "en", text.NOT_FOUND)
            if entry.status == "expired":
                self._waiting.pop(entry.reference, None)
                return self._message(410, entry.locale, text.EXPIRED)
            if entry.status == "complete":
                return self._message(200, entry.locale, text.FINISHED)
            if match[2]:
                return self._entry_challenge(entry, request)
            return self._entry(entry, request)
        if match := _CONFIRM.fullmatch(request.path):
            return self._confirm(match[1], request)
        return self._message(404, "en", text.NOT_FOUND)

    def _form(
        self, entry: Entry, status: int, values: dict[str, str], errors: dict[str, str]
    ) -> Response:
        page = pages.card_form(
            self._catalog(entry.locale),
            entry.locale,
            merchant=entry.merchant,
            action=f"/pay/{entry.reference}",
            values=values,
            errors=errors,
            cancel_url=entry.cancel_url,
        )
        return html_response(status, page)

    def _entry(self, entry: Entry, request: Request) -> Response:
        if request.method == "GET":
            return self._form(entry, 200, {}, {})
        form = request.form()
        values = {name: form.get(name, "").strip()[:40] for name in ("number", "expiry")}
        data, errors = check_card_form(values["number"], values["expiry"], form.get("cvc", ""))
        if data is None:
            return self._form(entry, 400, values, errors)
        if data.card.entry == "decline":
            return self._form(entry, 402, values, {"number": text.DECLINED})
        if data.card.entry == "challenge":
            self._waiting[entry.reference] = data
            return redirect(f"/pay/{entry.reference}/challenge")
        return redirect(entry.store(data))

    def _entry_challenge(self, entry: Entry, request: Request) -> Response:
        if entry.reference not in self._waiting:
            return redirect(f"/pay/{entry.reference}")
        if request.method == "GET":
            page = pages.challenge_page(
                self._catalog(entry.locale),
                entry.locale,
                merchant=entry.merchant,
                action=f"/pay/{entry.reference}/challenge",
                amount=None,
                currency=None,
            )
            return html_response(200, page)
        data = self._waiting.pop(entry.reference)
        if request.form().get("outcome") == "complete":
            return redirect(entry.store(data))
        values = {"number": pages.grouped(data.card.number), "expiry": ""}
        return self._form(entry, 402, values, {"number": text.AUTHENTICATION_FAILED})

    def _confirm(self, reference: str, request: Request) -> Response:
        challenge = self.sandbox.stripe.challenge(reference) or self.sandbox.adyen.challenge(
            reference
        )
        if challenge is None:
            return self._message(404, "en", text.NOT_FOUND)
        locale, back = challenge.locale, request.param("return_url")
        if request.method == "GET":
            if not challenge.waiting:
                return self._message(200, locale, text.CHALLENGE_ANSWERED)
            page = pages.challenge_page(
                self._catalog(locale),
                locale,
                merchant=challenge.merchant,
                action=request.path + (f"?{urlencode({'return_url': back})}" if back else ""),
                amount=challenge.amount,
                currency=challenge.currency,
            )
            return html_response(200, page)
        if not challenge.waiting:
            return self._message(409, locale, text.CHALLENGE_ANSWERED)
        confirmed = request.form().get("outcome") == "complete"
        challenge.finish(confirmed)
        if back and back.startswith(("http://", "https://")):
            return redirect(back)
        answer = text.CHALLENGE_DONE if confirmed else text.CHALLENGE_FAILED
        return self._message(200, locale, answer)
