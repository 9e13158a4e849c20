"""No secret reaches a log line: a real ``dialer serve`` is sent credentials in every place a client
puts them (query strings, Authorization headers, passwords in bodies, refused and accepted), and its
whole log is then searched for each secret."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.servers import free_port
from tests.integration.test_serve import DIALER, dialer, wait_healthy


def call(url: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_served_dialer_logs_no_secret(write_config, tmp_path: Path, log_format: str) -> None:
    port = free_port()
    config = write_config(
        f'[server]\nport = {port}\n[database]\npath = "var/secrets.sqlite3"\n'
        f'[sip]\nport = {free_port(socket.SOCK_DGRAM)}\n[logging]\nformat = "{log_format}"\nlevel = "debug"\n'
    )
    password = "Op-Passw0rd-7391"
    for args in (("migrate",), ("project", "create", "loans"),
                 ("operator", "add", "anna", "--project", "loans", "--password", password)):  # fmt: skip
        done = dialer(config, *args)
        assert done.returncode == 0, done.stderr
    token = dialer(config, "token", "create", "--project", "loans").stdout.strip()
    log = tmp_path / "serve.log"
    process = subprocess.Popen([*DIALER, "--config", str(config), "serve"], stdout=log.open("w"),
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    leads = f"{base}/api/v1/projects/loans/leads"
    try:
        wait_healthy(f"{base}/healthz", process)
        assert call(f"{leads}/APP-1?token={token}") == 401  # a token in the query string is refused...
        assert call(f"{leads}/x?access_token={token}&apikey={token}") == 401
        assert call(f"{leads}/APP-1", headers={"Authorization": f"Bearer {token}"}) == 404
        assert call(f"{leads}/APP-1", headers={"Authorization": f"Bearer {token}x"}) == 401
        session = f"{base}/api/v1/operators/anna/session"
        assert call(session, method="POST", body={"password": password + "-wrong"}) == 401
        assert call(session, method="POST", body={"password": password}) == 201
        assert call(f"{session}?password={password}", method="POST", body={"password": password}) == 201
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    text = log.read_text()
    assert "/api/v1/operators/anna/session" in text  # the requests were logged...
    for secret in (token, token[8:], password, password + "-wrong"):
        assert secret not in text, f"a secret is in the log:\n{text}"  # ...without their secrets
