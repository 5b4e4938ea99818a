"""A throwaway PostgreSQL primary and its hot standby, streaming, in a temporary folder.

The suite's own server is left alone: this builds a second cluster with ``initdb`` on a free
port (its ``pg_hba.conf`` allows replication from 127.0.0.1), copies it with ``pg_basebackup
-R`` into a standby on another free port, starts both and waits until the standby streams.
Both are stopped and the folder removed on the way out, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

_BINARIES = ("initdb", "pg_ctl", "pg_basebackup")
_PG_HBA = """\
local all         all                 trust
host  all         all  127.0.0.1/32   trust
host  replication all  127.0.0.1/32   trust
"""


def postgres_bindir() -> Path | None:
    """Return the folder holding initdb, pg_ctl and pg_basebackup, or None if there is none."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if all((folder / name).is_file() for name in _BINARIES):
            return folder
    return None


def missing_reason() -> str | None:
    """Return why a primary and standby cannot be built here, or None when they can."""
    if postgres_bindir() is None:
        return "PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root, and without runuser PostgreSQL's server refuses to start"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Pair:
    """A running primary and its streaming standby."""

    folder: Path
    primary_port: int
    standby_port: int

    def url(self, port: int, database: str) -> str:
        """Return the DATABASE_URL of ``database`` on the server at ``port``."""
        return f"postgres://postgres@127.0.0.1:{port}/{database}"

    def primary_url(self, database: str) -> str:
        """Return the primary's DATABASE_URL for ``database``."""
        return self.url(self.primary_port, database)

    def standby_url(self, database: str) -> str:
        """Return the standby's DATABASE_URL for ``database``."""
        return self.url(self.standby_port, database)


class _Runner:
    """Run PostgreSQL's programs as the postgres user when this process is root."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def __call__(self, program: str, *args: str, timeout: float = 60) -> None:
        command = [*self.prefix, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )


def _write(path: Path, text: str, *, append: bool = False) -> None:
    with path.open("a" if append else "w") as handle:
        handle.write(text)


def _wait_for_streaming(pair: Pair, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(pair.primary_url("postgres"), autocommit=True) as conn:
            state = conn.execute("SELECT state FROM pg_stat_replication").fetchone()
        if state and state[0] == "streaming":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the standby did not start streaming in {timeout} s: {state}")
        time.sleep(0.1)


@contextmanager
def primary_and_standby(*, timeout: float = 60) -> Iterator[Pair]:
    """Yield a running primary and a hot standby streaming from it; remove both afterwards."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError(missing_reason())
    run = _Runner(bindir)
    folder = Path(tempfile.mkdtemp(prefix="tracker-standby-"))
    started: list[Path] = []
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        primary, standby = folder / "primary", folder / "standby"
        pair = Pair(folder, _free_port(), _free_port())
        run("initdb", "-D", str(primary), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        _write(primary / "pg_hba.conf", _PG_HBA)
        _write(
            primary / "postgresql.conf",
            # fsync off: a test cluster thrown away afterwards need not survive a crash.
            f"\nport = {pair.primary_port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{folder}'\nwal_level = replica\n"
            "max_wal_senders = 4\nfsync = off\nmax_connections = 50\n",
            append=True,
        )
        run("pg_ctl", "-D", str(primary), "-l", str(folder / "primary.log"), "-w", "start")
        started.append(primary)
        run("pg_basebackup", "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres",
            "-D", str(standby), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")  # fmt: skip
        # -R wrote primary_conninfo and standby.signal; the standby needs its own port, and
        # hot_standby_feedback keeps the primary from vacuuming rows a feed query still reads.
        _write(
            standby / "postgresql.auto.conf",
            f"\nport = {pair.standby_port}\nhot_standby = on\nhot_standby_feedback = on\n",
            append=True,
        )
        run("pg_ctl", "-D", str(standby), "-l", str(folder / "standby.log"), "-w", "start")
        started.append(standby)
        _wait_for_streaming(pair, timeout)
        yield pair
    finally:
        for data in reversed(started):
            # The folder goes anyway; a server that did not stop would say so in its log.
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


#: The checkout: processes run from here.
ROOT = Path(__file__).resolve().parents[2]


def run_python(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run this Python with ``args`` from the checkout, in ``env``; return what it did."""
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def tracker_on(pair: Pair) -> dict[str, str]:
    """Create and migrate the database "tracker" on ``pair``'s primary.

    Return the environment of a process whose settings name that primary (``DATABASE_URL``)
    and its standby (``DATABASE_REPLICA_URL``), with the test settings.
    """
    with psycopg.connect(pair.primary_url("postgres"), autocommit=True) as primary:
        primary.execute("CREATE DATABASE tracker")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "PYTEST_", "DJANGO_"))
    } | {
        "DJANGO_SETTINGS_MODULE": "tracker.settings_test",
        "DATABASE_URL": pair.primary_url("tracker"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    migrated = run_python(["manage.py", "migrate", "--no-input", "-v0"], env, timeout=120)
    if migrated.returncode != 0:
        raise RuntimeError(f"migrate failed on the primary:\n{migrated.stderr}")
    return env | {"DATABASE_REPLICA_URL": pair.standby_url("tracker")}
