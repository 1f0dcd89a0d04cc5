"""The words for enumerated values that pages show: one table per enumeration.

Pages show ``label_of("payment_status", payment.status)`` (see ``i18n.template_gettext``), so
a status reads "Capture outstanding" / "Erfassung ausstehend", never ``outstanding``; selects
list ``options_of(kind)``. CSV exports keep the raw values: they are data. A value missing
here (one a newer protocol sends, say) is shown as it is. Keys are the stored values (a
``StrEnum`` member equals its value); the order of each table is the order of its options.
"""

from __future__ import annotations

from typing import Any

from voltlane.billing.documents.model import DocumentKind
from voltlane.billing.tariffs import VersionStatus
from voltlane.core.text import N_
from voltlane.models.tenant import (
    AccountKind,
    AlertKind,
    AlertStatus,
    CdrKind,
    CommandStatus,
    ConnectorFormat,
    ConnectorStandard,
    DunningState,
    IdTokenStatus,
    IdTokenType,
    Invoicing,
    LoyaltyKind,
    OperationKind,
    OperationState,
    PaymentPurpose,
    PaymentStatus,
    PowerType,
    RegistrationStatus,
    Role,
    SessionStatus,
    StationState,
)
from voltlane.tariff.model import DayOfWeek, Dimension, Reservation
from voltlane.tariff.result import CdrDimensionType, LineKind, PeriodKind
from voltlane.tariff.selection import SegmentKind

