# ruff: noqa: RUF001  (Russian labels)
"""The reports and the wall-board in Chromium (Playwright, Debian's chromium) against a real
``dialer serve``: a supervisor opens each report, filters it, sees its chart, downloads the XLSX and
reads it back, reviews a call; and the wall-board follows the demo call centre as it dials."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import update

from dialer.config import DatabaseSettings
from dialer.storage import create_engine, upgrade, writing
from dialer.storage.tables import OPERATOR
from tests.integration.report_history import DAY, make_history
from tests.integration.servers import dialer_serve, free_port, until_healthy
from tests.integration.test_demo import start_demo

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture
async def history_server(tmp_path: Path):
    http = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"""
[server]
port = {http}
[database]
path = "{tmp_path / "dialer.sqlite3"}"
[sip]
enabled = false
""")
    engine = create_engine(DatabaseSettings(path=tmp_path / "dialer.sqlite3"))
    await upgrade(engine)
    await make_history(engine)
    async with writing(engine) as conn:
        await conn.execute(update(OPERATOR).where(OPERATOR.c.login == "sveta").values(locale="en"))
    await engine.dispose()
    async with dialer_serve(config, tmp_path / "serve.log") as base:
        yield base, tmp_path
    text = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in text, text[-3000:]


async def _sign_in(page: Page, base: str, login: str, password: str) -> None:
    await page.goto(f"{base}/sign-in")
    await page.get_by_label(re.compile("^(Login|Логин)$")).fill(login)
    await page.get_by_label(re.compile("^(Password|Пароль)$")).fill(password)
    await page.get_by_role("button", name=re.compile("^(Sign in|Войти)$")).click()
    await page.wait_for_load_state()


async def test_a_supervisor_opens_filters_downloads_and_reviews(history_server, tmp_path: Path) -> None:
    base, _tmp = history_server
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        page = await context.new_page()
        await _sign_in(page, base, "sveta", "sveta-secret-1")
        await page.get_by_role("link", name="Reports", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Dialer effectiveness")
        await page.get_by_label("First day").fill(DAY)
        await page.get_by_label("Last day").fill(DAY)
        await page.get_by_role("button", name="Show").click()
        figure = page.locator(".figure", has_text="Calls placed").locator(".value")
        await expect(figure).to_have_text("6")
        await expect(page.locator('[data-chart="heatmap"] rect').first).to_be_visible()
        await page.screenshot(path=str(SHOTS / "reports-effectiveness.png"), full_page=False)

        await page.get_by_role("link", name="Costs", exact=True).click()
        await expect(page.locator(".figure", has_text="Total cost").locator(".value")).to_have_text("7.45")
        assert (
            await page.locator('[data-chart="by_day"] rect').count() >= 3
        )  # calls, SMS (email cost nothing)
        await page.screenshot(path=str(SHOTS / "reports-costs.png"), full_page=False)
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="XLSX").click()
        download = await waiting.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        book = openpyxl.load_workbook(saved)
        calls = list(book.worksheets[0].iter_rows(values_only=True))
        assert calls[0][:3] == ("Trunk", "Direction (tariff prefix)", "Calls")
        assert calls[-1][0] == "Total" and calls[-1][2] == 6 and calls[-1][-1] == pytest.approx(4.05)

        await page.get_by_role("link", name="Operator statistics", exact=True).click()
        await page.get_by_label("Operator", exact=True).select_option("anna")
        await page.get_by_role("button", name="Show").click()
        await expect(page.locator('[data-chart="timeline"] rect').first).to_be_visible()
        await expect(page.locator('[data-table="time"] tbody tr')).to_have_count(1)
        await page.screenshot(path=str(SHOTS / "reports-operators.png"), full_page=True)

        await page.get_by_role("link", name="Successful applications", exact=True).click()
        await expect(page.locator('[data-table="list"] tbody tr')).to_have_count(2)
        await page.get_by_role("link", name="Listen and mark").first.click()
        await page.get_by_label("bad").check()
        await page.get_by_label("Note for the operator").fill("Did not confirm the employer")
        await page.get_by_role("button", name="Save the mark").click()
        await expect(page.get_by_role("status")).to_have_text("Saved.")
        await page.screenshot(path=str(SHOTS / "reports-review.png"), full_page=False)
        await browser.close()


async def test_the_wall_board_follows_the_demo_and_its_reports_fill(tmp_path: Path) -> None:
    demo, _config, http, log = await start_demo(tmp_path)
    base = f"http://127.0.0.1:{http}"
    try:
        await until_healthy(base, 60)
        admin = None
        deadline = time.monotonic() + 30
        while admin is None and time.monotonic() < deadline:
            admin = re.search(r"sign in as admin, password (\S+) \(shown once\)", log.read_text())
            await asyncio.sleep(0.5)
        assert admin is not None, log.read_text()[-2000:]
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
            page = await context.new_page()
            await _sign_in(page, base, "admin", admin[1])
            await page.get_by_role("link", name="Табло", exact=True).click()
            await expect(page.get_by_text("обновляется")).to_be_visible(timeout=10_000)
            calls_today = page.locator(".figure", has_text="Звонков сегодня").locator(".value")
            first = await calls_today.text_content()
            await expect(calls_today).not_to_have_text(first or "", timeout=30_000)  # pushed, not reloaded
            await expect(page.locator('[data-rows="operators"] tr:not(.empty)').first).to_be_visible()
            await expect(page.locator('[data-rows="campaigns"] .reason').first).not_to_be_empty()
            await page.screenshot(path=str(SHOTS / "wallboard-demo.png"), full_page=False)
            await page.get_by_role("link", name="Отчёты", exact=True).click()
            placed = page.locator(".figure", has_text="Набрано").locator(".value")
            await expect(placed).not_to_have_text("0")
            await page.get_by_role("link", name="Статистика операторов", exact=True).click()
            await expect(page.locator('[data-table="time"] tbody tr').first).not_to_contain_text(
                "За этот период"
            )
            await page.screenshot(path=str(SHOTS / "reports-operators-demo-ru.png"), full_page=False)
            await browser.close()
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(demo.wait, 90)
        except subprocess.TimeoutExpired:
            demo.kill()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
