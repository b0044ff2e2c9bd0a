"""A throwaway PostgreSQL for the fleet store's tests: `initdb` in a temporary folder, `postgres` on a free
loopback port, torn down (and the folder deleted) at the end.

PostgreSQL refuses to run as root, which CI is: there, the folder is given to `nobody` and both
programs run as that user (setpriv). The binaries are Debian's (scripts/install-postgres.sh), found
under /usr/lib/postgresql/VERSION/bin (the newest) or on PATH; the tests skip only where there are none.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.hardening.conftest import free_port

UNPRIVILEGED = "nobody"


def _bindir() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    found = shutil.which("postgres")
    return Path(found).parent if found else None


class PostgresServer:
    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None or not (bindir / "initdb").exists():
            pytest.skip("PostgreSQL's initdb and postgres are not installed and could not be "
                        "(scripts/install-postgres.sh)")
        self._bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="embedroute-pg-"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        import pwd

        user = pwd.getpwnam(UNPRIVILEGED)
        return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--", *argv]

    def start(self) -> None:
        """Makes the cluster (the first time) and starts the server on it."""
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        data = self.folder / "data"
        if not data.exists():
            subprocess.run(self._as_owner([str(self._bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                           "-A", "trust", "--no-sync", "-E", "UTF8"]),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._process = subprocess.Popen(
            self._as_owner([str(self._bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port),
                            "-k", str(self.folder), "-c", "fsync=off", "-c", "max_connections=50"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self._process.poll() is None, "postgres exited at start"
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "postgres did not accept connections"
                time.sleep(0.05)

    def database(self) -> str:
        """A new, empty database's URL."""
        name = f"t{os.urandom(6).hex()}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def halt(self) -> None:
        """Stops the server (fast shutdown: clients are cut off), keeping its data for `start`."""
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            self._process = None

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server
