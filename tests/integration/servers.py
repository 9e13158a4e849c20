"""Real servers for integration tests, started on 127.0.0.1 and stopped by their fixtures.

Under CI (``CI=true``) a missing program fails the test instead of skipping it: a green CI must mean
the integration tests really ran against real peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def require_program(path_or_name: str, package: str) -> str:
    """The program's full path; skip (locally) or fail (under CI) when it is not installed."""
    found = path_or_name if os.path.isabs(path_or_name) and os.access(path_or_name, os.X_OK) else None
    found = found or shutil.which(path_or_name)
    if found is None:
        message = f"{path_or_name} not found: install the Debian package {package} (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL cluster: connect as the superuser ``postgres`` with no password."""

    host: str
    port: int
    bindir: str

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql as the superuser; its output."""
        done = subprocess.run(
            [
                f"{self.bindir}/psql",
                "-X",
                "-q",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                statement,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout.strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"


def _pg_bindir() -> str:
    """The newest Debian PostgreSQL's bin directory (initdb and pg_ctl are not on PATH there)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return os.path.dirname(candidates[-1])
    return os.path.dirname(require_program("initdb", "postgresql"))


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """initdb a throwaway cluster in a temp dir and run it on a free loopback port.

    As root the server runs as the ``postgres`` user (PostgreSQL refuses root), so the data dir is
    created outside pytest's root-only temp tree and handed to that user.
    """
    bindir = _pg_bindir()
    as_user: list[str] = []
    datadir = Path(tempfile.mkdtemp(prefix="dialer-pg-"))
    if os.geteuid() == 0:
        runuser = require_program("runuser", "util-linux")
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(datadir, "postgres", "postgres")
    port = free_port()
    data = datadir / "data"
    log = datadir / "server.log"
    try:
        subprocess.run(
            [
                *as_user,
                f"{bindir}/initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {datadir} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [
                *as_user,
                f"{bindir}/pg_ctl",
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        try:
            yield Postgres("127.0.0.1", port, bindir)
        finally:
            subprocess.run(
                [*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(
            f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')}\n{server_log}"
        ) from exc
    finally:
        shutil.rmtree(datadir, ignore_errors=True)


@contextlib.asynccontextmanager
async def dialer_serve(config: Path, log: Path, *, cwd: Path | None = None) -> AsyncIterator[str]:
    """``dialer serve`` with ``config`` in a child process (its output in ``log``), answering on
    ``/healthz``; its base URL. Stopped with SIGINT (a clean stop), killed if it hangs."""

    settings = tomllib.loads(config.read_text())  # noqa: ASYNC240 (a few bytes, before anything runs)
    base = f"http://127.0.0.1:{settings['server']['port']}"
    command = [sys.executable, "-m", "dialer", "--config", str(config), "serve"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,  # noqa: ASYNC220
                                   env=dict(os.environ))  # fmt: skip
        try:
            await until_healthy(base)
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()


async def until_healthy(base: str, seconds: float = 30.0) -> None:
    """Wait (at most ``seconds``) until the dialer at ``base`` answers 200 on ``/healthz``."""
    import aiohttp

    async with aiohttp.ClientSession() as probe:
        for _ in range(int(seconds / 0.2)):
            try:
                async with probe.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
