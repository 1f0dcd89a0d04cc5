"""Browser-like steps over HTTP: fetch a form, keep its CSRF token, sign in."""

from __future__ import annotations

import re

from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
HTML = {"accept": "text/html"}


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)


async def sign_in(
    client: AsyncTestClient[Litestar], email: str, password: str, next_path: str = "/portal/"
) -> Response:
    page = await client.get("/portal/login", headers=HTML)
    assert page.status_code == 200
    return await client.post(
        "/portal/login",
        data={
            "email": email,
            "password": password,
            "next": next_path,
            "_csrf_token": csrf_token(page.text),
        },
        headers=HTML,
    )
