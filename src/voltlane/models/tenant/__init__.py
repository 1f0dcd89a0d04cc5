"""Models of a brand's own schema (placeholder ``tenant``, routed per tenant)."""

from voltlane.models.tenant.api import ApiKey
from voltlane.models.tenant.audit import AuditEntry
from voltlane.models.tenant.billing import Cdr, CdrKind, TariffAssignment, TariffVersion
from voltlane.models.tenant.charging import (
    ChargingSession,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    MeterSample,
    SessionStatus,
    TransactionEventRecord,
)
from voltlane.models.tenant.identity import (
    LoginAttempt,
    OperatorUser,
    Role,
    StaffSession,
)
from voltlane.models.tenant.invoices import (
    AccountKind,
    CustomerAccount,
    Invoice,
    InvoiceCdr,
    InvoiceCounter,
    InvoiceKind,
    Invoicing,
)
from voltlane.models.tenant.notifications import Notification
from voltlane.models.tenant.ocpp import CommandStatus, OcppFrame, StationCommand, StationEvent
from voltlane.models.tenant.payments import (
    DunningState,
    OperationKind,
    OperationState,
    Payment,
    PaymentOperation,
    PaymentPurpose,
    PaymentStatus,
    WebhookEvent,
)
from voltlane.models.tenant.settlement import (
    LoyaltyEntry,
    LoyaltyKind,
    SessionSettlement,
    WalletEntry,
    WalletKind,
)
from voltlane.models.tenant.station import (
    ChargingStation,
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    Location,
    PowerType,
    RegistrationStatus,
)
from voltlane.models.tenant.subscriptions import (
    Subscription,
    SubscriptionCharge,
    SubscriptionPlan,
)

__all__ = [
    "AccountKind",
    "ApiKey",
    "AuditEntry",
    "Cdr",
    "CdrKind",
    "ChargingSession",
    "ChargingStation",
    "CommandStatus",
    "Connector",
    "ConnectorFormat",
    "ConnectorStandard",
    "CustomerAccount",
    "DunningState",
    "Evse",
    "IdToken",
    "IdTokenStatus",
    "IdTokenType",
    "Invoice",
    "InvoiceCdr",
    "InvoiceCounter",
    "InvoiceKind",
    "Invoicing",
    "Location",
    "LoginAttempt",
    "LoyaltyEntry",
    "LoyaltyKind",
    "MeterSample",
    "Notification",
    "OcppFrame",
    "OperationKind",
    "OperationState",
    "OperatorUser",
    "Payment",
    "PaymentOperation",
    "PaymentPurpose",
    "PaymentStatus",
    "PowerType",
    "RegistrationStatus",
    "Role",
    "SessionSettlement",
    "SessionStatus",
    "StaffSession",
    "StationCommand",
    "StationEvent",
    "Subscription",
    "SubscriptionCharge",
    "SubscriptionPlan",
    "TariffAssignment",
    "TariffVersion",
    "TransactionEventRecord",
    "WalletEntry",
    "WalletKind",
    "WebhookEvent",
]
