"""OCPI over HTTP: brands that are CPO parties, partners with tokens, clients that speak
to a brand's host with ``Authorization: Token <base64>``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar

import voltlane.ocpi.tasks  # noqa: F401 - declares ocpi.deliver, which pushes enqueue
from tests.conftest import MakeBrand
from voltlane.core.db import Database
from voltlane.ocpi.auth import authorization_header
from voltlane.ocpi.partners import IssuedToken, issue_registration_token
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

OcpiClientFactory = Callable[
    [TenantInfo, str | None], contextlib.AbstractAsyncContextManager[httpx.AsyncClient]
]


@contextlib.asynccontextmanager
async def ocpi_client(
    app: Litestar, brand: TenantInfo, token: str | None, **headers: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A partner's HTTP client on ``brand``'s host (the app runs in the test's loop)."""
    sent = {"Authorization": authorization_header(token)} if token else {}
    sent.update(headers)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url=f"http://{brand.slug}.localhost:8000",
            headers=sent,
        ) as client,
    ):
        yield client


@pytest.fixture
def ocpi_for(app: Litestar) -> OcpiClientFactory:
    def open_client(
        brand: TenantInfo, token: str | None
    ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        return ocpi_client(app, brand, token)

    return open_client


@pytest.fixture
async def cpo(make_brand: MakeBrand) -> TenantInfo:
    """A brand that is the OCPI party DE*VLT."""
    return await make_brand(ocpi=Ocpi(country_code="DE", party_id="VLT"))


async def registration_token(database: Database, brand: TenantInfo, name: str) -> IssuedToken:
    return await issue_registration_token(database, brand.key, name=name)


def data_of(response: httpx.Response) -> Any:
    body = response.json()
    assert body["status_code"] == 1000, body
    return body["data"]
