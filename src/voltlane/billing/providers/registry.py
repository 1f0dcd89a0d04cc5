"""The payment provider of a brand: chosen in its tenant file, credentials from the
environment (never stored, never logged)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from voltlane.billing.providers.adyen import AdyenProvider
from voltlane.billing.providers.base import PaymentProvider
from voltlane.billing.providers.stripe import StripeProvider
from voltlane.core.errors import ConflictError
from voltlane.tenancy import TenantInfo

PROVIDERS = ("stripe", "adyen")


class PaymentsNotConfiguredError(ConflictError):
    """The brand chose no provider, or the provider's credentials are not in the environment."""

    title = "Payments not configured"


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        # The variable's name only: its value is a secret.
        raise PaymentsNotConfiguredError(f"environment variable {name} is not set")
    return value


def _timeout(environ: Mapping[str, str], name: str) -> float:
    raw = environ.get(name, "").strip()
    try:
        return float(raw) if raw else 30.0
    except ValueError as exc:
        raise PaymentsNotConfiguredError(f"{name} must be a number of seconds") from exc


def provider_named(
    name: str, environ: Mapping[str, str] | None = None, *, currency: str = "EUR"
) -> PaymentProvider:
    """The provider ``name`` ("stripe" | "adyen") built from ``environ`` (os.environ);
    ``currency``: the brand's, in which Adyen verifies a card being stored."""
    env = os.environ if environ is None else environ
    if name == "stripe":
        return StripeProvider(
            api_key=_required(env, "VOLTLANE_STRIPE_API_KEY"),
            webhook_secret=_required(env, "VOLTLANE_STRIPE_WEBHOOK_SECRET"),
            api_base=env.get("VOLTLANE_STRIPE_API_BASE") or None,
            timeout=_timeout(env, "VOLTLANE_STRIPE_TIMEOUT"),
        )
    if name == "adyen":
        return AdyenProvider(
            api_key=_required(env, "VOLTLANE_ADYEN_API_KEY"),
            merchant_account=_required(env, "VOLTLANE_ADYEN_MERCHANT_ACCOUNT"),
            hmac_key=_required(env, "VOLTLANE_ADYEN_HMAC_KEY"),
            currency=currency,
            checkout_url=env.get("VOLTLANE_ADYEN_CHECKOUT_URL") or None,
            live_endpoint_prefix=env.get("VOLTLANE_ADYEN_LIVE_PREFIX") or None,
            timeout=_timeout(env, "VOLTLANE_ADYEN_TIMEOUT"),
        )
    raise PaymentsNotConfiguredError(f"unknown payment provider {name!r}")


def brand_environ(tenant_key: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables as one brand sees them: ``VOLTLANE_<KEY>_STRIPE_API_KEY`` (the brand's
    own PSP account) wins over the platform-wide ``VOLTLANE_STRIPE_API_KEY``."""
    prefix = f"VOLTLANE_{tenant_key.upper()}_"
    view = dict(environ)
    for name, value in environ.items():
        if name.startswith(prefix):
            view[f"VOLTLANE_{name.removeprefix(prefix)}"] = value
    return view


def provider_for(tenant: TenantInfo, environ: Mapping[str, str] | None = None) -> PaymentProvider:
    """The provider the brand chose in ``[payments] provider`` of its tenant file, with the
    brand's credentials (see brand_environ)."""
    payments = tenant.profile.get("payments")
    name = payments.get("provider") if isinstance(payments, dict) else None
    if not isinstance(name, str):
        raise PaymentsNotConfiguredError(f"brand {tenant.slug} has no payment provider")
    env = os.environ if environ is None else environ
    return provider_named(name, brand_environ(tenant.key, env), currency=tenant.currency)
