"""End-to-end fixtures: one `voltlane run` for the session, Debian's Chromium per test.

The platform is started exactly as a newcomer starts it (`voltlane run`), in a fresh data
directory, with the embedded PostgreSQL, or, when DATABASE_URL (or VOLTLANE_DATABASE_URL)
names a server, in a throw-away database created on that server for this run.
What the pages must show is read from the same files the platform reads: tenants/*.toml
and themes/<theme>/theme.toml. The session ends by stopping the platform with SIGTERM and
checking that it exited 0 and took its private PostgreSQL down with it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy.engine import make_url

from e2e.support import ARTIFACTS, REPO, RUN_LOG, TenantFile, read_tenant_files
from voltlane.core.database_url import drop_database, ensure_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
PAGE_TIMEOUT_MS = 15_000


# -- one test per tenant file ------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests taking `slug` run once per tenant file."""
    if "slug" in metafunc.fixturenames:
        metafunc.parametrize("slug", sorted(read_tenant_files()))


@pytest.fixture(scope="session")
def tenant_files() -> dict[str, TenantFile]:
    files = read_tenant_files()
    assert len(files) >= 2, "the e2e suite needs at least two demo brands in tenants/"
    return files


@pytest.fixture
def tenant(tenant_files: dict[str, TenantFile], slug: str) -> TenantFile:
    return tenant_files[slug]


@pytest.fixture
def other_tenant(tenant_files: dict[str, TenantFile], slug: str) -> TenantFile:
    """Another brand than `slug` (the next one in slug order)."""
    slugs = sorted(tenant_files)
    return tenant_files[slugs[(slugs.index(slug) + 1) % len(slugs)]]


# -- the running platform -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(lines: int = 60) -> str:
    if not RUN_LOG.exists():
        return "(no log written)"
    tail = RUN_LOG.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return f"last {len(tail)} lines of {RUN_LOG}:\n" + "\n".join(tail)


def _voltlane_command() -> list[str]:
    script = Path(sys.executable).parent / "voltlane"
    if not script.exists():
        pytest.fail(f"the `voltlane` console script is missing beside {sys.executable}: make venv")
    return [str(script), "run"]


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes (other than this one) that contain ``text``."""
    found: list[str] = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit() or int(proc_dir.name) == os.getpid():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc_dir.name}: {cmdline.strip()}")
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie waiting to be reaped has stopped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check`` until it holds: a stopped postmaster leaves the process table a moment
    after it removes postmaster.pid."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture(scope="session")
def demo_password() -> str:
    return "e2e-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="session")
def external_database_url() -> Iterator[str | None]:
    """With DATABASE_URL set: a throw-away database on that server, dropped afterwards.
    Without it: None, and `voltlane run` starts its embedded PostgreSQL."""
    configured = os.environ.get("VOLTLANE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not configured:
        yield None
        return
    server = make_url(configured).set(database="postgres").render_as_string(hide_password=False)
    name = f"voltlane_e2e_{secrets.token_hex(6)}"
    ensure_database(server, name)
    yield make_url(configured).set(database=name).render_as_string(hide_password=False)
    drop_database(server, name)


@pytest.fixture(scope="session")
def demo(demo_password: str, external_database_url: str | None) -> Iterator[dict[str, Any]]:
    """`voltlane run` in a fresh data directory; yields its demo.json."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="voltlane-e2e-"))
    # As root the private PostgreSQL runs as the postgres user, who must traverse this dir.
    data_dir.chmod(0o711)
    port = _free_port()
    # Nothing from the developer's shell may change what is tested.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VOLTLANE_") and k not in {"DATABASE_URL", "PORT"}
    }
    env.update(
        VOLTLANE_DATA_DIR=str(data_dir),
        VOLTLANE_PORT=str(port),
        VOLTLANE_DEMO_PASSWORD=demo_password,
        VOLTLANE_LOG_JSON="1",
        VOLTLANE_EXIT_WITH_PARENT="1",
    )
    if external_database_url is not None:
        env.update(VOLTLANE_DATABASE_URL=external_database_url, VOLTLANE_DEMO="1")
    manifest_path = data_dir / "demo.json"
    pid_file = data_dir / "postgres" / "pgdata" / "postmaster.pid"

    with RUN_LOG.open("wb") as log:
        proc = subprocess.Popen(
            _voltlane_command(),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # only this fixture signals it
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not manifest_path.exists():
            if proc.poll() is not None:
                pytest.fail(
                    f"`voltlane run` exited with {proc.returncode} before writing "
                    f"{manifest_path}\n{_log_tail()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {manifest_path} after {START_TIMEOUT:.0f} s\n{_log_tail()}")
            time.sleep(0.1)
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        assert manifest["pid"] == proc.pid
        postmaster_pid = None
        if external_database_url is None:
            assert pid_file.exists(), f"the private PostgreSQL is not running\n{_log_tail()}"
            postmaster_pid = int(pid_file.read_text().splitlines()[0])
    except BaseException:
        _stop(proc)
        if not pid_file.exists():
            shutil.rmtree(data_dir, ignore_errors=True)
        raise

    yield manifest

    returncode = _stop(proc)
    problems: list[str] = []
    if returncode != 0:
        problems.append(f"`voltlane run` exited with {returncode} on SIGTERM, not 0")
    if manifest_path.exists():
        problems.append(f"{manifest_path} outlived `voltlane run`")
    if external_database_url is None:
        if pid_file.exists():
            problems.append(f"{pid_file} still exists: the private PostgreSQL was not stopped")
        if postmaster_pid is not None and not _eventually(lambda: not _alive(postmaster_pid)):
            problems.append(f"the postmaster (pid {postmaster_pid}) is still running")
    if not _eventually(lambda: not _processes_mentioning(str(data_dir))):
        leftovers = "\n".join(_processes_mentioning(str(data_dir)))
        problems.append(f"processes outlived `voltlane run`:\n{leftovers}")
    pg_log = data_dir / "postgres" / "postgres.log"
    if pg_log.exists():
        shutil.copyfile(pg_log, ARTIFACTS / "postgres.log")
    if problems:
        pytest.fail("\n".join([*problems, f"(data directory kept: {data_dir})", _log_tail()]))
    shutil.rmtree(data_dir, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then wait; a process that ignores it is killed and reported."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"`voltlane run` ignored SIGTERM for {STOP_TIMEOUT:.0f} s\n{_log_tail()}")
    return proc.returncode


@pytest.fixture
def brand(demo: dict[str, Any], slug: str) -> dict[str, Any]:
    """The demo.json entry of `slug`."""
    by_slug = {b["slug"]: b for b in demo["brands"]}
    assert slug in by_slug, f"demo.json has no brand {slug!r}; it has {sorted(by_slug)}"
    return by_slug[slug]


@pytest.fixture
def other_brand(demo: dict[str, Any], other_tenant: TenantFile) -> dict[str, Any]:
    by_slug = {b["slug"]: b for b in demo["brands"]}
    return by_slug[other_tenant.slug]


# -- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the e2e suite drives Debian's Chromium "
            "(apt-get install -y chromium); Playwright's own browser download is not used."
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab; uncaught script errors fail the test, and a failing test leaves a screenshot."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    yield page
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed and not page.is_closed():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        (ARTIFACTS / "failures").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / "failures" / f"{name}.png", full_page=True)
    assert not errors, "script errors in the page:\n" + "\n".join(errors)
