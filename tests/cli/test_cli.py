"""The `voltlane` command on a database of its own: migrate, tenants, users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.factories import REPO
from voltlane.core.database_url import drop_database, ensure_database


@pytest.fixture(scope="module")
def cli_env(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    name = f"voltlane_cli_{uuid.uuid4().hex[:10]}"
    ensure_database(server_url, name)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PORT"}}
    env.update(
        VOLTLANE_DATABASE_URL=make_url(server_url)
        .set(database=name)
        .render_as_string(hide_password=False),
        VOLTLANE_DATA_DIR=str(tmp_path_factory.mktemp("cli-data")),
        VOLTLANE_DEMO="1",
        VOLTLANE_DEMO_PASSWORD="demo password for the cli",
        VOLTLANE_LOG_LEVEL="ERROR",
    )
    yield env
    drop_database(server_url, name)


def voltlane(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voltlane.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )


def test_migrate_sync_and_list_from_empty_twice(cli_env: dict[str, str]) -> None:
    first_migrate = voltlane(cli_env, "migrate")
    first_sync = voltlane(cli_env, "tenants", "sync")
    second_sync = voltlane(cli_env, "tenants", "sync")
    second_migrate = voltlane(cli_env, "migrate")
    listed = voltlane(cli_env, "tenants", "list", "--json")

    assert (first_migrate.returncode, first_migrate.stdout) == (0, "platform: up to date\n")
    assert (first_sync.returncode, first_sync.stdout) == (
        0,
        "harbour-charge: active\nvoltaria: active\n",
    )
    assert second_sync.stdout == first_sync.stdout
    assert (second_migrate.returncode, second_migrate.stdout) == (
        0,
        "platform: up to date\ntenant_harbour: up to date\ntenant_voltaria: up to date\n",
    )
    assert json.loads(listed.stdout) == [
        {
            "key": "harbour",
            "slug": "harbour-charge",
            "name": "Harbour Charge",
            "status": "active",
            "theme": "harbour",
            "locale": "en_GB",
            "currency": "GBP",
            "timezone": "Europe/London",
            "domains": ["charge.harbour.example"],
        },
        {
            "key": "voltaria",
            "slug": "voltaria",
            "name": "Voltaria Laden",
            "status": "active",
            "theme": "aurora",
            "locale": "de_DE",
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "domains": ["laden.voltaria.example"],
        },
    ]


def test_create_queues_provisioning_and_suspend_resume(cli_env: dict[str, str]) -> None:
    voltlane(cli_env, "migrate", "--platform-only")
    created = voltlane(
        cli_env,
        "tenants",
        "create",
        "--key",
        "queued01",
        "--slug",
        "queued",
        "--name",
        "Queued Brand",
        "--no-wait",
    )
    again = voltlane(
        cli_env,
        "tenants",
        "create",
        "--key",
        "queued01",
        "--slug",
        "queued",
        "--name",
        "Q",
        "--no-wait",
    )
    suspended = voltlane(cli_env, "tenants", "suspend", "queued")
    resumed = voltlane(cli_env, "tenants", "resume", "queued")
    unknown = voltlane(cli_env, "tenants", "suspend", "nobody")

    assert (created.returncode, created.stdout) == (
        0,
        "queued: registered, provisioning queued (job tenancy.provision)\n",
    )
    assert (again.returncode, again.stderr) == (
        1,
        "voltlane: brand 'queued01' exists; use `tenants sync`\n",
    )
    assert (suspended.returncode, suspended.stdout) == (0, "queued: suspended\n")
    assert (resumed.returncode, resumed.stderr) == (
        1,
        "voltlane: brand 'queued' was never provisioned; run `tenants sync`\n",
    )
    assert (unknown.returncode, unknown.stderr) == (1, "voltlane: no brand with slug 'nobody'\n")


def test_invalid_tenant_files_are_reported_with_their_field(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'key = "bad1"\nslug = "bad"\nname = "Bad"\ntheme = "aurora"\nlocale = "en_GB"\n'
        'currency = "EUR"\ntimezone = "Atlantis/Capital"\n'
    )
    result = voltlane(cli_env, "tenants", "create", "--file", str(bad), "--no-wait")
    assert (result.returncode, result.stderr) == (
        1,
        "voltlane: bad.toml: timezone 'Atlantis/Capital' is not an IANA timezone\n",
    )


def test_users_create_takes_the_password_from_the_environment(cli_env: dict[str, str]) -> None:
    voltlane(cli_env, "migrate")
    voltlane(cli_env, "tenants", "sync")
    env = {**cli_env, "VOLTLANE_USER_PASSWORD": "a long enough password"}
    created = voltlane(
        env,
        "users",
        "create",
        "--tenant",
        "voltaria",
        "--email",
        "Neu@Voltaria.example",
        "--name",
        "Nina Neu",
        "--role",
        "support",
    )
    duplicate = voltlane(
        env,
        "users",
        "create",
        "--tenant",
        "voltaria",
        "--email",
        "neu@voltaria.example",
        "--name",
        "Nina Neu",
        "--role",
        "support",
    )
    assert (created.returncode, created.stdout) == (
        0,
        "neu@voltaria.example: created as support on voltaria\n",
    )
    assert (duplicate.returncode, duplicate.stderr) == (
        1,
        "voltlane: neu@voltaria.example already has an account.\n",
    )


def test_ocpp_processes_need_a_positive_count_and_a_fixed_port(cli_env: dict[str, str]) -> None:
    none = voltlane(cli_env, "ocpp", "--processes", "0")
    assert none.returncode == 2
    assert "argument --processes: at least 1" in none.stderr
    any_port = voltlane({**cli_env, "VOLTLANE_OCPP_PORT": "0"}, "ocpp", "--processes", "2")
    assert any_port.returncode == 1
    assert "voltlane ocpp --processes needs a fixed VOLTLANE_OCPP_PORT" in any_port.stderr
