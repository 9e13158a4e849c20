"""Credentials are masked wherever a log line carries them; ordinary words that merely contain
"pass", "sig" or "key" are left alone."""

from __future__ import annotations

import pytest

from dialer.redaction import redact


@pytest.mark.parametrize(
    ("text", "kept", "secret"),
    [
        ("GET /api/v1/projects/loans/leads/A?token=dlr_abc123 HTTP/1.1", "GET /api/v1/", "dlr_abc123"),
        ("/x?access_token=t1&apikey=t2&page=3", "page=3", "t1"),
        ("https://smsc.ru/sys/send.php?login=acme&psw=hunter2&phones=7912", "login=acme", "hunter2"),
        ("Authorization: Bearer tok_SECRET99", "Authorization: Bearer", "tok_SECRET99"),
        ('{"password": "p4ssw0rd", "login": "anna"}', '"login": "anna"', "p4ssw0rd"),
        ("postgresql+asyncpg://dialer:pw-777@db:5432/dialer", "@db:5432", "pw-777"),
        ("x-api-key=QQQ user.password=x1y2", "x-api-key=", "QQQ"),
    ],
)
def test_credentials_are_masked(text: str, kept: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked and kept in masked and "***" in masked


def test_ordinary_words_are_left_alone() -> None:
    text = "passed=3 signal=15 author=anna monkey_business=no"
    assert redact(text) == text
