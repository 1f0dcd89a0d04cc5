"""The two parties of a document: the brand as seller, the account (or an ad-hoc driver)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from voltlane.billing.documents.model import Address, Party
from voltlane.billing.documents.text import DocumentText
from voltlane.billing.errors import InvoicingNotConfiguredError
from voltlane.models.tenant import CustomerAccount
from voltlane.tenancy import TenantInfo

DEFAULT_PAYMENT_TERMS_DAYS = 14


@dataclass(frozen=True, slots=True)
class Seller:
    """What a brand's documents say about the brand."""

    party: Party
    locale: str
    currency: str
    timezone: str
    brand_name: str
    brand_color: str
    iban: str | None
    bic: str | None

    @classmethod
    def of(cls, brand: TenantInfo) -> Seller:
        legal = brand.profile.get("legal")
        if not isinstance(legal, dict):
            raise InvoicingNotConfiguredError(
                f"brand {brand.slug} has no [legal] section: documents need the seller"
            )
        ocpi = brand.profile.get("ocpi")
        country = legal.get("country") or (ocpi or {}).get("country_code")
        if not country:
            raise InvoicingNotConfiguredError(f"brand {brand.slug}: [legal] country is missing")
        street = legal.get("street")
        party = Party(
            name=legal["entity"],
            address=Address(
                (street,) if street else (legal["address"],),
                legal.get("city"),
                legal.get("postal_code"),
                country,
            ),
            vat_id=legal.get("vat_id"),
            registration=legal.get("registration"),
            email=legal.get("email"),
        )
        # The brand's own primary colour when its tenant file sets one; printed documents
        # otherwise keep a neutral ink rather than the screen theme's colour.
        tokens = brand.profile.get("tokens") or {}
        return cls(
            party=party,
            locale=brand.locale,
            currency=brand.currency,
            timezone=brand.timezone,
            brand_name=brand.name,
            brand_color=tokens.get("color-primary", "#1f2937"),
            iban=legal.get("iban"),
            bic=legal.get("bic"),
        )

    def today(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.timezone)).date()


def buyer_of(account: CustomerAccount | None, seller: Seller, text: DocumentText) -> Party:
    if account is None:
        return Party(
            text.label("adhoc_customer"), Address((), None, None, seller.party.address.country)
        )
    return Party(
        name=account.name,
        address=Address(
            tuple(line for line in (account.street, account.street2) if line),
            account.city,
            account.postal_code,
            account.country,
        ),
        vat_id=account.vat_id,
        email=account.email,
    )
