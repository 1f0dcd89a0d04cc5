"""A sandbox payment service provider for the demo and the tests: the subset of Stripe's
and Adyen's APIs Voltlane's providers use, the PSP's hosted card and 3-D Secure pages, and
signed webhooks. The real SDKs talk to it over HTTP; it imports neither of them."""

from voltlane.billing.sandbox.cards import TEST_CARDS, TestCard
from voltlane.billing.sandbox.core import Account, Request, Response
from voltlane.billing.sandbox.demo import DemoSandbox, sandbox_brands, start_demo_sandbox
from voltlane.billing.sandbox.psp import Sandbox
from voltlane.billing.sandbox.server import SandboxServer, serve
from voltlane.billing.sandbox.state import StoredCard
from voltlane.billing.sandbox.webhooks import adyen_signature, stripe_signature

__all__ = [
    "TEST_CARDS",
    "Account",
    "DemoSandbox",
    "Request",
    "Response",
    "Sandbox",
    "SandboxServer",
    "StoredCard",
    "TestCard",
    "adyen_signature",
    "sandbox_brands",
    "serve",
    "start_demo_sandbox",
    "stripe_signature",
]
