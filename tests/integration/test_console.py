"""The console over HTTP: CSRF, sessions, throttling, roles and projects kept apart, hostile lead
data, spreadsheet formulas, expired links, forms that refuse bad input and keep what was typed."""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import re
from datetime import timedelta

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from dialer.accounts import people
from dialer.accounts.people import Purpose, Role
from dialer.accounts.projects import project_by_slug
from dialer.config_channels import SmtpSettings
from dialer.leads import store
from dialer.runtime import create_app
from dialer.storage import create_engine, writing
from dialer.storage.tables import INVITATION
from dialer.storage.types import utcnow
from scripts_crm import store as scripts
from scripts_crm.model import FieldSet
from tests.integration.console_client import csrf_of
from tests.integration.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def console(aiohttp_client, tenants):
    engine = create_engine(tenants.settings.database)
    async with writing(engine) as conn:
        loans = await project_by_slug(conn, "loans")
        cards = await project_by_slug(conn, "cards")
        assert loans is not None and cards is not None
        await people.add_person(conn, "root", name="Root", role=Role.ADMIN, password="root-password")
        await people.add_person(conn, "olga", name="Olga", role=Role.SUPERVISOR, project_ids=[loans.id],
                                password="olga-password")  # fmt: skip
        await people.add_person(conn, "carl", name="Carl", role=Role.SUPERVISOR, project_ids=[cards.id],
                                password="carl-password")  # fmt: skip
        await people.add_person(conn, "anna", name="Anna", role=Role.OPERATOR, project_ids=[loans.id],
                                password="anna-password")  # fmt: skip
        data = {"note": '<img src=x onerror="alert(2)">', "formula": '=HYPERLINK("http://evil")'}
        hostile = {
            "external_id": "X-1",
            "name": "<script>alert(1)</script>",
            "phones": ["+79123456789"],
            "data": data,
        }
        await store.upsert_many(conn, loans, [hostile])
    await engine.dispose()
    jar = aiohttp.CookieJar(unsafe=True)
    client = await aiohttp_client(create_app(tenants.settings), cookie_jar=jar)
    return client


async def _sign_in(client, login: str, password: str, *, status: int = 200) -> str:
    async with client.get("/sign-in") as response:
        token = csrf_of(await response.text())
    async with client.post(
        "/sign-in", data={"login": login, "password": password, "csrf": token}
    ) as response:
        assert response.status == status, await response.text()
        return await response.text()


async def test_a_forged_form_without_the_token_is_refused(console) -> None:
    await _sign_in(console, "olga", "olga-password")
    async with console.post("/projects/loans/campaigns", data={"name": "forged", "mode": "predictive"}) as r:
        assert r.status == 403
    async with console.post("/projects/loans/campaigns", data={"name": "x", "csrf": "wrong"}) as r:
        assert r.status == 403
    async with console.get("/projects/loans/campaigns") as r:
        assert "forged" not in await r.text()
    async with console.post("/sign-in", data={"login": "olga", "password": "olga-password"}) as r:
        assert r.status == 403  # even the sign-in form carries its token


async def test_hostile_lead_data_is_shown_as_text_and_headers_forbid_inline_script(console) -> None:
    await _sign_in(console, "olga", "olga-password")
    async with console.get("/projects/loans/leads/X-1") as r:
        page = await r.text()
        policy = r.headers["Content-Security-Policy"]
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "onerror=&#34;alert(2)&#34;" in page
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    async with console.get("/projects/loans/leads?name=script") as r:
        assert "&lt;script&gt;" in await r.text()


async def test_rejected_rows_download_neutralises_spreadsheet_formulas(console) -> None:
    await _sign_in(console, "olga", "olga-password")
    async with console.get("/projects/loans/leads") as r:
        token = csrf_of(await r.text())
    body = 'external_id,phone,name\n=1+2,12,=HYPERLINK("http://evil")\nOK-1,+79123456780,Fine\n'
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("file", body.encode(), filename="leads.csv", content_type="text/csv")
    async with console.post("/projects/loans/leads/upload", data=form) as r:
        page = await r.text()
    assert "создано 1" in page and "отклонено 1" in page
    async with console.get("/projects/loans/leads/rejected.csv") as r:
        rejected = await r.text()
    assert "'=1+2" in rejected and "'=HYPERLINK" in rejected
    assert ",=" not in rejected.replace("'=", "")


