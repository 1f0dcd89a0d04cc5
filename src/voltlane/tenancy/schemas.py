"""Read models of the tenancy domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from voltlane.models.platform import Tenant, TenantStatus


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """A resolved brand, safe to cache and to pass between layers (no ORM state)."""

    id: uuid.UUID
    key: str
    slug: str
    name: str
    status: TenantStatus
    theme: str
    locale: str
    currency: str
    timezone: str
    hosts: tuple[str, ...]
    features: dict[str, bool] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def short_name(self) -> str:
        value = self.profile.get("short_name")
        return value if isinstance(value, str) and value else self.name[:12]

    @property
    def locales(self) -> tuple[str, ...]:
        value = self.profile.get("locales")
        if isinstance(value, list) and value:
            return tuple(str(v) for v in value)
        return (self.locale,)

    @property
    def certificate_organization(self) -> str:
        """The organizationName (O) that this brand's station certificates carry."""
        ocpp = self.profile.get("ocpp") or {}
        value = ocpp.get("certificate_organization") if isinstance(ocpp, dict) else None
        return value if isinstance(value, str) and value else self.name

    @property
    def app(self) -> dict[str, Any]:
        """The driver app settings of the tenant file's ``[app]`` (see tenancy.spec.DriverApp)."""
        value = self.profile.get("app")
        return value if isinstance(value, dict) else {}

    @property
    def ocpi_party(self) -> tuple[str, str] | None:
        """The brand's OCPI (country_code, party_id) from its tenant file; None when the
        brand does not roam."""
        value = self.profile.get("ocpi")
        if not isinstance(value, dict):
            return None
        country_code, party_id = value.get("country_code"), value.get("party_id")
        if isinstance(country_code, str) and isinstance(party_id, str):
            return country_code, party_id
        return None

    def feature(self, flag: str, *, default: bool = False) -> bool:
        return self.features.get(flag, default)

    @classmethod
    def from_row(cls, tenant: Tenant) -> TenantInfo:
        return cls(
            id=tenant.id,
            key=tenant.key,
            slug=tenant.slug,
            name=tenant.name,
            status=tenant.status,
            theme=tenant.theme,
            locale=tenant.locale,
            currency=tenant.currency,
            timezone=tenant.timezone,
            hosts=tuple(d.host for d in sorted(tenant.domains, key=lambda d: not d.is_primary)),
            features={f.flag: f.enabled for f in tenant.features},
            profile=dict(tenant.profile),
        )
