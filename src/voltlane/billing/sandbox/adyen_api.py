"""The subset of Adyen's Checkout API the Adyen provider uses: /payments with stored
cards, the modifications (captures, cancels, refunds), payment links that store a card
(Pay by Link), /storedPaymentMethods (listed and deleted), and the notification webhooks
of those."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from voltlane.billing.sandbox.cards import EnteredCardData
from voltlane.billing.sandbox.core import (
    Account,
    Request,
    Response,
    json_response,
    psp_reference,
    random_id,
)
from voltlane.billing.sandbox.hosted_types import Challenge, Entry
from voltlane.billing.sandbox.state import Object, StoredCard
from voltlane.billing.sandbox.webhooks import adyen_delivery

if TYPE_CHECKING:
    from voltlane.billing.sandbox.psp import Sandbox

_LINK_TTL = timedelta(hours=24)
_BRANDS = {"visa": ("visa", "VISA"), "mastercard": ("mc", "MasterCard")}
# modification path -> (event code, the payment states it applies to, the state after)
_MODIFICATIONS = {
    "captures": ("CAPTURE", {"authorised"}, "captured"),
    "cancels": ("CANCELLATION", {"authorised", "challenge"}, "cancelled"),
    "refunds": ("REFUND", {"captured"}, "captured"),
}


def error(status: int, code: str, message: str, kind: str = "validation") -> Response:
    document = {"status": status, "errorCode": code, "message": message, "errorType": kind}
    return json_response(status, document)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class AdyenApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    # -- the HTTP surface ---------------------------------------------------------------
    def authenticate(self, request: Request) -> tuple[Account | None, Response]:
        key = request.header("x-api-key") or ""
        account = self.sandbox.adyen_account(key) if key else None
        if account is None:
            return None, error(401, "000", "HTTP Status Response - Unauthorized", "security")
        merchant = request.param("merchantAccount") or request.json().get("merchantAccount")
        if merchant is not None and merchant != account.merchant_account:
            return None, error(403, "901", "Invalid Merchant Account", "security")
        return account, json_response(200, {})

    def idempotency_mismatch(self, key: str) -> Response:
        return error(422, "704", f"request already processed or in progress: {key}")

    def handle(self, account: Account, request: Request) -> Response:
        path = re.sub(r"^/v\d+", "", request.path)
        body = request.json()
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            ("POST", r"/payments", self._pay),
            ("POST", r"/payments/([^/]+)/(captures|cancels|refunds)", self._modify),
            ("POST", r"/paymentLinks", self._create_link),
            ("GET", r"/paymentLinks/([^/]+)", self._get_link),
            ("PATCH", r"/paymentLinks/([^/]+)", self._update_link),
            ("GET", r"/storedPaymentMethods", self._stored_methods),
            ("DELETE", r"/storedPaymentMethods/([^/]+)", self._delete_stored),
        ]
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and method == request.method:
                return handler(account, body, request, *match.groups())
        return error(404, "000", f"no such endpoint {request.path}", "internal")

    def _notify(
        self,
        account: Account,
        code: str,
        payment: Object,
        *,
        success: bool,
        psp: str | None = None,
        value: int | None = None,
        reason: str = "",
    ) -> None:
        if not (account.webhook_url and account.adyen_hmac_key):
            return
        amount = payment["amount"]
        item: Object = {
            "eventCode": code,
            "pspReference": psp or payment["pspReference"],
            "merchantAccountCode": account.merchant_account,
            "merchantReference": payment.get("reference", ""),
            "amount": {
                "value": amount["value"] if value is None else value,
                "currency": amount["currency"],
            },
            "success": "true" if success else "false",
            "eventDate": _now().isoformat(),
            "reason": reason,
        }
        if psp is not None:
            item["originalReference"] = payment["pspReference"]
        url, host, key = account.webhook_url, account.webhook_host, account.adyen_hmac_key
        self.sandbox.outbox.send(adyen_delivery(url, host, key, item))

    # -- payments -----------------------------------------------------------------------
    def _pay(self, account: Account, body: Object, request: Request) -> Response:
        method = (body.get("paymentMethod") or {}).get("storedPaymentMethodId")
        amount = body.get("amount") or {}
        if not isinstance(amount.get("value"), int) or not amount.get("currency"):
            return error(422, "100", "Required field 'amount' is not provided.")
        stored = account.adyen.stored.get(str(method))
        if stored is None or (stored.shopper and stored.shopper != body.get("shopperReference")):
            return error(422, "800", "Contract not found")
        psp = psp_reference()
        payment: Object = {
            "pspReference": psp,
            "amount": amount,
            "reference": body.get("reference", ""),
            "shopperReference": body.get("shopperReference"),
            "state": "authorised",
        }
        account.adyen.payments[psp] = payment
        answer: Object = {"pspReference": psp, "merchantReference": payment["reference"]}
        # A merchant-initiated payment on a stored token: no shopper to challenge.
        unattended = body.get("shopperInteraction") == "ContAuth"
        if unattended:
            self.sandbox.merchant_initiated[psp] = str(method)
        if self.sandbox.take_decline() or stored.data.card.charge == "decline":
            payment["state"] = "refused"
            self._notify(account, "AUTHORISATION", payment, success=False, reason="Refused")
            return json_response(
                200, {**answer, "resultCode": "Refused", "refusalReason": "Refused"}
            )
        if stored.data.card.charge == "challenge" and not unattended:
            payment["state"] = "challenge"
            account.adyen.challenged.add(psp)
            if stored.native_action is not None:
                action = stored.native_action
                return json_response(
                    200, {**answer, "resultCode": "ChallengeShopper", "action": action}
                )
            action = {
                "type": "redirect",
                "method": "GET",
                "url": f"{self.sandbox.public_url}/authenticate/{psp}",
                "paymentMethodType": "scheme",
            }
            return json_response(200, {**answer, "resultCode": "RedirectShopper", "action": action})
        manual = str((body.get("additionalData") or {}).get("manualCapture")).lower() == "true"
        if not manual:
            # The merchant account captures what is not held for a manual capture.
            payment["state"] = "captured"
            self.sandbox.captures[psp] += 1
            self.sandbox.captured_amounts[psp] = payment["captured"] = int(amount["value"])
        self._notify(account, "AUTHORISATION", payment, success=True)
        return json_response(200, {**answer, "resultCode": "Authorised", "amount": amount})

    def _modify(
        self, account: Account, body: Object, request: Request, psp: str, kind: str
    ) -> Response:
        payment = account.adyen.payments.get(psp)
        if payment is None:
            return error(422, "167", "Original pspReference required for this operation")
        code, allowed, after = _MODIFICATIONS[kind]
        value = (body.get("amount") or {}).get("value")
        modification = psp_reference()
        done = payment["state"] in allowed
        if kind == "refunds" and done:
            left = payment.get("captured", 0) - payment.get("refunded", 0)
            done = isinstance(value, int) and 0 < value <= left
        if done:
            payment["state"] = after
            if kind == "captures":
                self.sandbox.captures[psp] += 1
                self.sandbox.captured_amounts[psp] = payment["captured"] = int(value or 0)
            elif kind == "cancels":
                self.sandbox.cancels[psp] += 1
            else:
                self.sandbox.refunds[psp] += 1
                payment["refunded"] = payment.get("refunded", 0) + int(value or 0)
        # Adyen accepts every modification and tells its outcome by webhook.
        self._notify(
            account,
            code,
            payment,
            success=done,
            psp=modification,
            value=value if isinstance(value, int) else None,
            reason="" if done else f"Modification not allowed in state {payment['state']}",
        )
        answer = {
            "merchantAccount": account.merchant_account,
            "paymentPspReference": psp,
            "pspReference": modification,
            "status": "received",
        }
        if isinstance(value, int):
            answer["amount"] = body["amount"]
        return json_response(201, answer)

    # -- payment links that store a card ----------------------------------------------------
    def _create_link(self, account: Account, body: Object, request: Request) -> Response:
        amount = body.get("amount") or {}
        if not isinstance(amount.get("value"), int) or not amount.get("currency"):
            return error(422, "100", "Required field 'amount' is not provided.")
        if not body.get("reference"):
            return error(422, "100", "Required field 'reference' is not provided.")
        if body.get("storePaymentMethodMode") in ("enabled", "askForConsent") and not (
            body.get("shopperReference") and body.get("recurringProcessingModel")
        ):
            message = "shopperReference and recurringProcessingModel are required to store"
            return error(422, "100", message)
        ident = random_id("PL", 16, string.ascii_uppercase + string.digits)
        now = _now()
        link = {
            **body,
            "id": ident,
            "url": f"{self.sandbox.public_url}/pay/{ident}",
            "status": "active",
            "creationDate": now.isoformat(),
            "expiresAt": body.get("expiresAt") or (now + _LINK_TTL).isoformat(),
            "reusable": False,
        }
        account.adyen.links[ident] = link
        return json_response(201, link)

    @staticmethod
    def _refresh(link: Object) -> None:
        expires = datetime.fromisoformat(str(link["expiresAt"]))
        if link["status"] == "active" and _now() >= expires:
            link["status"] = "expired"

    def _get_link(self, account: Account, body: Object, request: Request, ident: str) -> Response:
        link = account.adyen.links.get(ident)
        if link is None:
            return error(422, "14_013", f"Payment link {ident} not found")
        self._refresh(link)
        return json_response(200, link)

    def _update_link(
        self, account: Account, body: Object, request: Request, ident: str
    ) -> Response:
        link = account.adyen.links.get(ident)
        if link is None:
            return error(422, "14_013", f"Payment link {ident} not found")
        self._refresh(link)
        if body.get("status") != "expired" or link["status"] != "active":
            return error(422, "14_014", "Only an active payment link can be expired")
        link["status"] = "expired"
        return json_response(200, link)

    def _stored_methods(self, account: Account, body: Object, request: Request) -> Response:
        shopper = request.param("shopperReference")
        if not shopper:
            return error(422, "100", "Required field 'shopperReference' is not provided.")
        methods = []
        for stored in account.adyen.stored.values():
            if stored.shopper != shopper:
                continue
            brand, name = _BRANDS.get(stored.data.card.brand, (stored.data.card.brand, ""))
            methods.append(
                {
                    "id": stored.id,
                    "type": "scheme",
                    "brand": brand,
                    "name": name,
                    "lastFour": stored.data.card.last4,
                    "expiryMonth": f"{stored.data.exp_month:02d}",
                    "expiryYear": f"{stored.data.exp_year % 100:02d}",
                    "supportedShopperInteractions": ["Ecommerce", "ContAuth"],
                    "supportedRecurringProcessingModels": [
                        "CardOnFile",
                        "Subscription",
                        "UnscheduledCardOnFile",
                    ],
                }
            )
        answer = {
            "merchantAccount": account.merchant_account,
            "shopperReference": shopper,
            "storedPaymentMethods": methods,
        }
        return json_response(200, answer)

    def _delete_stored(
        self, account: Account, body: Object, request: Request, ident: str
    ) -> Response:
        shopper = request.param("shopperReference")
        if not shopper:
            return error(422, "100", "Required field 'shopperReference' is not provided.")
        stored = account.adyen.stored.get(ident)
        if stored is None or stored.shopper != shopper:
            return error(422, "800", "Contract not found")
        del account.adyen.stored[ident]
        self.sandbox.detaches[ident] += 1
        return Response(204, b"")

    # -- what the hosted pages need ------------------------------------------------------------
    def store(self, account: Account, shopper: str | None, data: EnteredCardData) -> StoredCard:
        """The shopper's token for ``data``: Adyen keeps one per card and shopper."""
        for stored in account.adyen.stored.values():
            if stored.shopper == shopper and stored.data.card == data.card:
                stored.data = data
                return stored
        ident = "".join(secrets.choice(string.digits) for _ in range(16))
        stored = StoredCard(ident, data, shopper)
        account.adyen.stored[ident] = stored
        return stored

    def entry(self, reference: str) -> Entry | None:
        """The payment link ``reference`` of any account (its id is the secret)."""
        for account in self.sandbox.accounts:
            link = account.adyen.links.get(reference)
            if link is None:
                continue
            self._refresh(link)
            status = {"active": "open", "expired": "expired"}.get(link["status"], "complete")
            return Entry(
                reference=reference,
                status=status,  # type: ignore[arg-type]
                locale=str(link.get("shopperLocale") or account.locale).replace("-", "_"),
                merchant=account.display_name,
                cancel_url=None,  # a payment link has none
                store=partial(self._store_link, account, link),
            )
        return None

    def _store_link(self, account: Account, link: Object, data: EnteredCardData) -> str:
        if link.get("storePaymentMethodMode") in ("enabled", "askForConsent"):
            self.store(account, link.get("shopperReference"), data)
        link["status"] = "completed"
        return str(link.get("returnUrl") or f"{self.sandbox.public_url}/pay/{link['id']}")

    def challenge(self, reference: str) -> Challenge | None:
        """The payment ``reference`` of any account that asked for 3-D Secure."""
        for account in self.sandbox.accounts:
            payment = account.adyen.payments.get(reference)
            if payment is None or reference not in account.adyen.challenged:
                continue
            return Challenge(
                reference=reference,
                waiting=payment["state"] == "challenge",
                amount=payment["amount"]["value"],
                currency=payment["amount"]["currency"],
                locale=account.locale,
                merchant=account.display_name,
                finish=partial(self._finish_challenge, account, payment),
            )
        return None

    def _finish_challenge(self, account: Account, payment: Object, confirmed: bool) -> None:
        if payment["state"] != "challenge":
            return
        payment["state"] = "authorised" if confirmed else "refused"
        reason = "" if confirmed else "3D Not Authenticated"
        self._notify(account, "AUTHORISATION", payment, success=confirmed, reason=reason)
