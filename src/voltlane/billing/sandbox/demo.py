"""Payments in the demo: a brand whose PSP credentials are not in the environment pays
through an in-process sandbox PSP, with keys generated for this run. A brand with any of
its provider's credentials set is left alone: the sandbox never stands in for a real
account."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field

from voltlane.billing.providers.registry import brand_environ
from voltlane.billing.sandbox.core import Account
from voltlane.billing.sandbox.psp import Sandbox
from voltlane.billing.sandbox.server import SandboxServer
from voltlane.billing.sandbox.text import Catalogs, english
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo

log = logging.getLogger(__name__)

CREDENTIALS = {
    "stripe": ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"),
    "adyen": ("ADYEN_API_KEY", "ADYEN_MERCHANT_ACCOUNT", "ADYEN_HMAC_KEY"),
}


def sandbox_brands(
    brands: Iterable[TenantInfo], environ: MutableMapping[str, str]
) -> list[tuple[TenantInfo, str]]:
    """The brands (with their provider) that chose a PSP but have none of its credentials,
    neither their own (``VOLTLANE_<KEY>_...``) nor the platform's."""
    found = []
    for brand in brands:
        payments = brand.profile.get("payments")
        provider = payments.get("provider") if isinstance(payments, dict) else None
        if provider not in CREDENTIALS:
            continue
        seen = brand_environ(brand.key, environ)
        if not any(seen.get(f"VOLTLANE_{name}", "").strip() for name in CREDENTIALS[provider]):
            found.append((brand, provider))
    return found


def sandbox_account(brand: TenantInfo, provider: str) -> tuple[Account, dict[str, str]]:
    """A new account for ``brand`` at the sandbox and the variables that point the brand's
    provider at it (``VOLTLANE_<KEY>_...``: they hold generated secrets, never logged)."""
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    account = Account(name=brand.key, display_name=brand.name, locale=brand.locale)
    if provider == "stripe":
        key, secret = f"sk_test_sandbox_{secrets.token_hex(12)}", f"whsec_{secrets.token_hex(16)}"
        account.stripe_keys.add(key)
        account.stripe_webhook_secret = secret
        names = {"STRIPE_API_KEY": key, "STRIPE_WEBHOOK_SECRET": secret}
    else:
        key, hmac_key = f"sandbox_{secrets.token_hex(16)}", secrets.token_hex(32).upper()
        account.adyen_keys.add(key)
        account.merchant_account = f"{brand.key.capitalize()}SandboxECOM"
        account.adyen_hmac_key = hmac_key
        names = {
            "ADYEN_API_KEY": key,
            "ADYEN_MERCHANT_ACCOUNT": account.merchant_account,
            "ADYEN_HMAC_KEY": hmac_key,
        }
    return account, {prefix + name: value for name, value in names.items()}


@dataclass
class DemoSandbox:
    """The running sandbox of a demo and the variables it set; ``stop`` undoes both."""

    server: SandboxServer
    environ: MutableMapping[str, str]
    variables: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.sandbox.public_url

    def stop(self) -> None:
        for name in self.variables:
            self.environ.pop(name, None)
        self.server.stop()


def start_demo_sandbox(
    settings: Settings,
    brands: Iterable[TenantInfo],
    *,
    catalogs: Catalogs = english,
    environ: MutableMapping[str, str] | None = None,
) -> DemoSandbox | None:
    """In demo mode, start the sandbox PSP for the brands without PSP credentials and
    point their provider at it (API address, generated keys, webhooks to the brand's
    ``/api/webhooks/payments``). None when no brand needs it or outside demo mode."""
    env = os.environ if environ is None else environ
    needing = sandbox_brands(brands, env) if settings.demo else []
    if not needing:
        return None
    # A wildcard bind is reached on loopback.
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host  # noqa: S104
    sandbox = Sandbox(catalogs=catalogs)
    server = SandboxServer(sandbox, host=settings.host, port=0)
    sandbox.public_url = f"http://{host}:{server.port}"
    running = DemoSandbox(server, env)
    for brand, provider in needing:
        account, variables = sandbox_account(brand, provider)
        account.webhook_url = f"http://{host}:{settings.port}/api/webhooks/payments"
        account.webhook_host = f"{brand.slug}.{settings.base_domain}"
        sandbox.add_account(account)
        prefix = f"VOLTLANE_{brand.key.upper()}_"
        base = "STRIPE_API_BASE" if provider == "stripe" else "ADYEN_CHECKOUT_URL"
        variables[prefix + base] = sandbox.public_url + ("" if provider == "stripe" else "/v72")
        env.update(variables)
        running.variables.extend(variables)
        log.warning(
            "payments in sandbox mode: no real money moves",
            extra={"tenant": brand.key, "provider": provider, "sandbox_url": sandbox.public_url},
        )
    server.start()
    return running
