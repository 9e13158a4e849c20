"""People on a real SQLite file: roles and the projects each sees, invitations and password resets
(one-time, 72 hours, the newest only), sign-in, web sessions that end when a person is deactivated."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dialer.accounts import people, web_sessions
from dialer.accounts.people import Purpose, Role
from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings
from dialer.errors import Conflict, Rejected
from dialer.storage import create_engine, upgrade, writing
from dialer.storage.types import utcnow

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(tmp_path: Path):
    eng = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    await upgrade(eng)
    yield eng
    await eng.dispose()


async def test_roles_and_projects_decide_what_a_person_sees(engine) -> None:
    async with writing(engine) as conn:
        loans = await create_project(conn, "loans")
        cards = await create_project(conn, "cards")
        admin = await people.add_person(conn, "root", name="Root", role=Role.ADMIN, password="correct horse")
        boss = await people.add_person(
            conn, "boss", name="Boss", role=Role.SUPERVISOR, project_ids=[loans.id], password="correct horse"
        )
        anna = await people.add_person(conn, "anna", name="Anna", role=Role.OPERATOR, project_ids=[loans.id],
                                       password="correct horse")  # fmt: skip
        carl = await people.add_person(conn, "carl", name="Carl", role=Role.OPERATOR, project_ids=[cards.id],
                                       password="correct horse")  # fmt: skip
        assert people.sees(admin, cards.id) and people.sees(boss, loans.id)
        assert not people.sees(boss, cards.id) and not people.sees(anna, cards.id)
        assert [p.login for p in await people.people(conn, seen_by=boss)] == ["anna", "boss"]
        assert {p.login for p in await people.people(conn, seen_by=admin)} == {"root", "boss", "anna", "carl"}
        with pytest.raises(Conflict):
            await people.add_person(conn, "anna", name="Anna 2", role=Role.OPERATOR, project_ids=[loans.id])
        with pytest.raises(Rejected) as bad:
            await people.add_person(conn, "Bad Login", name="", role=Role.SUPERVISOR)
        assert {e.field for e in bad.value.errors} == {"login", "name", "projects"}
        assert carl.role is Role.OPERATOR


async def test_an_invitation_is_used_once_within_72_hours_and_replaced_by_a_newer_one(engine) -> None:
    now = utcnow()
    async with writing(engine) as conn:
        loans = await create_project(conn, "loans")
        olga = await people.add_person(
            conn, "olga", name="Olga", role=Role.SUPERVISOR, email="olga@example.net", project_ids=[loans.id]
        )
        assert olga.pending
        assert await people.check_credentials(conn, "olga", "") is None
        first = await people.issue_link(conn, olga.id, Purpose.INVITE, now=now)
        second = await people.issue_link(conn, olga.id, Purpose.INVITE, now=now)
        with pytest.raises(Rejected, match="replaced by a newer one"):
            await people.link_person(conn, first, Purpose.INVITE, now=now)
        with pytest.raises(Rejected, match="expired"):
            await people.link_person(conn, second, Purpose.INVITE, now=now + timedelta(hours=73))
        with pytest.raises(Rejected, match="not valid"):
            await people.link_person(conn, second, Purpose.RESET, now=now)
        with pytest.raises(Rejected, match="at least 8"):
            await people.use_link(conn, second, Purpose.INVITE, "short", now=now)
        accepted = await people.use_link(conn, second, Purpose.INVITE, "a long passphrase", now=now)
        assert not accepted.pending
        with pytest.raises(Rejected, match="used already"):
            await people.use_link(conn, second, Purpose.INVITE, "another passphrase", now=now)
        assert (await people.check_credentials(conn, "olga", "a long passphrase")) is not None
        assert await people.check_credentials(conn, "olga", "wrong passphrase") is None


async def test_deactivation_and_a_reset_end_the_persons_sessions(engine) -> None:
    async with writing(engine) as conn:
        loans = await create_project(conn, "loans")
        boss = await people.add_person(
            conn, "boss", name="Boss", role=Role.SUPERVISOR, project_ids=[loans.id], password="correct horse"
        )
        token, session = await web_sessions.open_session(conn, boss.id, address="127.0.0.1")
        assert (await web_sessions.session_of(conn, token)).person.login == "boss"
        assert session.csrf_ok(session.csrf) and not session.csrf_ok("forged") and not session.csrf_ok(None)
        reset = await people.issue_link(conn, boss.id, Purpose.RESET)
        await people.use_link(conn, reset, Purpose.RESET, "a brand new one")
        assert await web_sessions.session_of(conn, token) is None  # a new password signs out elsewhere
        token, _ = await web_sessions.open_session(conn, boss.id, address=None)
        await people.change_person(conn, boss.id, active=False)
        assert await web_sessions.session_of(conn, token) is None
        assert await people.check_credentials(conn, "boss", "a brand new one") is None
