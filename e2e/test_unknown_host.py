"""A host that names no brand is refused before any brand page is rendered."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.e2e


def test_unknown_host_answers_404(page: Page, demo: dict[str, Any]) -> None:
    port = urlsplit(demo["web_url"]).port
    response = page.goto(f"http://nobody.localhost:{port}/")

    assert response is not None
    assert response.status == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert json.loads(response.body()) == {
        "type": "about:blank",
        "title": "Unknown host",
        "status": 404,
        "detail": "This host does not serve a Voltlane brand.",
    }
