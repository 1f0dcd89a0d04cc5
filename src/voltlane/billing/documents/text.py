"""Labels and formatting of invoice documents in the customer's locale (Babel)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from voltlane.billing.documents.model import DocumentKind
from voltlane.tariff.rounding import from_minor

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        DocumentKind.RECEIPT: "Receipt",
        DocumentKind.INVOICE: "Invoice",
        DocumentKind.CREDIT_NOTE: "Credit note",
        DocumentKind.STATEMENT: "Settlement statement",
        "number": "Number",
        "issue_date": "Date",
        "due_date": "Due date",
        "period": "Period",
        "customer": "Customer",
        "seller": "Supplier",
        "vat_id": "VAT ID",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "vat_rate": "VAT",
        "net": "Amount",
        "total_net": "Total excl. VAT",
        "vat_on": "VAT {rate} % on {taxable}",
        "total_gross": "Total incl. VAT",
        "paid": "Paid",
        "payable": "Amount due",
        "corrects": "Corrects {number} of {date}",
        "card": "Card",
        "driver": "Driver",
        "vehicle": "Vehicle",
        "cost_centre": "Cost centre",
        "buyer_reference": "Your reference",
        "subtotal": "Subtotal",
        "page": "Page {page} of {pages}",
        "payment": "Please pay {amount} by {date} to IBAN {iban}, quoting {number}.",
        "nothing_due": "Nothing is due: this document has been paid.",
        "refund": "{amount} will be refunded to the original means of payment.",
        "line.ENERGY": "Energy",
        "line.TIME": "Charging time",
        "line.PARKING_TIME": "Parking time",
        "line.FLAT": "Session fee",
        "line.RESERVATION_TIME": "Reservation time",
        "line.RESERVATION_FLAT": "Reservation fee",
        "line.IDLE_FEE": "Idle fee",
        "line.MIN_PRICE": "Minimum price",
        "line.MAX_PRICE": "Price cap",
        "session": "Charging session",
        "session_at": "Charging session at {location}",
        "adhoc_customer": "Ad-hoc customer",
        "energy_detail": "{energy} kWh charged",
        "included_detail": "{energy} kWh included in plan",
        "cdr_detail": "CDR {number}",
        "payment_terms": "Payable within {days} days of the invoice date.",
        "credit_reason": "Reason: {reason}",
        "subscription": "Subscription {plan}",
        "loyalty_discount": "Loyalty discount: {points} points",
        "wallet_paid": "{amount} paid from your prepaid balance.",
        "hold_paid": "{amount} paid by the pre-authorization on your card.",
        "shortfall_charged": "{amount} above the pre-authorization charged to your card.",
        "shortfall_open": "{amount} above the pre-authorization is still to be paid.",
        "subscription_days": "{first} to {last}: {days} of {month} days",
    },
    "de": {
        DocumentKind.RECEIPT: "Quittung",
        DocumentKind.INVOICE: "Rechnung",
        DocumentKind.CREDIT_NOTE: "Gutschrift",
        DocumentKind.STATEMENT: "Abrechnung",
        "number": "Nummer",
        "issue_date": "Datum",
        "due_date": "Fällig am",
        "period": "Zeitraum",
        "customer": "Kunde",
        "seller": "Lieferant",
        "vat_id": "USt-IdNr.",
        "description": "Beschreibung",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "vat_rate": "USt.",
        "net": "Betrag",
        "total_net": "Summe netto",
        "vat_on": "USt. {rate} % auf {taxable}",
        "total_gross": "Summe brutto",
        "paid": "Bezahlt",
        "payable": "Zu zahlen",
        "corrects": "Korrigiert {number} vom {date}",
        "card": "Karte",
        "driver": "Fahrer",
        "vehicle": "Fahrzeug",
        "cost_centre": "Kostenstelle",
        "buyer_reference": "Ihre Referenz",
        "subtotal": "Zwischensumme",
        "page": "Seite {page} von {pages}",
        "payment": (
            "Bitte zahlen Sie {amount} bis {date} auf IBAN {iban} unter Angabe von {number}."
        ),
        "nothing_due": "Nichts zu zahlen: dieser Beleg ist bezahlt.",
        "refund": "{amount} wird auf das ursprüngliche Zahlungsmittel erstattet.",
        "line.ENERGY": "Energie",
        "line.TIME": "Ladezeit",
        "line.PARKING_TIME": "Standzeit",
        "line.FLAT": "Startgebühr",
        "line.RESERVATION_TIME": "Reservierungszeit",
        "line.RESERVATION_FLAT": "Reservierungsgebühr",
        "line.IDLE_FEE": "Blockiergebühr",
        "line.MIN_PRICE": "Mindestpreis",
        "line.MAX_PRICE": "Preisobergrenze",
        "session": "Ladevorgang",
        "session_at": "Ladevorgang an {location}",
        "adhoc_customer": "Ad-hoc-Kunde",
        "energy_detail": "{energy} kWh geladen",
        "included_detail": "{energy} kWh im Abo enthalten",
        "cdr_detail": "CDR {number}",
        "payment_terms": "Zahlbar innerhalb von {days} Tagen ab Rechnungsdatum.",
        "credit_reason": "Grund: {reason}",
        "subscription": "Abonnement {plan}",
        "loyalty_discount": "Treuerabatt: {points} Punkte",
        "wallet_paid": "{amount} aus Ihrem Guthaben bezahlt.",
        "hold_paid": "{amount} über die Reservierung auf Ihrer Karte bezahlt.",
        "shortfall_charged": "{amount} über der Reservierung gesondert von Ihrer Karte abgebucht.",
        "shortfall_open": "{amount} über der Reservierung sind noch zu zahlen.",
        "subscription_days": "{first} bis {last}: {days} von {month} Tagen",
    },
}


class DocumentText:
    """The words and numbers of one document in one locale."""

    def __init__(self, locale: str, currency: str, timezone: str = "UTC") -> None:
        self.locale = Locale.parse(locale)
        self.currency = currency
        self.zone = ZoneInfo(timezone)
        self._labels = _LABELS.get(self.locale.language, _LABELS["en"])

    def label(self, key: str, **values: object) -> str:
        template = self._labels.get(key) or _LABELS["en"][key]
        return template.format(**values) if values else template

    def money(self, minor: int) -> str:
        return format_currency(from_minor(minor, self.currency), self.currency, locale=self.locale)

    def price(self, unit_price: Decimal) -> str:
        """A unit price with all its digits (0.49 stays 0.49, 0.355 stays 0.355)."""
        return format_currency(
            unit_price.normalize(),
            self.currency,
            locale=self.locale,
            currency_digits=False,
            decimal_quantization=False,
        )

    def number(self, value: Decimal, digits: int = 3) -> str:
        """A quantity with exactly ``digits`` decimals (7.250 kWh, 7,250 kWh)."""
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, rate: Decimal) -> str:
        return format_decimal(rate.normalize(), locale=self.locale)

    def date(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: datetime) -> str:
        return format_datetime(
            value.astimezone(self.zone), format="short", tzinfo=self.zone, locale=self.locale
        )
