"""Host -> brand resolution for every web request; fails closed (no default brand)."""

from __future__ import annotations

from voltlane.core.cache import TtlCache
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
    Suspension takes effect within ``ttl``. Concurrent lookups of one host or key share one
    query (a boot storm's handshakes, a burst of requests when an entry expires).
    """

    def __init__(self, database: Database, base_domain: str, *, ttl: float = 5.0) -> None:
        self.database = database
        self.base_domain = base_domain
        self.ttl = ttl
        self._by_host: TtlCache[str, TenantInfo | None] = TtlCache(ttl, keep=_found)
        self._by_key: TtlCache[str, TenantInfo | None] = TtlCache(ttl, keep=_found)

    async def by_host(self, raw_host: str | None) -> TenantInfo | None:
        host = normalise_host(raw_host)
        if host is None:
            return None
        if self.ttl <= 0:
            return await self._load_host(host)
        return await self._by_host.get(host, lambda: self._load_host(host))

    async def _load_host(self, host: str) -> TenantInfo | None:
        async with self.database.platform_session() as db_session:
            tenant = await TenantRepository(db_session).active_by_host(host, self.base_domain)
            return TenantInfo.from_row(tenant) if tenant is not None else None

    async def by_key(self, key: str) -> TenantInfo | None:
        """The active brand with immutable ``key`` (OCPP URLs, jobs), cached like hosts."""
        if self.ttl <= 0:
            return await self._load_key(key)
        return await self._by_key.get(key, lambda: self._load_key(key))

    async def _load_key(self, key: str) -> TenantInfo | None:
        async with self.database.platform_session() as db_session:
            tenant = await TenantRepository(db_session).by_key(key)
            info = TenantInfo.from_row(tenant) if tenant is not None else None
        return info if info is not None and info.status is TenantStatus.ACTIVE else None

    def invalidate(self) -> None:
        self._by_host.invalidate()
        self._by_key.invalidate()

    def dev_host(self, info: TenantInfo) -> str:
        """``<slug>.<base domain>``: the host every brand answers on in development."""
        return f"{info.slug}.{self.base_domain}"


def _found(info: TenantInfo | None) -> bool:
    return info is not None
