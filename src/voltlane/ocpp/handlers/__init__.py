"""Per-version message handlers: thin mappings onto version-neutral domain calls."""

from voltlane.ocpp.handlers.base import HandlerContext, Handlers
from voltlane.ocpp.handlers.v2 import V2_HANDLERS, V21_HANDLERS
from voltlane.ocpp.handlers.v16 import V16_HANDLERS
from voltlane.ocpp.protocol import Version

HANDLERS: dict[Version, Handlers] = {
    Version.V16: V16_HANDLERS,
    Version.V201: V2_HANDLERS,
    Version.V21: V21_HANDLERS,
}

__all__ = ["HANDLERS", "HandlerContext", "Handlers"]
