# ruff: noqa: RUF001  (Russian page text)
"""The reports over HTTP: the JSON API with a project token, the console's pages with their filters
and downloads (XLSX read back with openpyxl), roles and projects kept apart, call review, targets,
the daily summary queued once, the wall-board's stream."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import openpyxl
import pytest
from sqlalchemy import select, update

from dialer.accounts import people
from dialer.accounts.people import Role
from dialer.accounts.projects import create_project
from dialer.accounts.tokens import create_token
from dialer.campaigns import pause_the_spent
from dialer.config import DatabaseSettings, Settings, SipSettings
from dialer.config_channels import SmtpSettings
from dialer.runtime import create_app
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.tables import CALL_REVIEW, CAMPAIGN, MESSAGE, OPERATOR, SUMMARY_SUBSCRIPTION
from reports.summary import SummaryMailer
from tests.integration.console_client import csrf_of
from tests.integration.report_history import DAY, EXPECTED, make_history

pytestmark = pytest.mark.integration
QUERY = f"project=loans&from={DAY}&to={DAY}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def served(request, aiohttp_client, tmp_path):
    mail = SmtpSettings(
        kind="smtp", host="127.0.0.1", port=2525, security="none", from_address="d@example.com"
    )
    if request.param == "postgresql":
        database = DatabaseSettings(url=request.getfixturevalue("postgres_url"))
    else:
        database = DatabaseSettings(path=tmp_path / "db.sqlite3")
    settings = Settings(database=database, sip=SipSettings(enabled=False), channels={"mail": mail})
    engine = create_engine(settings.database)
    await upgrade(engine)
    ids = await make_history(engine)
    async with writing(engine) as conn:
        ids["token"] = await create_token(conn, ids["project"], "reports")
        cards = await create_project(conn, "cards", name="Cards")
        ids["cards_token"] = await create_token(conn, cards.id, "cards")
        await people.add_person(conn, "carl", name="Carl", role=Role.SUPERVISOR, project_ids=[cards.id],
                                password="carl-password")  # fmt: skip
    client = await aiohttp_client(create_app(settings), cookie_jar=aiohttp.CookieJar(unsafe=True))
    yield client, ids, engine, settings
    await engine.dispose()


async def _sign_in(client, login: str, password: str) -> None:
    async with client.get("/sign-in") as response:
        token = csrf_of(await response.text())
    async with client.post(
        "/sign-in", data={"login": login, "password": password, "csrf": token}
    ) as response:
        assert response.status == 200, await response.text()


async def test_the_api_gives_every_report_and_names_bad_filters(served) -> None:
    client, ids, _engine, _settings = served
    auth = {"Authorization": f"Bearer {ids['token']}"}
    async with client.get(
        f"/api/v1/projects/loans/reports/costs?from={DAY}&to={DAY}", headers=auth
    ) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    figures = {f["key"]: f["value"] for f in body["figures"]}
    want = EXPECTED["costs"]
    for key in ("total", "calls_cost", "messages_cost", "per_connected", "per_success"):
        assert Decimal(figures[key]) == want[key], key
    reports = {}
    for name in ("operators", "successes", "effectiveness"):
        async with client.get(f"/api/v1/projects/loans/reports/{name}?from={DAY}", headers=auth) as response:
            assert response.status == 200, name
            reports[name] = await response.json()
            assert reports[name]["first"] == DAY
    times = {r["login"]: r for r in reports["operators"]["tables"][0]["rows"]}
    handled = {r["login"]: r for r in reports["operators"]["tables"][1]["rows"]}
    for login, expected in EXPECTED["operators"].items():
        for key, value in expected.items():
            if login == "boris" and key in ("signed_in", "ready"):
                continue  # his last span is still open: it runs to the end of the day now
            row = times[login] if key in times[login] else handled[login]
            assert row[key] == pytest.approx(value), (login, key)
    listed = reports["successes"]["tables"][0]["rows"]
    assert [r["lead"]["text"] for r in listed] == ["L2", "L1"]
    funnel = [r["leads"] for r in reports["successes"]["tables"][2]["rows"]]
    assert funnel == EXPECTED["successes"]["funnel"]
    dialer = {f["key"]: f["value"] for f in reports["effectiveness"]["figures"]}
    for key, value in EXPECTED["effectiveness"].items():
        assert dialer[key] == pytest.approx(value), key
    async with client.get("/api/v1/projects/loans/reports/costs?from=2026-13-45&operator=nobody",
                          headers=auth) as response:  # fmt: skip
        assert response.status == 422
        problem = await response.json()
        assert {e["field"] for e in problem["errors"]} == {"from", "operator"}
    for query in ("from=yesterday", "to="):  # not a date at all: refused by the documented schema
        async with client.get(f"/api/v1/projects/loans/reports/costs?{query}", headers=auth) as response:
            assert response.status == 422, query
    other = {"Authorization": f"Bearer {ids['cards_token']}"}
    async with client.get("/api/v1/projects/loans/reports/costs", headers=other) as response:
        assert response.status == 403


async def test_a_supervisor_reads_filters_and_downloads_reports(served) -> None:
    client, _ids, _engine, _settings = served
    await _sign_in(client, "sveta", "sveta-secret-1")
    async with client.get(f"/reports/costs?{QUERY}", headers={"Accept-Language": "ru"}) as response:
        assert response.status == 200
        page = await response.text()
    assert "Расходы" in page and "7,45" in page and "Звонки по транкам и направлениям" in page
    async with client.get(f"/reports/operators?{QUERY}&operator=anna") as response:
        page = await response.text()
    assert 'data-chart="timeline"' in page and "/reports/calls/" in page
    async with client.get(f"/reports/costs?{QUERY}&format=xlsx") as response:
        assert response.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    totals = rows[-1]
    assert totals[-1] == pytest.approx(4.05)  # the calls' cost, summed as numbers
    async with client.get(f"/reports/successes?{QUERY}&format=csv") as response:
        text = await response.text()
    assert "L2" in text and "employer: ООО Ромашка" in text
    async with client.get(f"/reports/costs?project=loans&from={DAY}&to=2026-01-01") as response:
        assert response.status == 422  # the page says which filter is wrong and shows today instead
        assert "to: before" in await response.text()


async def test_operators_and_other_projects_supervisors_see_no_reports(served) -> None:
    client, ids, _engine, _settings = served
    await _sign_in(client, "anna", "anna-secret-1")
    for path in ("/reports", f"/reports/costs?{QUERY}", "/wallboard", f"/reports/calls/{ids['a1']}"):
        async with client.get(path, allow_redirects=False) as response:
            assert response.status == 403, path
    client.session.cookie_jar.clear()
    await _sign_in(client, "carl", "carl-password")
    for path in (f"/reports/costs?{QUERY}", f"/reports/calls/{ids['a1']}", "/wallboard?project=loans",
                 "/wallboard/events?project=loans"):  # fmt: skip
        async with client.get(path, allow_redirects=False) as response:
            assert response.status == 404, path


async def test_a_call_is_reviewed_and_a_target_set(served) -> None:
    client, ids, engine, _settings = served
    await _sign_in(client, "sveta", "sveta-secret-1")
    async with client.get(f"/reports/calls/{ids['a2']}") as response:
        page = await response.text()
    form = {"csrf": csrf_of(page), "verdict": "maybe", "note": "x"}
    async with client.post(f"/reports/calls/{ids['a2']}", data=form) as response:
        assert response.status == 422  # neither good nor bad: nothing saved, the page says why
    form |= {"verdict": "bad", "note": "did not confirm the address"}
    async with client.post(f"/reports/calls/{ids['a2']}", data=form) as response:
        assert response.status == 200
    async with reading(engine) as conn:
        verdicts = dict((await conn.execute(select(CALL_REVIEW.c.attempt_id, CALL_REVIEW.c.verdict))).all())
    assert verdicts == {ids["a1"]: "good", ids["a2"]: "bad"}
    target = {"csrf": form["csrf"], "project": "loans", "operator": "boris", "month": "2026-11",
              "calls": "150", "long_calls": "60"}  # fmt: skip
    async with client.post(f"/reports/targets?{QUERY}", data=target) as response:
        assert response.status == 200
    async with client.get(f"/api/v1/projects/loans/reports/operators?from={DAY}",
                          headers={"Authorization": f"Bearer {ids['token']}"}) as response:  # fmt: skip
        rows = {r["login"]: r for r in (await response.json())["tables"][1]["rows"]}
    assert rows["boris"]["target"].startswith("1/150") and rows["anna"]["bad"] == 1
    async with client.post("/reports/targets", data=target | {"calls": "ten"}) as response:
        assert response.status == 422


async def test_the_daily_summary_is_queued_once_after_its_time(served) -> None:
    client, _ids, engine, settings = served
    await _sign_in(client, "sveta", "sveta-secret-1")
    async with client.get(f"/reports/costs?{QUERY}") as response:
        token = csrf_of(await response.text())
    form = {"csrf": token, "project": "loans", "at": "08:00", "report": "costs", "action": "save"}
    async with client.post("/reports/summary", data=form) as response:
        assert response.status == 422  # sveta has no email address yet
    async with writing(engine) as conn:
        await conn.execute(
            update(OPERATOR).where(OPERATOR.c.login == "sveta").values(email="sveta@example.com")
        )
    async with client.post("/reports/summary", data=form) as response:
        assert response.status == 200
    mailer = SummaryMailer(engine, settings.channels, "http://dialer.example")
    assert await mailer.send_due(datetime(2026, 11, 11, 4, 59, tzinfo=UTC)) == 0  # 07:59 in Moscow
    assert await mailer.send_due(datetime(2026, 11, 11, 5, 1, tzinfo=UTC)) == 1
    assert await mailer.send_due(datetime(2026, 11, 11, 9, 0, tzinfo=UTC)) == 0  # sent today already
    async with reading(engine) as conn:
        sent = (await conn.execute(select(MESSAGE.c.subject, MESSAGE.c.body, MESSAGE.c.recipient))).all()
        last = (await conn.execute(select(SUMMARY_SUBSCRIPTION.c.last_sent_on))).scalar()
    ((subject, body, _to),) = [m for m in sent if m.recipient == "sveta@example.com"]
    assert subject == f"Сводка за {DAY}: Loans" and last == "2026-11-11"
    assert "Звонков: 6" in body and "Успешных заявок: 2" in body and "Расходы: 7.45" in body


async def test_the_wall_board_page_and_its_stream(served) -> None:
    client, _ids, _engine, _settings = served
    await _sign_in(client, "sveta", "sveta-secret-1")
    async with client.get("/wallboard?project=loans") as response:
        assert response.status == 200
        assert 'data-live="/wallboard/events?project=loans"' in await response.text()
    async with client.get("/wallboard/events?project=loans") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        data = None
        async for line in response.content:
            if line.startswith(b"data: "):
                data = json.loads(line[6:])
                break
    assert data is not None and {"operators", "campaigns", "trunks", "today_calls"} <= set(data)


async def test_a_campaign_whose_budget_is_spent_pauses_itself_and_does_not_start(served) -> None:
    client, ids, engine, _settings = served
    auth = {"Authorization": f"Bearer {ids['token']}"}
    async with client.put("/api/v1/projects/loans/campaigns/main", headers=auth,
                          json={"budget": 4.00}) as response:  # fmt: skip
        assert response.status == 200, await response.text()
    async with client.post("/api/v1/projects/loans/campaigns/main/start", headers=auth) as response:
        assert response.status == 409  # its calls cost 4.05 already
        assert "budget is spent (4.0500 of 4.00)" in (await response.json())["detail"]
    async with writing(engine) as conn:
        await conn.execute(update(CAMPAIGN).values(status="running", budget=Decimal("4.05")))
    assert await pause_the_spent(engine, [ids["campaign"]]) == {ids["campaign"]: "budget spent: 4.05 of 4.05"}
    async with client.get("/api/v1/projects/loans/campaigns/main", headers=auth) as response:
        campaign = await response.json()
    assert (campaign["status"], campaign["status_reason"]) == ("paused", "budget spent: 4.05 of 4.05")
    async with client.put("/api/v1/projects/loans/campaigns/main", headers=auth,
                          json={"budget": "x"}) as response:  # fmt: skip
        assert response.status == 422
