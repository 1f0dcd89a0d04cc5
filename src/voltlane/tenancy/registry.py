"""Host -> brand resolution for every web request; fails closed (no default brand)."""

from __future__ import annotations

import time

from voltlane.core.db import Database
from voltlane.models.platform import TenantStatus
from voltlane.tenancy.repository import TenantRepository
from voltlane.tenancy.schemas import TenantInfo


def normalise_host(raw: str | None) -> str | None:
    """Lowercase, without port and trailing dot; None for an empty or malformed header."""
    if not raw:
        return None
    host = raw.strip().lower()
    if host.startswith("["):  # IPv6 literal: never a brand host
        return None
    host = host.rsplit(":", 1)[0] if ":" in host else host
    host = host.rstrip(".")
    if not host or len(host) > 253 or any(c.isspace() or c in "/\\@" for c in host):
        return None
    return host


class TenantRegistry:
    """Resolves active brands by host, caching hits for ``ttl`` seconds.

    Misses are not cached: a brand provisioned while the platform runs is served at once.
    Suspension takes effect within ``ttl``.
    """

    def __init__(self, database: Database, base_domain: str, *, ttl: float = 5.0) -> None:
        self.database = database
        self.base_domain = base_domain
        self.ttl = ttl
        self._by_host: dict[str, tuple[float, TenantInfo]] = {}
        self._by_key: dict[str, tuple[float, TenantInfo]] = {}

    async def by_host(self, raw_host: str | None) -> TenantInfo | None:
        host = normalise_host(raw_host)
        if host is None:
            return None
        now = time.monotonic()
        cached = self._by_host.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.database.platform_session() as db_session:
            tenant = await TenantRepository(db_session).active_by_host(host, self.base_domain)
            info = TenantInfo.from_row(tenant) if tenant is not None else None
        if info is None:
            self._by_host.pop(host, None)
            return None
        self._by_host[host] = (now + self.ttl, info)
        return info

    async def by_key(self, key: str) -> TenantInfo | None:
        """The active brand with immutable ``key`` (OCPP URLs, jobs), cached like hosts."""
        now = time.monotonic()
        cached = self._by_key.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.database.platform_session() as db_session:
            tenant = await TenantRepository(db_session).by_key(key)
            info = TenantInfo.from_row(tenant) if tenant is not None else None
        if info is None or info.status is not TenantStatus.ACTIVE:
            self._by_key.pop(key, None)
            return None
        self._by_key[key] = (now + self.ttl, info)
        return info

    def invalidate(self) -> None:
        self._by_host.clear()
        self._by_key.clear()

    def dev_host(self, info: TenantInfo) -> str:
        """``<slug>.<base domain>``: the host every brand answers on in development."""
        return f"{info.slug}.{self.base_domain}"
