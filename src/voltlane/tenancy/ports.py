"""What tenancy needs from the layers above it, wired by the composition root."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.tenancy.schemas import TenantInfo


class Seeder(Protocol):
    """Fills a freshly migrated brand schema (idempotent: runs again on every sync)."""

    async def seed(self, db_session: AsyncSession, tenant: TenantInfo) -> None: ...


_seeder: Seeder | None = None


def set_seeder(seeder: Seeder | None) -> None:
    global _seeder  # noqa: PLW0603 - wired once at process start by app/cli
    _seeder = seeder


def get_seeder() -> Seeder | None:
    return _seeder