async def test_people_of_another_project_see_nothing_of_it(console) -> None:
    await _sign_in(console, "carl", "carl-password")
    paths = ("/projects/loans/campaigns", "/projects/loans/leads", "/projects/loans/leads/X-1",
             "/projects/loans/settings", "/projects/loans/tokens",
             "/projects/loans/leads/rejected.csv")  # fmt: skip
    for path in paths:
        async with console.get(path) as r:
            assert r.status == 404, path
            assert "Loans" not in await r.text() and "alert" not in await r.text()
    async with console.get("/people") as r:
        text = await r.text()
    assert "olga" not in text and "anna" not in text  # people of loans are not his to see
    async with console.get("/trunks") as r:
        assert r.status == 403


async def test_an_operator_has_no_supervisor_pages(console) -> None:
    await _sign_in(console, "anna", "anna-password")
    for path in ("/people", "/trunks", "/projects/loans/settings", "/projects/loans/tokens"):
        async with console.get(path) as r:
            assert r.status in (403, 404), path
    async with console.get("/projects/loans/leads") as r:
        assert r.status == 200 and "Upload leads" not in await r.text()
    for path in ("/projects/cards/leads", "/projects/cards/campaigns"):  # another project's
        async with console.get(path) as r:
            assert r.status == 404, path


async def test_an_admin_creates_a_project(console) -> None:
    await _sign_in(console, "root", "root-password")
    async with console.get("/") as r:
        token = csrf_of(await r.text())
    bad = {"csrf": token, "slug": "Bad Slug!", "name": "X", "region": "ZZ"}
    async with console.post("/projects", data=bad) as r:
        page = html.unescape(await r.text())
        assert r.status == 422 and "region 'ZZ'" in page and "Bad Slug!" not in page.split("<main>")[0]
    good = {"csrf": token, "slug": "mortgages", "name": "Ипотека", "region": "RU", "time_zone": "Asia/Omsk",
            "calling_window": "ru-230fz"}  # fmt: skip
    async with console.post("/projects", data=good) as r:
        assert r.status == 200 and str(r.url).endswith("/projects/mortgages/settings")
        assert "Asia/Omsk" in await r.text()
    async with console.post("/projects", data=good) as r:
        assert r.status == 422 and "already exists" in await r.text()


async def test_wrong_passwords_are_throttled_without_telling_whether_the_login_exists(console) -> None:
    answers = set()
    for _ in range(5):
        answers.add(await _sign_in(console, "olga", "wrong-password", status=401))
    unknown = await _sign_in(console, "nobody", "wrong-password", status=401)
    assert "Неверный логин или пароль." in unknown and "Неверный логин или пароль." in answers.pop()
    throttled = await _sign_in(console, "olga", "olga-password", status=429)
    assert "Попробуйте через" in throttled


async def test_sign_out_everywhere_ends_every_session(console) -> None:
    await _sign_in(console, "olga", "olga-password")
    base = str(console.make_url("/")).rstrip("/")
    other = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    await _sign_in(other, "olga", "olga-password")
    async with console.get("/") as r:
        token = csrf_of(await r.text())
    async with console.post("/sign-out-everywhere", data={"csrf": token}) as r:
        assert "/sign-in" in str(r.url)
    async with other.get("/projects/loans/campaigns") as r:
        assert "/sign-in" in str(r.url)
    await other.close()


async def test_an_expired_invitation_link_says_so(console, tenants) -> None:
    engine = create_engine(tenants.settings.database)
    async with writing(engine) as conn:
        loans = await project_by_slug(conn, "loans")
        assert loans is not None
        person = await people.add_person(
            conn, "vera", name="Vera", role=Role.OPERATOR, email="vera@example.net", project_ids=[loans.id]
        )
        token = await people.issue_link(conn, person.id, Purpose.INVITE)
        await conn.execute(update(INVITATION).values(expires_at=utcnow() - timedelta(hours=1)))
    await engine.dispose()
    async with console.get(f"/invitation/{token}") as r:
        page = await r.text()
    assert r.status == 410 and "this link expired" in page


