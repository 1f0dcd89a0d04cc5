"""Models of a brand's own schema (placeholder ``tenant``, routed per tenant)."""

from voltlane.models.tenant.audit import AuditEntry
from voltlane.models.tenant.identity import (
    LoginAttempt,
    OperatorUser,
    Role,
    StaffSession,
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

__all__ = [
    "AuditEntry",
    "ChargingStation",
    "Connector",
    "ConnectorFormat",
    "ConnectorStandard",
    "Evse",
    "Location",
    "LoginAttempt",
    "OperatorUser",
    "PowerType",
    "RegistrationStatus",
    "Role",
    "StaffSession",
]
