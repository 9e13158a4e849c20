"""`dialer serve` as a newcomer runs it: refuses an unmigrated database, answers /healthz and /metrics
once migrated, and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dialer.accounts.projects import project_by_slug
from dialer.storage import head_revision
from tests.integration.servers import free_port

DIALER = [sys.executable, "-m", "dialer"]


def dialer(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DIALER, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_healthy(url: str, process: subprocess.Popen[str], deadline_s: float = 30.0) -> tuple[int, str]:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dialer serve exited early with {process.returncode}: {process.communicate()}")
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {deadline_s} s")


def serve_until_ctrl_c(
    config: Path, port: int, env: dict[str, str] | None = None, command: tuple[str, ...] = ("serve",)
) -> None:
    process = subprocess.Popen(
        [*DIALER, "--config", str(config), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        status, body = wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        assert status == 200
        assert '"status": "ok"' in body
        status, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'dialer_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"Running on http://127.0.0.1:{port}" in out


def test_serve_refuses_unmigrated_database_then_serves_after_migrate(write_config) -> None:
    port = free_port()
    config = write_config(f'[server]\nport = {port}\n[database]\npath = "var/test.sqlite3"\n')

    refused = dialer(config, "serve")
    assert refused.returncode == 2
    assert "has no schema yet" in refused.stderr and "run `dialer migrate`" in refused.stderr
    assert "Traceback" not in refused.stderr

    migrated = dialer(config, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"empty -> {head_revision()}" in migrated.stdout

    serve_until_ctrl_c(config, port)


def test_serve_on_postgresql_given_by_environment(write_config, postgres_url: str) -> None:
    port = free_port()
    config = write_config(f"[server]\nport = {port}\n")
    env = {"DIALER_DATABASE__URL": postgres_url}
    migrated = dialer(config, "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "postgresql+asyncpg://postgres@127.0.0.1" in migrated.stdout
    serve_until_ctrl_c(config, port, env=env)


def test_unreachable_database_is_one_clear_error(write_config) -> None:
    config = write_config(f'[database]\nurl = "postgresql://nobody:pw-777@127.0.0.1:{free_port()}/x"\n')
    result = dialer(config, "migrate")
    assert result.returncode == 2
    assert "cannot be used" in result.stderr
    assert "pw-777" not in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_clear_error(write_config) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(f'[server]\nport = {port}\n[database]\npath = "db.sqlite3"\n')
        assert dialer(config, "migrate").returncode == 0
        result = dialer(config, "serve")
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_campaign_starts_the_campaign_and_serves(write_config, tmp_path: Path) -> None:
    import asyncio
    import socket

    from dialer import campaigns
    from dialer.config import DatabaseSettings
    from dialer.storage import create_engine, reading, writing

    port, sip = free_port(), free_port(socket.SOCK_DGRAM)
    config = write_config(f'[server]\nport = {port}\n[database]\npath = "db.sqlite3"\n[sip]\nport = {sip}\n')
    assert dialer(config, "migrate").returncode == 0
    nothing = dialer(config, "run-campaign", "loans", "main")
    assert nothing.returncode == 2 and "no project 'loans'" in nothing.stderr
    assert dialer(config, "project", "create", "loans").returncode == 0
    missing = dialer(config, "run-campaign", "loans", "main")
    assert missing.returncode == 2 and "no campaign 'main' in project 'loans'" in missing.stderr
    assert "Traceback" not in missing.stderr

    async def status(create: bool) -> str:
        engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
        try:
            async with writing(engine) if create else reading(engine) as conn:
                project = await project_by_slug(conn, "loans")
                assert project is not None
                if create:
                    await campaigns.put(conn, project, "main", campaigns.CampaignIn(mode="progressive"))
                return (await campaigns.get(conn, project, "main")).status.value
        finally:
            await engine.dispose()

    assert asyncio.run(status(create=True)) == "paused"
    serve_until_ctrl_c(config, port, command=("run-campaign", "loans", "main"))
    assert asyncio.run(status(create=False)) == "running"