async def test_bad_settings_are_refused_and_what_was_typed_stays(console) -> None:
    await _sign_in(console, "olga", "olga-password")
    async with console.get("/projects/loans/settings") as r:
        token = csrf_of(await r.text())
    form = {"csrf": token, "name": "Loans", "region": "XX", "time_zone": "Mars/Base",
            "calling_window": "ru-230fz", "caps": "day=0", "holidays": "not-a-date"}  # fmt: skip
    async with console.post("/projects/loans/settings", data=form) as r:
        page = html.unescape(await r.text())
        assert r.status == 422
    assert "region 'XX'" in page and "Mars/Base" in page and "cap 'day=0'" in page and "not-a-date" in page
    async with console.post("/projects/loans/campaigns", data={"csrf": token, "name": "main"}) as r:
        assert r.status == 200
    form = {"csrf": token, "settings_form": "1", "abandon_target": "50", "ring_timeout": "5"}
    async with console.post("/projects/loans/campaigns/main", data=form) as r:
        page = await r.text()
        assert r.status == 422
    assert "abandon_target" in page and "ring_timeout" in page


async def test_a_forgotten_password_is_reset_by_email(aiohttp_client, tenants) -> None:
    letters: list = []

    class Box:
        async def handle_DATA(self, server, session, envelope) -> str:
            letters.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    port = free_port()
    controller = Controller(Box(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = SmtpSettings(kind="smtp", host="127.0.0.1", port=port, security="none",
                               from_address="console@example.net")  # fmt: skip
        settings = tenants.settings.model_copy(update={"channels": {"mail": channel}})
        engine = create_engine(settings.database)
        async with writing(engine) as conn:
            loans = await project_by_slug(conn, "loans")
            assert loans is not None
            await people.add_person(conn, "olga", name="Olga", role=Role.SUPERVISOR, email="olga@example.net",
                                    project_ids=[loans.id], password="old-password")  # fmt: skip
        await engine.dispose()
        client = await aiohttp_client(create_app(settings), cookie_jar=aiohttp.CookieJar(unsafe=True))
        answers = []
        for address in ("nobody@example.net", "OLGA@example.net"):
            async with client.get("/password/forgot") as r:
                token = csrf_of(await r.text())
            async with client.post("/password/forgot", data={"email": address, "csrf": token}) as r:
                answers.append(await r.text())
        assert answers[0] == answers[1]  # the same words whether or not the address is known
        for _ in range(100):
            if letters:
                break
            await asyncio.sleep(0.05)
        (letter,) = letters
        assert str(letter["To"]) == "olga@example.net"
        link = re.search(r"http://\S+(/password/reset/\S+)", letter.get_body(("plain",)).get_content())
        assert link is not None
        async with client.get(link[1]) as r:
            token = csrf_of(await r.text())
        form = {"password": "new-password", "again": "new-password", "csrf": token}
        async with client.post(link[1], data=form) as r:
            assert r.status == 200 and "/sign-in" not in str(r.url)
        async with client.get(link[1]) as r:
            assert r.status == 410 and "used already" in await r.text()
    finally:
        controller.stop()
    await _sign_in(client, "olga", "old-password", status=401)


async def test_the_leads_export_carries_answers_and_neutralises_formulas(console, tenants) -> None:
    engine = create_engine(tenants.settings.database)
    async with writing(engine) as conn:
        loans = await project_by_slug(conn, "loans")
        assert loans is not None
        fields = FieldSet.model_validate(
            {"fields": [{"name": "employer", "type": "text", "label": {"ru": "Работа"}}]}
        )
        await scripts.save_fields(conn, loans.id, fields)
        lead_id = await scripts.lead_id_of(conn, loans.id, "X-1")
        await scripts.record_answers(conn, lead_id, {"employer": "=cmd|'/c calc'!A1"}, author="anna")
    await engine.dispose()
    await _sign_in(console, "olga", "olga-password")
    async with console.get("/projects/loans/leads/export.csv?status=new") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
        text = (await r.read()).decode("utf-8-sig")
    header, row = text.splitlines()[:2]
    assert header == "external_id,name,phones,status,campaign,attempts,created_at,employer"
    assert "X-1" in row and "'=cmd" in row and ",=" not in row
    await _sign_in(console, "carl", "carl-password")
    async with console.get("/projects/loans/leads/export.csv") as r:
        assert r.status == 404
