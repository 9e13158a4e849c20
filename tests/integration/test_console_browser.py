"""The web console in Chromium (Playwright, Debian's chromium) against a real ``dialer serve``:
an admin invites people from a CSV file, the invitations arrive at aiosmtpd, a supervisor accepts
hers, signs in, creates a campaign, uploads leads, starts it and watches the live view move (the
simulated carrier, a virtual operator who accepted his invitation too); a supervisor of another
project sees none of it, whatever URL he types."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, Page, async_playwright, expect

from dialer.demo.operators import OperatorBot, VirtualPhone
from dialer.voice.carrier import Voices
from sip.streams.clock import MediaClock
from tests.integration.servers import dialer_serve, free_port
from tests.integration.test_engine_acceptance import DIALER, cli

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
LINK = re.compile(r"(http://\S+/invitation/\S+)")


class Inbox:
    def __init__(self) -> None:
        self.letters: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.letters.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def link_for(self, address: str) -> str:
        for letter in self.letters:
            if address in str(letter["To"]):
                found = LINK.search(letter.get_body(("plain",)).get_content())
                assert found is not None
                return found[1]
        raise AssertionError(f"no letter to {address}: {[str(m['To']) for m in self.letters]}")


@pytest.fixture
def inbox():
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
async def server(tmp_path: Path, inbox):
    _, smtp_port = inbox
    http, sip = free_port(), free_port(socket.SOCK_DGRAM)
    config = tmp_path / "config.toml"
    config.write_text(f"""
