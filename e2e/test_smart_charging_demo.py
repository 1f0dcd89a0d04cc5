"""Voltaria's owner opens the demo site's live view, `voltlane simulate` plugs in the demo's
two simulated cars, and the page shows them sharing the site's 32 A; a building load
reading posted through the API lowers what is left, and the page follows it."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from e2e.support import REPO, ocpp_now
from e2e.test_portal_login import owner_login, sign_in
from voltlane.ocpp.simulator import Car, CarPlan, demo_plans
from voltlane.web.i18n import translations

pytestmark = pytest.mark.e2e

SITE = "Testfeld Netzanschluss"
CARDS = ["VLTDEMO0001", "VLTDEMO0002"]
# The live view refreshes every 5 s and the site is rebalanced every 30 s, on a busy machine.
FOLLOWS_MS = 120_000
# Voltaria's portal speaks German.
GERMAN = translations("de")


def both_at(amps: str) -> list[str]:
    """The cells "Allocated" of the two cars at ``amps`` A on three phases; the 2.1 car may
    feed back 7 kW, 10.1 A on each phase."""
    allocated = f"{amps} A \N{MULTIPLICATION SIGN} 3"
    return [allocated, allocated + "Speist bis 10,1 A zurück"]


def voltaria(demo: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in demo["brands"] if b["slug"] == "voltaria")


def post_building_load(brand: dict[str, Any], site_id: str, amps: int) -> dict[str, Any]:
    """A building load of ``amps`` on each phase, measured now, through the operator API."""
    body = {
        "measured_at": datetime.now(UTC).isoformat(),
        "building_load": {"l1_a": amps, "l2_a": amps, "l3_a": amps},
    }
    api = urlsplit(brand["api_base_url"])
    request = urllib.request.Request(
        f"http://127.0.0.1:{api.port}/api/v1/sites/{site_id}/readings",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Host": api.netloc,
            "Authorization": f"Bearer {brand['api_key']}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        stored: dict[str, Any] = json.load(answer)
    return stored


def end_transactions(plans: list[CarPlan], transaction_ids: dict[str, str]) -> None:
    """Each car unplugged: its station reconnects and ends its transaction."""

    async def unplug(plan: CarPlan) -> None:
        car = Car(plan)
        car.transaction_id = transaction_ids[plan.station_id]
        async with car.connected(host="127.0.0.1"):
            await car.cp.call(
                car.call.TransactionEvent(
                    event_type="Ended",
                    timestamp=ocpp_now(),
                    trigger_reason="EVCommunicationLost",
                    seq_no=1_000,
                    transaction_info={
                        "transaction_id": car.transaction_id,
                        "charging_state": "Idle",
                        "stopped_reason": "EVDisconnected",
                    },
                    evse={"id": 1, "connector_id": 1},
                )
            )
            await car.cp.call(
                car.call.StatusNotification(
                    timestamp=ocpp_now(),
                    connector_status="Available",
                    evse_id=1,
                    connector_id=1,
                )
            )

    async def all_of_them() -> None:
        await asyncio.gather(*(unplug(plan) for plan in plans))

    # Playwright's loop runs in this thread: the stations get a thread of their own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, all_of_them()).result(timeout=60)


def test_the_site_shares_its_capacity_between_the_demo_cars_and_follows_the_building_load(
    demo: dict[str, Any], page: Page, tmp_path: Path
) -> None:
    brand = voltaria(demo)
    login = owner_login(brand)
    assert sign_in(page, brand, login["email"], login["password"]) == 303

    page.goto(brand["portal_url"] + "sites")
    page.get_by_role("link", name=SITE, exact=True).click()
    page.wait_for_url(brand["portal_url"] + "sites/*")
    site_id = urlsplit(page.url).path.rsplit("/", 1)[1]
    allocations = page.locator("#site-allocations tbody tr[data-session]")
    expect(allocations).to_have_count(0)

    manifest = tmp_path / "demo.json"
    manifest.write_text(json.dumps(demo), encoding="utf-8")
    plans = demo_plans(demo, "voltaria", CARDS)
    assert [p.station_id for p in plans] == ["VLT-SIM-201", "VLT-SIM-21"]
    simulate = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "voltlane"),
            "simulate",
            "--manifest",
            str(manifest),
            "--brand",
            "voltaria",
            "--tokens",
            *CARDS,
            "--stagger",
            "0",
            "--period",
            "5",
            "--seconds",
            "600",
        ],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        # 20 kWh within two hours needs 14.5 A on three phases: both cars fit in the 32 A,
        # 16 A each.
        expect(allocations).to_have_count(2, timeout=FOLLOWS_MS)
        expect(allocations.locator("th")).to_have_text(["VLT-SIM-201 / 1", "VLT-SIM-21 / 1"])
        allocated = allocations.locator("td:nth-of-type(1)")
        expect(allocated).to_have_text(both_at("16,0"), timeout=FOLLOWS_MS)

        # The building draws 12 A on each phase: 20 A are left, 10 A for each car.
        stored = post_building_load(brand, site_id, 12)
        assert stored == {"stored": ["building_load"], "ignored": []}
        live = page.locator("#site-live")
        expect(live.get_by_test_id("available")).to_have_text(
            "Jetzt verfügbar je Phase: 20,0 A · 20,0 A · 20,0 A", timeout=FOLLOWS_MS
        )
        expect(page.locator("#site-readings tr[data-reading=building_load] td")).to_have_text(
            ["12,0 A", "12,0 A", "12,0 A", re.compile(r"^\d\d\.\d\d\.\d{4}, ")]
        )
        expect(allocated).to_have_text(both_at("10,0"), timeout=FOLLOWS_MS)

        # Each car's session, opened from its row, names its transaction.
        sessions = [r.get_attribute("data-session") for r in allocations.all()]
        transaction_ids: dict[str, str] = {}
        for plan, session_id in zip(plans, sessions, strict=True):
            page.goto(brand["portal_url"] + f"sessions/{session_id}")
            label = GERMAN.gettext("Transaction")
            transaction = page.locator(f"dt:text-is('{label}') + dd").inner_text()
            assert transaction.startswith(f"SIM-{plan.station_id}-")
            transaction_ids[plan.station_id] = transaction.split()[0]
    finally:
        # No other test may meet a building load: a later one of 0 A on each phase.
        post_building_load(brand, site_id, 0)
        simulate.send_signal(signal.SIGINT)
        try:
            _, stderr = simulate.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            simulate.kill()
            raise
    assert simulate.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert "car on VLT-SIM-201: needs Accepted" in log
    assert "car on VLT-SIM-21: needs Accepted" in log

    # The cars unplug: their sessions end and leave the live view.
    end_transactions(plans, transaction_ids)
    page.goto(brand["portal_url"] + f"sites/{site_id}")
    expect(allocations).to_have_count(0, timeout=FOLLOWS_MS)
    expect(page.locator("#site-allocations tbody")).to_have_text(
        GERMAN.gettext("No car is charging here.")
    )