LABELS: dict[str, dict[Any, str]] = {
    # -- stations ---------------------------------------------------------------------------
    "connector_status": {  # OCPP 1.6 ChargePointStatus and 2.x ConnectorStatusEnumType
        "Available": N_("Available"),
        "Preparing": N_("Preparing"),
        "Charging": N_("Charging"),
        "SuspendedEV": N_("Suspended by the EV"),
        "SuspendedEVSE": N_("Suspended by the station"),
        "Finishing": N_("Finishing"),
        "Reserved": N_("Reserved"),
        "Unavailable": N_("Unavailable"),
        "Faulted": N_("Faulted"),
        "Occupied": N_("Occupied"),
        "Unknown": N_("Unknown"),
    },
    "registration_status": {
        RegistrationStatus.PENDING: N_("Awaiting approval"),
        RegistrationStatus.ACCEPTED: N_("Accepted"),
        RegistrationStatus.REJECTED: N_("Rejected"),
    },
    "security_profile": {
        1: N_("1 — HTTP Basic password, no TLS"),
        2: N_("2 — TLS with HTTP Basic password"),
        3: N_("3 — TLS with client certificate"),
    },
    "connector_standard": {  # OCPI ConnectorType, by the names drivers know
        ConnectorStandard.IEC_62196_T2: N_("Type 2"),
        ConnectorStandard.IEC_62196_T2_COMBO: N_("CCS (Combo 2)"),
        ConnectorStandard.CHADEMO: N_("CHAdeMO"),
        ConnectorStandard.IEC_62196_T1: N_("Type 1"),
        ConnectorStandard.IEC_62196_T1_COMBO: N_("CCS Type 1"),
        ConnectorStandard.MCS: N_("MCS (Megawatt Charging System)"),
        ConnectorStandard.DOMESTIC_F: N_("Household socket (Type F)"),
        ConnectorStandard.DOMESTIC_G: N_("Household socket (Type G)"),
        ConnectorStandard.IEC_60309_2_single_16: N_("CEE blue 16 A"),
        ConnectorStandard.IEC_60309_2_three_16: N_("CEE red 16 A"),
        ConnectorStandard.IEC_60309_2_three_32: N_("CEE red 32 A"),
        ConnectorStandard.IEC_62196_T3A: N_("Type 3A"),
        ConnectorStandard.IEC_62196_T3C: N_("Type 3C"),
        ConnectorStandard.GBT_AC: N_("GB/T AC"),
        ConnectorStandard.GBT_DC: N_("GB/T DC"),
        ConnectorStandard.CHAOJI: N_("ChaoJi"),
        ConnectorStandard.NEMA_5_20: N_("NEMA 5-20"),
        ConnectorStandard.NEMA_14_50: N_("NEMA 14-50"),
        ConnectorStandard.TESLA_S: N_("Tesla"),
    },
    "connector_format": {
        ConnectorFormat.SOCKET: N_("Socket"),
        ConnectorFormat.CABLE: N_("Attached cable"),
    },
    "power_type": {
        PowerType.AC_1_PHASE: N_("AC, single phase"),
        PowerType.AC_2_PHASE: N_("AC, two phases"),
        PowerType.AC_2_PHASE_SPLIT: N_("AC, split phase"),
        PowerType.AC_3_PHASE: N_("AC, three phases"),
        PowerType.DC: N_("DC"),
    },
    "station_event": {  # the kinds of health events a station's page lists
        "firmware": N_("Firmware"),
        "diagnostics": N_("Diagnostics"),
        "log": N_("Log"),
        "security": N_("Security"),
    },
    "station_state": {
        StationState.ONLINE: N_("Online"),
        StationState.FAULTED: N_("Faulted"),
    },
    "command_status": {
        CommandStatus.PENDING: N_("Pending"),
        CommandStatus.SENT: N_("Sent"),
        CommandStatus.ACCEPTED: N_("Accepted"),
        CommandStatus.REJECTED: N_("Rejected"),
        CommandStatus.TIMEOUT: N_("Timeout"),
        CommandStatus.OFFLINE: N_("Station offline"),
    },
    # -- charging ---------------------------------------------------------------------------
    "session_status": {
        SessionStatus.ACTIVE: N_("Charging"),
        SessionStatus.FINISHED: N_("Finished"),
    },
    "charging_state": {  # OCPP 2.x ChargingStateEnumType
        "Charging": N_("Charging"),
        "EVConnected": N_("EV connected, not charging"),
        "SuspendedEV": N_("Suspended by the EV"),
        "SuspendedEVSE": N_("Suspended by the station"),
        "Idle": N_("Idle"),
    },
    "stop_reason": {  # OCPP 1.6 Reason and 2.x ReasonEnumType
        "DeAuthorized": N_("Card no longer authorized"),
        "EmergencyStop": N_("Emergency stop"),
        "EnergyLimitReached": N_("Energy limit reached"),
        "EVDisconnected": N_("EV unplugged"),
        "GroundFault": N_("Ground fault"),
        "HardReset": N_("Hard reset"),
        "ImmediateReset": N_("Immediate reset"),
        "Local": N_("Ended at the station"),
        "LocalOutOfCredit": N_("Out of credit"),
        "MasterPass": N_("Master pass"),
        "Other": N_("Other"),
        "OvercurrentFault": N_("Overcurrent fault"),
        "PowerLoss": N_("Power loss"),
        "PowerQuality": N_("Poor power quality"),
        "Reboot": N_("Station rebooted"),
        "Remote": N_("Remote stop"),
        "ReqEnergyTransferRejected": N_("Requested energy transfer rejected"),  # 2.1
        "SOCLimitReached": N_("State of charge limit reached"),
        "SoftReset": N_("Soft reset"),
        "StoppedByEV": N_("Stopped by the EV"),
        "TimeLimitReached": N_("Time limit reached"),
        "Timeout": N_("Timeout"),
        "UnlockCommand": N_("Connector unlocked remotely"),
    },
    "id_token_status": {
        IdTokenStatus.ACCEPTED: N_("Active"),
        IdTokenStatus.BLOCKED: N_("Blocked"),
        IdTokenStatus.INVALID: N_("Invalid"),
    },
    "id_token_type": {
        IdTokenType.ISO14443: N_("RFID card (ISO 14443)"),
        IdTokenType.ISO15693: N_("RFID card (ISO 15693)"),
        IdTokenType.EMAID: N_("Contract ID (eMAID)"),
        IdTokenType.KEY_CODE: N_("Key code"),
        IdTokenType.CENTRAL: N_("Issued centrally (app, back office)"),
        IdTokenType.LOCAL: N_("Local to the station"),
        IdTokenType.MAC_ADDRESS: N_("Vehicle MAC address"),
        IdTokenType.NO_AUTHORIZATION: N_("No authorization"),
    },
    "cdr_kind": {
        CdrKind.CDR: N_("CDR"),
        CdrKind.CREDIT: N_("Credit CDR"),
    },
    # -- tariffs and prices -----------------------------------------------------------------
    "segment": {
        SegmentKind.PUBLIC: N_("Public"),
        SegmentKind.MEMBER: N_("Members"),
        SegmentKind.SUBSCRIPTION: N_("Subscription"),
        SegmentKind.FLEET: N_("Fleet"),
        SegmentKind.ROAMING: N_("Roaming"),
    },
    "tariff_status": {
        VersionStatus.CURRENT: N_("Current"),
        VersionStatus.SCHEDULED: N_("Scheduled"),
        VersionStatus.PAST: N_("Past"),
    },
    "tariff_dimension": {
        Dimension.ENERGY: N_("Energy"),
        Dimension.TIME: N_("Charging time"),
        Dimension.PARKING_TIME: N_("Parking time"),
        Dimension.FLAT: N_("Session fee"),
    },
    "price_line": {
        LineKind.ENERGY: N_("Energy"),
        LineKind.TIME: N_("Charging time"),
        LineKind.PARKING_TIME: N_("Parking time"),
        LineKind.FLAT: N_("Session fee"),
        LineKind.RESERVATION_TIME: N_("Reservation time"),
        LineKind.RESERVATION_FLAT: N_("Reservation fee"),
        LineKind.IDLE_FEE: N_("Idle fee"),
        LineKind.MIN_PRICE: N_("Raised to the minimum price"),
        LineKind.MAX_PRICE: N_("Cut to the maximum price"),
    },
    "cdr_dimension": {
        CdrDimensionType.ENERGY: N_("Energy"),
        CdrDimensionType.TIME: N_("Charging time"),
        CdrDimensionType.PARKING_TIME: N_("Parking time"),
        CdrDimensionType.RESERVATION_TIME: N_("Reservation time"),
        CdrDimensionType.MIN_POWER: N_("Minimum power"),
        CdrDimensionType.MAX_POWER: N_("Maximum power"),
        CdrDimensionType.MIN_CURRENT: N_("Minimum current"),
        CdrDimensionType.MAX_CURRENT: N_("Maximum current"),
    },
    "charging_period": {
        PeriodKind.CHARGING: N_("Charging"),
        PeriodKind.PARKING: N_("Parking"),
        PeriodKind.RESERVATION: N_("Reservation"),
    },
    "day_of_week": {
        DayOfWeek.MONDAY: N_("Monday"),
        DayOfWeek.TUESDAY: N_("Tuesday"),
        DayOfWeek.WEDNESDAY: N_("Wednesday"),
        DayOfWeek.THURSDAY: N_("Thursday"),
        DayOfWeek.FRIDAY: N_("Friday"),
        DayOfWeek.SATURDAY: N_("Saturday"),
        DayOfWeek.SUNDAY: N_("Sunday"),
    },
    "reservation": {
        Reservation.RESERVATION: N_("During a reservation"),
        Reservation.RESERVATION_EXPIRES: N_("When a reservation expires unused"),
    },
    # -- billing ----------------------------------------------------------------------------
    "document_kind": {
        DocumentKind.RECEIPT: N_("Receipt"),
        DocumentKind.INVOICE: N_("Invoice"),
        DocumentKind.CREDIT_NOTE: N_("Credit note"),
        DocumentKind.STATEMENT: N_("Settlement statement"),
    },
    "account_kind": {
        AccountKind.DRIVER: N_("Driver"),
        AccountKind.FLEET: N_("Fleet"),
        AccountKind.PARTNER: N_("Roaming partner"),
    },
    "invoicing": {
        Invoicing.MONTHLY: N_("One invoice per month"),
        Invoicing.PER_SESSION: N_("A receipt per session"),
    },
    "payment_status": {
        PaymentStatus.PENDING: N_("Pending"),
        PaymentStatus.REQUIRES_ACTION: N_("Awaiting 3-D Secure"),
        PaymentStatus.AUTHORIZED: N_("Authorized"),
        PaymentStatus.OUTSTANDING: N_("Capture outstanding"),
        PaymentStatus.FAILED: N_("Failed"),
        PaymentStatus.CAPTURED: N_("Captured"),
        PaymentStatus.CANCELLED: N_("Cancelled"),
        PaymentStatus.REFUNDED: N_("Refunded"),
    },
    "payment_purpose": {
        PaymentPurpose.SESSION: N_("Charging session"),
        PaymentPurpose.WALLET_TOPUP: N_("Wallet top-up"),
        PaymentPurpose.SHORTFALL: N_("Above the pre-authorization"),
    },
    "dunning_state": {
        DunningState.SCHEDULED: N_("Retry scheduled"),
        DunningState.RECOVERED: N_("Recovered"),
        DunningState.EXHAUSTED: N_("Retries exhausted"),
    },
    "payment_operation": {
        OperationKind.AUTHORIZE: N_("Authorize"),
        OperationKind.CAPTURE: N_("Capture"),
        OperationKind.CANCEL: N_("Cancel"),
        OperationKind.REFUND: N_("Refund"),
        OperationKind.CHARGE: N_("Charge off-session"),
    },
    "operation_state": {
        OperationState.PENDING: N_("Sent, no answer yet"),
        OperationState.SUCCEEDED: N_("Succeeded"),
        OperationState.FAILED: N_("Failed"),
        OperationState.UNKNOWN: N_("Unknown, retried with the same key"),
    },
    "wallet_kind": {
        "topup": N_("Top-up"),
        "session": N_("Session paid"),
        "refund": N_("Credited session returned"),
        "adjustment": N_("Adjusted by staff"),
    },
    "loyalty_kind": {
        LoyaltyKind.EARN: N_("Earned"),
        LoyaltyKind.REDEEM: N_("Spent as a discount"),
        LoyaltyKind.RESTORE: N_("Returned with a credited session"),
        LoyaltyKind.REVOKE: N_("Taken back with a credited session"),
    },
    # -- monitoring and staff ---------------------------------------------------------------
    "alert_kind": {
        AlertKind.OFFLINE: N_("Station offline"),
        AlertKind.FAULTED: N_("Faulted connector"),
        AlertKind.STUCK_SESSION: N_("Stuck session"),
        AlertKind.SECURITY: N_("Security events"),
    },
    "alert_status": {
        AlertStatus.OPEN: N_("Open"),
        AlertStatus.ACKNOWLEDGED: N_("Acknowledged"),
        AlertStatus.RESOLVED: N_("Resolved"),
    },
    "role": {
        Role.OWNER: N_("Owner"),
        Role.ADMIN: N_("Admin"),
        Role.OPERATIONS: N_("Operations"),
        Role.FINANCE: N_("Finance"),
        Role.SUPPORT: N_("Support"),
        Role.READ_ONLY: N_("Read only"),
        Role.FLEET_MANAGER: N_("Fleet manager"),
    },
}
