"""Fake Stripe and Adyen HTTP APIs for the real SDKs: just enough of each, with the PSPs'
idempotency (a repeated key gets the first answer, the effect happens once)."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

_ids = itertools.count(1)


class FakePsp:
    """Shared bookkeeping: requests per idempotency key, effects per operation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests_per_key: Counter[str] = Counter()
        self.captures: Counter[str] = Counter()  # payment reference -> captures done
        self.captured_amounts: dict[str, int] = {}
        self.refunds: Counter[str] = Counter()
        self.cancels: Counter[str] = Counter()
        # path pattern -> seconds to wait AFTER doing the work (a timeout after send)
        self.slow: dict[str, float] = {}

    def handle(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            self.requests_per_key[key] += 1
            cached = self.answers.get(key) if key else None
            if cached is None:
                cached = self.execute(request)
                if key:
                    self.answers[key] = cached
        for pattern, seconds in list(self.slow.items()):
            if re.search(pattern, request.path):
                del self.slow[pattern]  # only the first request is slow
                time.sleep(seconds)
        status, body = cached
        return Response(json.dumps(body), status=status, content_type="application/json")

    def execute(self, request: Request) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


class FakeStripe(FakePsp):
    """PaymentIntents (manual capture), refunds, customers. Test cards by payment method:
    pm_card_visa authorizes, pm_card_chargeDeclined is declined, pm_card_threeDSecure2Required
    needs 3-D Secure."""

    def __init__(self) -> None:
        super().__init__()
        self.intents: dict[str, dict[str, Any]] = {}
        # The next this many PaymentIntents are declined whatever the card (funds run out,
        # then come back).
        self.decline_next = 0

    def execute(self, request: Request) -> tuple[int, dict[str, Any]]:
        form = request.form
        path = request.path
        if path == "/v1/customers":
            return 200, {"id": f"cus_{next(_ids)}", "object": "customer"}
        if path == "/v1/payment_intents":
            return self._create(form.get("payment_method", ""), int(form["amount"]), form)
        if path == "/v1/refunds":
            intent = self.intents[form["payment_intent"]]
            self.refunds[intent["id"]] += 1
            amount = int(form["amount"])
            return 200, {"id": f"re_{next(_ids)}", "object": "refund", "amount": amount}
        match = re.fullmatch(r"/v1/payment_intents/([^/]+)/(capture|cancel)", path)
        if match is None or match[1] not in self.intents:
            return 404, {"error": {"type": "invalid_request_error", "message": "no such path"}}
        intent = self.intents[match[1]]
        if intent["status"] != "requires_capture":
            message = f"This PaymentIntent's status is {intent['status']}"
            return 400, {"error": {"type": "invalid_request_error", "message": message}}
        if match[2] == "capture":
            amount = int(form.get("amount_to_capture", intent["amount"]))
            self.captures[intent["id"]] += 1
            self.captured_amounts[intent["id"]] = amount
            intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        else:
            self.cancels[intent["id"]] += 1
            intent.update(status="canceled", amount_capturable=0)
        return 200, intent

    def _create(self, method: str, amount: int, form: Any) -> tuple[int, dict[str, Any]]:
        intent: dict[str, Any] = {
            "id": f"pi_{next(_ids)}",
            "object": "payment_intent",
            "amount": amount,
            "currency": form.get("currency"),
            "capture_method": form.get("capture_method"),
            "amount_capturable": 0,
            "amount_received": 0,
            "next_action": None,
        }
        self.intents[intent["id"]] = intent
        declined = method == "pm_card_chargeDeclined" or self.decline_next > 0
        self.decline_next = max(0, self.decline_next - 1)
        if declined:
            intent["status"] = "requires_payment_method"
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "payment_intent": intent,
            }
            return 402, {"error": error}
        if method == "pm_card_threeDSecure2Required":
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": "https://x"},
            }
            return 200, intent
        intent.update(status="requires_capture", amount_capturable=amount)
        return 200, intent


class FakeAdyen(FakePsp):
    """Checkout /payments and modifications. Stored methods: card_ok authorizes,
    card_refused is refused, card_3ds asks for a 3-D Secure challenge."""

    def __init__(self) -> None:
        super().__init__()
        self.payments: dict[str, dict[str, Any]] = {}

    def execute(self, request: Request) -> tuple[int, dict[str, Any]]:
        body = request.get_json()
        path = request.path
        if request.headers.get("x-api-key") != "adyen-test-key":
            return 401, {"status": 401, "errorCode": "000", "message": "HTTP Status 401"}
        if path == "/v72/payments":
            method = body["paymentMethod"]["storedPaymentMethodId"]
            psp = f"PSP{next(_ids):012d}"
            payment = {"pspReference": psp, "amount": body["amount"], "state": "authorised"}
            self.payments[psp] = payment
            if method == "card_refused":
                payment["state"] = "refused"
                return 200, {
                    "pspReference": psp,
                    "resultCode": "Refused",
                    "refusalReason": "Refused",
                }
            if method == "card_3ds":
                payment["state"] = "challenge"
                action = {"type": "threeDS2", "paymentMethodType": "scheme", "token": "tok"}
                return 200, {
                    "pspReference": psp,
                    "resultCode": "ChallengeShopper",
                    "action": action,
                }
            return 200, {"pspReference": psp, "resultCode": "Authorised", "amount": body["amount"]}
        match = re.fullmatch(r"/v72/payments/([^/]+)/(captures|cancels|refunds)", path)
        if match is None or match[1] not in self.payments:
            return 422, {"status": 422, "errorCode": "167", "message": "Original pspReference"}
        psp, kind = match[1], match[2]
        if kind == "captures":
            self.captures[psp] += 1
            self.captured_amounts[psp] = body["amount"]["value"]
        elif kind == "cancels":
            self.cancels[psp] += 1
        else:
            self.refunds[psp] += 1
        return 201, {
            "paymentPspReference": psp,
            "pspReference": f"MOD{next(_ids):012d}",
            "status": "received",
        }


@contextmanager
def serve(fake: FakePsp) -> Iterator[str]:
    """Run ``fake`` on a local port (threaded: a slow answer does not block the next one);
    yields its base URL."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
    server.start()
    try:
        yield server.url_for("").rstrip("/")
    finally:
        server.clear()
        server.stop()
