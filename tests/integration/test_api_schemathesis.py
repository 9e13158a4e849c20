"""Schemathesis against the served OpenAPI document of a real ``dialer serve`` process.

Every operation is fuzzed (examples, coverage, fuzzing and stateful phases following the documented
links) with a valid project token. All checks run except two whose premise our API rejects on purpose:
- ``positive_data_acceptance``: a schema cannot say which strings are dialable phone numbers, which
  IANA zones exist or which campaigns a project has; such requests are rightly refused with 422.
- ``use_after_free``: DELETE of a lead cancels dialling and keeps the lead and its history readable
  (the lender must see what happened), so a later GET answers 200 with status ``cancelled``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.servers import free_port
from tests.integration.test_serve import DIALER, dialer, wait_healthy

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def served(write_config, tmp_path: Path):
    port = free_port()
    sip_port = free_port(socket.SOCK_DGRAM)
    config = write_config(
        f'[server]\nport = {port}\n[database]\npath = "var/api.sqlite3"\n[sip]\nport = {sip_port}\n'
    )
    steps = (("migrate",), ("project", "create", "loans", "--name", "Loans"),
             ("operator", "add", "anna", "--project", "loans", "--password", "anna-secret-1"))  # fmt: skip
    for args in steps:
        done = dialer(config, *args)
        assert done.returncode == 0, done.stderr
    token = dialer(config, "token", "create", "--project", "loans")
    assert token.returncode == 0, token.stderr
    log = tmp_path / "serve.log"  # a file, not a pipe: thousands of access-log lines would fill a pipe
    process = subprocess.Popen(
        [*DIALER, "--config", str(config), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        text=True,
    )
    try:
        status, _ = wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        assert status == 200
        yield port, token.stdout.strip()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        err = log.read_text()
        assert "Traceback" not in err, err[-5000:]
        assert "unexpected error" not in err, err[-5000:]


def test_schemathesis_finds_no_failure(served, tmp_path: Path) -> None:
    port, token = served
    assert SCHEMATHESIS.exists() or shutil.which("schemathesis"), "schemathesis is a test dependency"
    config = tmp_path / "schemathesis.toml"
    config.write_text('[parameters]\n"path.project" = "loans"\n"path.login" = "anna"\n')
    command = [
        str(SCHEMATHESIS if SCHEMATHESIS.exists() else shutil.which("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"http://127.0.0.1:{port}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,use_after_free",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "50",
        "--workers",
        "1",  # hypothesis' lambda-source cache is not thread-safe (seen with 2 workers)
        "--seed",
        "20261122",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "NO_COLOR": "1"}
    )
    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    from dialer.web.api import OPERATIONS

    assert f"{len(OPERATIONS)}/{len(OPERATIONS)}" in done.stdout and " passed" in done.stdout, summary