[server]
port = {http}
[database]
path = "dialer.sqlite3"
[sip]
port = {sip}
[recordings]
directory = "recordings"
[channels.mail]
kind = "smtp"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_address = "console@example.net"
[trunks.simulated]
kind = "simulated"
max_channels = 20
[trunks.simulated.simulate]
busy = 0.0
no_answer = 0.0
invalid = 0.0
congestion = 0.0
machine = 0.0
post_dial_delay = [0.1, 0.3]
ring = [0.5, 1.0]
talk = [5.0, 10.0]
""")
    await asyncio.to_thread(cli, config, "migrate")
    for slug, name in (("loans", "Займы"), ("cards", "Карты")):
        await asyncio.to_thread(
            cli, config, "project", "create", slug, "--name", name, "--window", "any-hour"
        )
    command = [*DIALER, "--config", str(config), "user", "add", "root", "--role", "admin", "--password-stdin"]
    done = await asyncio.to_thread(
        subprocess.run, command, input="root-password\n", capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    async with dialer_serve(config, tmp_path / "serve.log") as base:
        yield base, sip, tmp_path
    text = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in text, text[-3000:]


async def _accept(browser: Browser, link: str, password: str, locale: str) -> Page:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale=locale)
    page = await context.new_page()
    await page.goto(link)
    russian = locale.startswith("ru")
    new, again = (
        ("Новый пароль", "Пароль ещё раз") if russian else ("New password", "The same password again")
    )
    await page.get_by_label(new).fill(password)
    await page.get_by_label(again).fill(password)
    submit = "Сохранить пароль и войти" if russian else "Set password and sign in"
    await page.get_by_role("button", name=submit).click()
    await page.wait_for_url(re.compile(r"/(work)?$"))  # operators land on their workplace
    return page


async def test_invite_accept_create_upload_start_and_watch_while_others_see_nothing(
    server, inbox, tmp_path
) -> None:
    base, sip_port, tmp = server
    box, _ = inbox
    shots = tmp / "screenshots"
    shots.mkdir()
    people = tmp / "people.csv"
    people.write_text(
        "name;email;role;projects\n"
        "Ольга Смирнова;olga@example.net;supervisor;loans\n"
        "Карл Кузнецов;carl@example.net;supervisor;cards\n"
        "Анна Попова;anna@example.net;operator;loans\n"
        "Без адреса;;operator;loans\n",
        encoding="utf-8",
    )
    leads = tmp / "leads.csv"
    leads.write_text("external_id,name,phone,amount\n" + "".join(
        f"L-{i},Клиент {i},+7900{i:07d},{10000 + i}\n" for i in range(1, 31)
    ) + "L-bad,Без номера,12,1\n", encoding="utf-8")  # fmt: skip

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        admin = await (
            await browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
        ).new_page()
        await admin.goto(base + "/")
        await expect(admin.get_by_role("heading", name="Sign in")).to_be_visible()
        await admin.get_by_label("Login").fill("root")
        await admin.get_by_label("Password").fill("root-password")
        await admin.get_by_role("button", name="Sign in").click()
        await admin.get_by_role("link", name="People").click()
        await admin.get_by_label("CSV file of people").set_input_files(str(people))
        await admin.get_by_role("button", name="Send invitations").click()
        await expect(admin.get_by_text("Invitations sent: 3.")).to_be_visible()
        await expect(admin.get_by_text("line 5: email: needed to send the invitation")).to_be_visible()
        await admin.screenshot(path=str(shots / "people.png"))
        for _ in range(100):
            if len(box.letters) >= 3:
                break
            await asyncio.sleep(0.1)
        assert sorted(str(m["To"]) for m in box.letters) == [
            "anna@example.net",
            "carl@example.net",
            "olga@example.net",
        ]

        olga = await _accept(browser, box.link_for("olga@example.net"), "olga-password", "ru-RU")
        await expect(olga.get_by_role("link", name="Займы")).to_be_visible()
        await expect(olga.get_by_role("link", name="Карты")).to_have_count(0)
        await olga.get_by_role("link", name="Займы").click()
        await olga.get_by_label("Название кампании").fill("incomplete")
        await olga.get_by_label("Режим").select_option("progressive")
        await olga.get_by_role("button", name="Создать кампанию").click()
        await expect(olga.get_by_role("heading", name=re.compile("Кампания incomplete"))).to_be_visible()
        await olga.get_by_role("link", name="Заявки").click()
        await olga.get_by_label("CSV-файл", exact=True).set_input_files(str(leads))
        await olga.get_by_label("Кампания для строк без кампании").select_option("incomplete")
        await olga.get_by_role("button", name="Загрузить заявки").click()
        await expect(olga.get_by_text("создано 30")).to_be_visible()
        await expect(olga.get_by_text("отклонено 1")).to_be_visible()
        await olga.screenshot(path=str(shots / "leads-upload.png"))

        # The operator accepts his invitation and works from a (virtual) softphone.
        anna_page = await _accept(browser, box.link_for("anna@example.net"), "anna-password", "ru-RU")
        await anna_page.close()
        phone = VirtualPhone("anna", "anna-password", ("127.0.0.1", sip_port), MediaClock(), Voices.load())
        await phone.start()
        http = aiohttp.ClientSession()
        bot = asyncio.create_task(OperatorBot("anna", "anna-password", base, phone).run(http))
        try:
            await olga.get_by_role("link", name="Кампании").click()
            await olga.get_by_role("link", name="incomplete").click()
            await olga.get_by_role("button", name="Запустить").click()
            await expect(olga.get_by_text("обновляется в реальном времени")).to_be_visible(timeout=10_000)
            placed = olga.locator('[data-field="launched"]')
            await expect(placed).not_to_have_text("0", timeout=30_000)
            await expect(olga.locator('[data-rows="operators"]')).to_contain_text("anna", timeout=10_000)
            await olga.screenshot(path=str(shots / "campaign-live.png"))
        finally:
            bot.cancel()
            await asyncio.gather(bot, return_exceptions=True)
            await http.close()
            await phone.stop()

        carl = await _accept(browser, box.link_for("carl@example.net"), "carl-password", "ru-RU")
        await expect(carl.get_by_role("link", name="Карты")).to_be_visible()
        await expect(carl.get_by_role("link", name="Займы")).to_have_count(0)
        paths = ("/projects/loans/campaigns", "/projects/loans/campaigns/incomplete", "/projects/loans/leads",
                 "/projects/loans/leads/L-1", "/projects/loans/settings", "/projects/loans/tokens",
                 "/projects/loans/recordings/1", "/projects/nope/leads")  # fmt: skip
        for path in paths:
            response = await carl.goto(base + path)
            assert response is not None and response.status == 404, path
            body = await carl.content()
            assert "Клиент 1" not in body and "Займы" not in body and "progressive" not in body, path
        response = await carl.request.get(base + "/projects/loans/campaigns/incomplete/live")
        assert response.status == 404
        response = await carl.goto(base + "/trunks")
        assert response is not None and response.status == 403
        await carl.screenshot(path=str(shots / "not-yours.png"))
        await browser.close()
