"""What every part of the sandbox PSP shares: requests and answers, merchant accounts,
ids nobody can guess."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from voltlane.billing.sandbox.state import AdyenState, StripeState

_ALNUM = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 24, alphabet: str = _ALNUM) -> str:
    """An id nobody can guess: a hosted page is reached by its id alone."""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def psp_reference() -> str:
    """Adyen's 16-character reference of a payment or a modification."""
    return random_id("", 16, string.ascii_uppercase + string.digits)


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @classmethod
    def of(cls, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Request:
        path, _, query = target.partition("?")
        return cls(
            method=method.upper(),
            path=path,
            query=parse_qs(query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> dict[str, Any]:
        try:
            document = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}

    def form(self) -> dict[str, str]:
        """A urlencoded body, one value per field (the last one)."""
        pairs = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in pairs.items()}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


def json_response(status: int, document: Any) -> Response:
    return Response(status, json.dumps(document).encode())


def html_response(status: int, page: str) -> Response:
    return Response(status, page.encode(), "text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(303, b"", "text/plain", {"Location": location})


@dataclass(slots=True)
class Account:
    """One brand's merchant account at the sandbox, with its own keys, secrets and objects:
    a key of one account never reaches another's objects."""

    name: str
    # What the hosted pages call the merchant, and their language for payments (a card
    # entry says its own).
    display_name: str = ""
    locale: str = "en"
    stripe_keys: set[str] = field(default_factory=set)
    adyen_keys: set[str] = field(default_factory=set)
    merchant_account: str = ""
    stripe_webhook_secret: str | None = None
    adyen_hmac_key: str | None = None  # hex
    # Where the account's webhooks go (None: nowhere) and the Host header they carry (the
    # platform finds the brand by its host).
    webhook_url: str | None = None
    webhook_host: str | None = None
    # Stripe refuses a customer id it does not know; tests that name customers they never
    # created turn this off.
    known_customers_only: bool = True
    stripe: StripeState = field(default_factory=StripeState)
    adyen: AdyenState = field(default_factory=AdyenState)

    def __post_init__(self) -> None:
        self.display_name = self.display_name or self.name
