"""``dialer project``, ``token`` and ``dnc`` commands on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.cli import run
from dialer.config import load_settings
from dialer.storage import create_engine, reading
from dialer.storage.models import ApiToken, OperatorRow, Project


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[database]\npath = "var/dialer.sqlite3"\n', encoding="utf-8")
    assert run(["--config", str(path), "migrate"]) == 0
    capsys.readouterr()
    return path


def stored(config: Path, table) -> list:
    async def read() -> list:
        engine = create_engine(load_settings(config).database)
        try:
            async with reading(engine) as conn:
                return list((await conn.execute(select(table.__table__))).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_create_update_and_list_projects(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--config", str(config), "project", "create", "loans", "--name", "Loans"]) == 0
    assert run(["--config", str(config), "project", "create", "loans"]) == 2
    assert "already exists" in capsys.readouterr().err
    code = run(
        [
            "--config",
            str(config),
            "project",
            "update",
            "loans",
            "--holidays",
            "2027-01-07,2027-01-01",
            "--caps",
            "day=1,week=2",
            "--window",
            "us",
            "--webhook-url",
            "https://lender.example/hook",
        ]
    )
    assert code == 0, capsys.readouterr().err
    (project,) = stored(config, Project)
    assert project.holidays == ["2027-01-01", "2027-01-07"]
    assert (project.caps_per_day, project.caps_per_week, project.caps_per_month) == (1, 2, None)
    assert (project.calling_window, project.webhook_url) == ("us", "https://lender.example/hook")
    assert run(["--config", str(config), "project", "update", "loans", "--webhook-url", ""]) == 0
    assert stored(config, Project)[0].webhook_url is None
    capsys.readouterr()
    assert run(["--config", str(config), "project", "list"]) == 0
    assert "loans" in capsys.readouterr().out


def test_bad_settings_change_nothing_and_name_every_problem(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--config", str(config), "project", "create", "loans"]) == 0
    capsys.readouterr()
    code = run(
        [
            "--config",
            str(config),
            "project",
            "update",
            "loans",
            "--holidays",
            "2027-13-01",
            "--caps",
            "hour=3",
            "--region",
            "XX",
            "--time-zone",
            "Mars/Base",
            "--window",
            "always",
            "--name",
            " ",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    for words in (
        "holiday '2027-13-01'",
        "cap 'hour=3'",
        "region 'XX'",
        "unknown time zone",
        "window 'always'",
        "name: must not be empty",
    ):
        assert words in err
    assert stored(config, Project)[0].region == "RU"
    assert run(["--config", str(config), "project", "update", "ghost", "--name", "G"]) == 2
    assert "no project 'ghost'" in capsys.readouterr().err


def test_token_is_printed_once_and_stored_hashed(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--config", str(config), "project", "create", "loans"]) == 0
    capsys.readouterr()
    assert run(["--config", str(config), "token", "create", "--project", "loans"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("dlr_") and len(token) > 40
    (row,) = stored(config, ApiToken)
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
    assert run(["--config", str(config), "token", "create", "--project", "ghost"]) == 2
    assert "no project 'ghost'" in capsys.readouterr().err


def test_tokens_are_listed_without_their_secret_and_revoked(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dialer.runtime import create_app
    from tests.integration.api_fixtures import Tenants

    assert run(["--config", str(config), "project", "create", "loans"]) == 0
    assert run(["--config", str(config), "token", "create", "--project", "loans", "--name", "lender"]) == 0
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert run(["--config", str(config), "token", "create", "--project", "loans"]) == 0
    second = capsys.readouterr().out.strip()
    assert run(["--config", str(config), "token", "list", "--project", "loans"]) == 0
    listing = capsys.readouterr().out
    assert first not in listing and first[:10] in listing and "lender" in listing
    assert run(["--config", str(config), "token", "revoke", "dlr_", "--project", "loans"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert run(["--config", str(config), "token", "revoke", first, "--project", "loans"]) == 0
    assert "revoked 1 token(s)" in capsys.readouterr().out
    assert run(["--config", str(config), "token", "revoke", first, "--project", "loans"]) == 1
    assert run(["--config", str(config), "token", "list", "--project", "loans"]) == 0
    assert listing.count("active") == 2 and capsys.readouterr().out.count("active") == 1

    async def status_with(token: str) -> int:
        from aiohttp.test_utils import TestClient, TestServer

        async with TestClient(TestServer(create_app(load_settings(config)))) as client:
            response = await client.get("/api/v1/projects/loans/leads/X", headers=Tenants.auth(None, token))  # type: ignore[arg-type]
            return response.status

    assert asyncio.run(status_with(first)) == 401  # revoked: refused at once
    assert asyncio.run(status_with(second)) == 404  # still valid: the lead just does not exist


def test_dnc_needs_exactly_one_scope_and_dialable_numbers(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--config", str(config), "project", "create", "loans"]) == 0
    assert run(["--config", str(config), "dnc", "add", "+79123456789"]) == 2
    assert run(["--config", str(config), "dnc", "add", "+79123456789", "--global", "--project", "loans"]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert run(["--config", str(config), "dnc", "add", "8 912 345 67 89", "12", "--project", "loans"]) == 2
    assert "'12': too short" in capsys.readouterr().err
    assert run(["--config", str(config), "dnc", "add", "8 912 345 67 89", "--project", "loans"]) == 0
    assert run(["--config", str(config), "dnc", "remove", "+79123456789", "--project", "loans"]) == 0
    assert run(["--config", str(config), "dnc", "remove", "+79123456789", "--project", "loans"]) == 1


def test_operators_are_added_with_hashed_secrets_and_listed(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialer.accounts.operators import check_password, sip_secrets
    from dialer.storage import create_engine as make_engine
    from sip.digest import ha1_md5

    assert run(["--config", str(config), "project", "create", "loans"]) == 0
    assert run(["--config", str(config), "project", "create", "cards"]) == 0
    monkeypatch.setenv("DIALER_OPERATOR_PASSWORD", "long-enough-1")
    add = ["--config", str(config), "operator", "add", "anna", "--project", "loans", "--project", "cards"]
    assert run([*add, "--name", "Anna K."]) == 0
    assert run(["--config", str(config), "operator", "add", "anna", "--project", "loans"]) == 2
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("DIALER_OPERATOR_PASSWORD", "short")
    assert run(["--config", str(config), "operator", "add", "Bad Login", "--project", "ghost"]) == 2
    err = capsys.readouterr().err
    assert "no project 'ghost'" in err
    assert run(["--config", str(config), "operator", "add", "Bad Login", "--project", "loans"]) == 2
    err = capsys.readouterr().err
    assert "login 'Bad Login'" in err and "at least 8 characters" in err
    assert run(["--config", str(config), "operator", "list"]) == 0
    out = capsys.readouterr().out
    assert "anna" in out and "Anna K." in out and "cards, loans" in out
    (row,) = stored(config, OperatorRow)
    assert "long-enough-1" not in row.password_hash and row.password_hash.startswith("$argon2")

    async def checks() -> tuple[bool, bool, dict[str, str]]:
        engine = make_engine(load_settings(config).database)
        try:
            async with reading(engine) as conn:
                return (await check_password(conn, "anna", "long-enough-1"),
                        await check_password(conn, "anna", "guess"), await sip_secrets(conn))  # fmt: skip
        finally:
            await engine.dispose()

    right, wrong, secrets = asyncio.run(checks())
    assert right and not wrong
    assert secrets == {"anna": ha1_md5("anna", "dialer", "long-enough-1")}
