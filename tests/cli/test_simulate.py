"""`voltlane simulate` plays the demo's simulated cars against a running gateway: run as a
process for a few seconds against a real gateway, its car boots, starts a transaction with
its card and reports its needs."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sqlalchemy import select

from tests.factories import REPO
from tests.ocpp.conftest import PASSWORD, add_ocpp_station, add_token, gateway, url
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, StationEvent
from voltlane.ocpp.server import Gateway

__all__ = ["gateway"]


async def test_simulate_plays_a_car_against_the_gateway_and_stops_when_told(
    database: Database, make_brand, gateway: Gateway, tmp_path: Path
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "SIM-201")
    await add_token(database, brand, "CARD-1")
    manifest = tmp_path / "demo.json"
    manifest.write_text(
        json.dumps(
            {
                "brands": [
                    {
                        "slug": brand.slug,
                        "stations": [
                            {
                                "station_id": "SIM-201",
                                "protocol": "ocpp2.0.1",
                                "ocpp_url": url(gateway, brand.key, "SIM-201"),
                                "password": PASSWORD,
                                "security_profile": 1,
                            }
                        ],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    # No settings of its own: a client of a Voltlane that runs elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOLTLANE_", "DATABASE"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voltlane.cli",
        "simulate",
        "--manifest",
        str(manifest),
        "--brand",
        brand.slug,
        "--tokens",
        "CARD-1",
        "--period",
        "1",
        "--seconds",
        "4",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, stderr.decode()
    # The EVSE is in no site: a 2.0.1 station's needs are Rejected (no profile will come).
    assert "car on SIM-201: needs Rejected" in stderr.decode()
    async with database.tenant_session(brand.key) as db_session:
        sessions = (
            await db_session.execute(select(ChargingSession.id_token, ChargingSession.status))
        ).all()
        events = list(
            await db_session.scalars(select(StationEvent.action).where(StationEvent.kind == "ev"))
        )
    assert [(token, str(status)) for token, status in sessions] == [("CARD-1", "active")]
    assert events == ["NotifyEVChargingNeeds"]
