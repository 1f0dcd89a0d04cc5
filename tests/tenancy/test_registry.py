"""Host resolution: registered domains and <slug>.localhost; everything else fails closed."""

from __future__ import annotations

import pytest

from tests.factories import unique_key
from voltlane.core.db import Database
from voltlane.tenancy import TenantRegistry, normalise_host
from voltlane.tenancy import service as tenancy


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("Voltaria.Localhost:8000", "voltaria.localhost"),
        ("charge.example.", "charge.example"),
        ("charge.example", "charge.example"),
        ("", None),
        (None, None),
        ("[::1]:8000", None),
        ("evil.example/path", None),
        ("user@charge.example", None),
        ("a" * 254, None),
    ],
)
def test_normalise_host(raw: str | None, host: str | None) -> None:
    assert normalise_host(raw) == host


async def test_resolves_domains_and_dev_hosts_and_nothing_else(
    database: Database, make_brand
) -> None:
    domain = f"{unique_key('d')}.example"
    brand = await make_brand(domains=[domain])
    other = await make_brand()
    registry = TenantRegistry(database, "localhost")

    assert (await registry.by_host(domain)).key == brand.key  # type: ignore[union-attr]
    assert (await registry.by_host(f"{domain}:443")).key == brand.key  # type: ignore[union-attr]
    dev = await registry.by_host(f"{brand.slug}.localhost:8000")
    assert dev is not None
    assert dev.key == brand.key
    assert (await registry.by_host(f"{other.slug}.localhost")).key == other.key  # type: ignore[union-attr]
    for unknown in (
        "localhost",
        f"x.{brand.slug}.localhost",
        f"{brand.slug}.example",
        f"{brand.slug}",
        "nobody.localhost",
    ):
        assert await registry.by_host(unknown) is None, unknown


async def test_suspended_brands_stop_resolving_and_resume(database: Database, make_brand) -> None:
    brand = await make_brand()
    registry = TenantRegistry(database, "localhost", ttl=0)
    host = f"{brand.slug}.localhost"
    assert await registry.by_host(host) is not None
    async with database.platform_transaction() as db_session:
        await tenancy.set_suspended(db_session, brand.slug, suspended=True)
    assert await registry.by_host(host) is None
    async with database.platform_transaction() as db_session:
        await tenancy.set_suspended(db_session, brand.slug, suspended=False)
    assert (await registry.by_host(host)).key == brand.key  # type: ignore[union-attr]


async def test_an_unprovisioned_brand_cannot_be_resumed(database: Database) -> None:
    from tests.factories import brand_spec  # noqa: PLC0415

    spec = brand_spec()
    async with database.platform_transaction() as db_session:
        await tenancy.register_tenant(db_session, spec)
    async with database.platform_transaction() as db_session:
        with pytest.raises(tenancy.TenantConflictError, match="never provisioned"):
            await tenancy.set_suspended(db_session, spec.slug, suspended=False)
