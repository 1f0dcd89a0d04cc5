"""The sandbox PSP: one in-memory payment service provider for the demo and the tests."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from typing import Protocol

from voltlane.billing.sandbox.adyen_api import AdyenApi
from voltlane.billing.sandbox.core import Account, Request, Response, json_response
from voltlane.billing.sandbox.hosted import HostedPages
from voltlane.billing.sandbox.stripe_api import StripeApi
from voltlane.billing.sandbox.text import Catalogs, english
from voltlane.billing.sandbox.webhooks import WebhookOutbox

_ADYEN_PATH = re.compile(r"/v\d+/")


class _Api(Protocol):
    def authenticate(self, request: Request) -> tuple[Account | None, Response]: ...

    def idempotency_mismatch(self, key: str) -> Response: ...

    def handle(self, account: Account, request: Request) -> Response: ...


class Sandbox:
    """A PSP speaking the subset of Stripe's and Adyen's APIs that Voltlane's providers use,
    with the hosted card and 3-D Secure pages, and webhooks like the real ones send.

    Each brand has an account of its own (``add_account``): its keys reach only its
    objects. ``public_url`` is where browsers reach the hosted pages. A request repeated
    with its ``Idempotency-Key`` gets the first answer again, and nothing happens twice;
    the same key with other parameters is refused, as the PSPs do. Everything runs under
    one lock: the sandbox serves a demo or a test suite, not traffic.
    """

    def __init__(self, *, public_url: str = "", catalogs: Catalogs = english) -> None:
        self.lock = threading.RLock()
        self.public_url = public_url.rstrip("/")
        self.catalogs = catalogs
        self.accounts: list[Account] = []
        self.outbox = WebhookOutbox()
        self._answers: dict[tuple[str, str], tuple[str, Response]] = {}
        # What tests look at, across accounts: requests per idempotency key, and the money
        # movements per payment reference.
        self.requests_per_key: Counter[str] = Counter()
        self.captures: Counter[str] = Counter()
        self.captured_amounts: dict[str, int] = {}
        self.refunds: Counter[str] = Counter()
        self.cancels: Counter[str] = Counter()
        # Payments made without the card holder (Stripe off_session, Adyen ContAuth): the
        # reference and the stored card charged.
        self.merchant_initiated: dict[str, str] = {}
        # Stored cards made unusable (Stripe PaymentMethods detached, Adyen tokens deleted).
        self.detaches: Counter[str] = Counter()
        # path pattern -> seconds to wait AFTER doing the work, once (a timeout after send)
        self.slow: dict[str, float] = {}
        # The next this many authorizations are declined whatever the card.
        self.decline_next = 0
        self.stripe = StripeApi(self)
        self.adyen = AdyenApi(self)
        self.hosted = HostedPages(self)

    def add_account(self, account: Account) -> Account:
        with self.lock:
            self.accounts.append(account)
        return account

    def stripe_account(self, api_key: str) -> Account | None:
        return next((a for a in self.accounts if api_key in a.stripe_keys), None)

    def adyen_account(self, api_key: str) -> Account | None:
        return next((a for a in self.accounts if api_key in a.adyen_keys), None)

    def take_decline(self) -> bool:
        """True when this authorization is one of the ``decline_next``."""
        if self.decline_next <= 0:
            return False
        self.decline_next -= 1
        return True

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request."""
        if request.path.startswith(("/pay/", "/authenticate/")):
            with self.lock:
                return self.hosted.handle(request)
        api: _Api
        if request.path.startswith("/v1/"):
            api = self.stripe
        elif _ADYEN_PATH.match(request.path):
            api = self.adyen
        else:
            return json_response(404, {"error": {"message": f"no route {request.path}"}})
        with self.lock:
            account, refusal = api.authenticate(request)
            if account is None:
                return refusal
            response = self._once(api, account, request)
        for pattern, seconds in list(self.slow.items()):
            if re.search(pattern, request.path):
                del self.slow[pattern]  # only the first request is slow
                time.sleep(seconds)
        return response

    def _once(self, api: _Api, account: Account, request: Request) -> Response:
        key = request.header("Idempotency-Key") or ""
        if not key:
            return api.handle(account, request)
        self.requests_per_key[key] += 1
        fingerprint = f"{request.method} {request.path} {request.body!r}"
        cached = self._answers.get((account.name, key))
        if cached is None:
            response = api.handle(account, request)
            if response.status < 500:
                self._answers[(account.name, key)] = (fingerprint, response)
            return response
        if cached[0] != fingerprint:
            return api.idempotency_mismatch(key)
        first = cached[1]
        replayed = {**first.headers, "Idempotent-Replayed": "true"}
        return Response(first.status, first.body, first.content_type, replayed)
