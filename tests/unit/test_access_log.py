"""The access log keeps writes and refusals, and leaves successful polling to DEBUG."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from dialer.logs import AccessLog


def logged(caplog: pytest.LogCaptureFixture, level: int, method: str, path: str, status: int) -> list[str]:
    """The access lines written for one request with the logger at ``level``."""
    caplog.clear()
    logger = logging.getLogger("test.access")
    logger.setLevel(level)
    AccessLog(logger, "%r %s").log(make_mocked_request(method, path), web.Response(status=status), 0.01)
    return [record.getMessage() for record in caplog.records if record.name == "test.access"]


def test_successful_reads_are_left_to_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert logged(caplog, logging.INFO, "GET", "/api/v1/operators/anna/current", 200) == []
    assert logged(caplog, logging.INFO, "HEAD", "/healthz", 200) == []
    assert logged(caplog, logging.INFO, "GET", "/metrics", 304) == []
    assert logged(caplog, logging.DEBUG, "GET", "/metrics", 200) == ["GET /metrics HTTP/1.1 200"]


def test_writes_and_refusals_stay_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert logged(caplog, logging.INFO, "POST", "/api/v1/leads", 201) == ["POST /api/v1/leads HTTP/1.1 201"]
    assert logged(caplog, logging.INFO, "PUT", "/api/v1/operators/anna/state", 200) == [
        "PUT /api/v1/operators/anna/state HTTP/1.1 200"
    ]
    assert logged(caplog, logging.INFO, "GET", "/api/v1/leads/x", 404) == ["GET /api/v1/leads/x HTTP/1.1 404"]
    assert logged(caplog, logging.INFO, "GET", "/api/v1/leads", 401) == ["GET /api/v1/leads HTTP/1.1 401"]
