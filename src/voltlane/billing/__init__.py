"""Money: tariff versions and assignments, pricing of stored sessions, CDRs."""

from voltlane.billing.cdrs import (
    RatedBatch,
    credit_cdr,
    get_cdr,
    list_cdrs,
    live_cost,
    priced_json,
    rate_pending,
    rate_pending_batch,
    rate_session,
)
from voltlane.billing.errors import CdrNotFoundError, NoTariffError, SessionNotRatableError
from voltlane.billing.tariffs import (
    assign_tariff,
    create_tariff_version,
    get_tariff,
    list_assignments,
    list_tariffs,
)

__all__ = [
    "CdrNotFoundError",
    "NoTariffError",
    "RatedBatch",
    "SessionNotRatableError",
    "assign_tariff",
    "create_tariff_version",
    "credit_cdr",
    "get_cdr",
    "get_tariff",
    "list_assignments",
    "list_cdrs",
    "list_tariffs",
    "live_cost",
    "priced_json",
    "rate_pending",
    "rate_pending_batch",
    "rate_session",
]
