# ruff: noqa: RUF001  (the supervisor works in Russian)
"""The script editor in Chromium: a supervisor builds a script with three answers, sees the diagram
and the highlighted problem, fixes it (the diagram follows the typing), saves it, tries it as an
operator would, and finds the new version in the history."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import async_playwright, expect

from dialer.accounts import people
from dialer.accounts.people import Role
from dialer.accounts.projects import project_by_slug
from dialer.leads import store as leads
from dialer.runtime import create_app
from dialer.storage import create_engine, writing

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
async def base(aiohttp_server, tenants) -> str:
    engine = create_engine(tenants.settings.database)
    async with writing(engine) as conn:
        loans = await project_by_slug(conn, "loans")
        assert loans is not None
        await people.add_person(conn, "olga", name="Ольга", role=Role.SUPERVISOR, project_ids=[loans.id],
                                password="olga-password")  # fmt: skip
        await leads.upsert_many(
            conn, loans, [{"external_id": "A-1", "name": "Пётр Сидоров", "phones": ["+79123456789"]}]
        )
    await engine.dispose()
    server = await aiohttp_server(create_app(tenants.settings))
    return str(server.make_url("")).rstrip("/")


async def test_build_check_fix_save_and_try_a_script(base: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await (
            await browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
        ).new_page()
        await page.goto(base + "/sign-in")
        await page.get_by_label("Логин").fill("olga")
        await page.get_by_label("Пароль").fill("olga-password")
        await page.get_by_role("button", name="Войти").click()
        await page.goto(base + "/projects/loans/scripts")
        await page.get_by_label("Название скрипта").fill("intro")
        await page.get_by_role("button", name="Открыть редактор").click()

        await page.get_by_label("Вид", exact=True).select_option("question")
        await page.get_by_label("Текст (по-русски)").fill("Здравствуйте, {{ lead.name }}! Удобно говорить?")
        await page.get_by_label("Ответы").fill("yes | Да | done\nno | Нет | later\nmaybe | Не знаю | nowhere")
        await page.get_by_role("button", name="Добавить шаг").click()
        await page.get_by_role("button", name="Добавить шаг").click()
        await page.locator("#s1-id").fill("done")
        await page.locator("#s1-kind").select_option("end")
        await page.locator("#s1-disposition").fill("completed")
        await page.locator("#s2-id").fill("later")
        await page.locator("#s2-kind").select_option("end")
        await page.locator("#s2-disposition").fill("callback")
        await page.get_by_role("button", name="Проверить и перерисовать").click()
        await expect(page.get_by_text("leads to 'nowhere', which is not a step")).to_be_visible()
        await expect(page.locator('g.node.problem[data-step="start"]')).to_have_count(1)
        await expect(page.locator("g.node")).to_have_count(3)
        await page.screenshot(path="/tmp/editor-problem.png")

        await page.locator("#s0-answers").fill("yes | Да | done\nno | Нет | later\nmaybe | Не знаю | later")
        await expect(page.get_by_text("Проблем нет: скрипт можно сохранить.")).to_be_visible(timeout=5000)
        await expect(page.locator("g.node.problem")).to_have_count(0)
        await page.get_by_label("Что изменено").fill("первая версия")
        await page.get_by_role("button", name="Сохранить новую версию").click()
        await expect(page.get_by_text("Сохранено как версия 1.")).to_be_visible()
        await page.screenshot(path="/tmp/editor-saved.png", full_page=True)

        await page.get_by_role("link", name="Проверить в работе").click()
        await expect(page.get_by_text("Здравствуйте, Пётр Сидоров! Удобно говорить?")).to_be_visible()
        await page.get_by_role("link", name="Не знаю").click()
        await expect(page.get_by_role("heading", name=re.compile("Конец"))).to_be_visible()
        await expect(page.get_by_text("later")).to_be_visible()
        await page.get_by_role("link", name=re.compile("Назад$")).click()
        await page.get_by_role("link", name="Да", exact=True).click()
        await expect(page.get_by_role("heading", name="Конец: заявка дозаполнена")).to_be_visible()

        await page.get_by_role("link", name="Назад в редактор").click()
        await page.locator("#s0-text_ru").fill("Добрый день, {{ lead.name }}! Удобно говорить?")
        await page.get_by_role("button", name="Сохранить новую версию").click()
        await expect(page.get_by_text("Сохранено как версия 2.")).to_be_visible()
        await expect(page.get_by_role("button", name="Вернуть версию 1")).to_be_visible()
        await page.get_by_role("link", name="Что изменилось в 2").click()
        await expect(page.get_by_text("~ step start")).to_be_visible()
        await page.get_by_role("link", name="Назад в редактор").click()
        await page.get_by_role("button", name="Вернуть версию 1").click()
        await expect(page.get_by_text("Сохранено как версия 3.")).to_be_visible()
        await expect(page.locator("#s0-text_ru")).to_have_value(
            "Здравствуйте, {{ lead.name }}! Удобно говорить?"
        )
        await browser.close()
