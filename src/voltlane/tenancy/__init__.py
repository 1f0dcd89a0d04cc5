"""Tenancy: brands, their schemas, domains, themes, provisioning and host resolution."""

from voltlane.tenancy.errors import TenantConflictError, TenantNotFoundError
from voltlane.tenancy.registry import TenantRegistry, normalise_host
from voltlane.tenancy.schemas import TenantInfo

__all__ = [
    "TenantConflictError",
    "TenantInfo",
    "TenantNotFoundError",
    "TenantRegistry",
    "normalise_host",
]
