# ruff: noqa: RUF001  (Russian names and addresses: Cyrillic letters are the point)
"""The demo call centre's data: a project of loan applications, its campaigns and operators.

:func:`seed` makes (once; again after :func:`reset`) the project «Займы — демо» (``zaimy-demo``,
flagged ``demo``), a predictive campaign and a callback campaign, a project token, ten virtual
operators (``demo-op01`` ...) and one operator account for a person (``operator``), all flagged
``demo``, and a few hundred leads: Russian names in several time zones, each an incomplete loan
application (number, date, amount, address and the fields still missing). Numbers are made up and
the demo dials them only through the built-in simulated carrier. :func:`reset` removes every demo row
(the project's campaigns, leads and calls go with it).
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer import campaigns
from dialer.accounts import people
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import ProjectRef, create_project, project_by_slug
from dialer.accounts.tokens import create_token
from dialer.leads import store
from dialer.storage import writing
from dialer.storage.tables import CAMPAIGN, OPERATOR, PROJECT
from dialer.storage.types import utcnow
from scripts_crm import store as scripts
from sms_email import store as messages
from sms_email.schema import TemplateBody

SLUG = "zaimy-demo"
NAME = "Займы — демо"
VIRTUAL = [f"demo-op{n:02d}" for n in range(1, 11)]
PERSON = "operator"
ADMIN = "admin"
FIRST = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Татьяна", "Светлана", "Иван", "Алексей",
         "Дмитрий", "Сергей", "Андрей", "Михаил", "Николай", "Павел"]  # fmt: skip
LAST = [("Иванов", "Иванова"), ("Смирнов", "Смирнова"), ("Кузнецов", "Кузнецова"), ("Попов", "Попова"),
        ("Васильев", "Васильева"), ("Петров", "Петрова"), ("Соколов", "Соколова"),
        ("Морозов", "Морозова")]  # fmt: skip
PLACES = [("Москва", "Europe/Moscow"), ("Калининград", "Europe/Kaliningrad"), ("Самара", "Europe/Samara"),
          ("Екатеринбург", "Asia/Yekaterinburg"), ("Новосибирск", "Asia/Novosibirsk"),
          ("Красноярск", "Asia/Krasnoyarsk"), ("Иркутск", "Asia/Irkutsk"),
          ("Владивосток", "Asia/Vladivostok")]  # fmt: skip
STREETS = ["ул. Ленина", "ул. Мира", "пр. Победы", "ул. Садовая", "ул. Гагарина", "ул. Советская"]
MISSING = ["паспорт: кем выдан", "место работы", "доход в месяц", "адрес регистрации", "СНИЛС"]
FEMALE = {"Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Татьяна", "Светлана"}


@dataclass(frozen=True)
class Demo:
    """What the demo made; the passwords and the token are shown once, when it is made."""

    project: ProjectRef
    token: str | None  # None when the demo existed already (the token was shown then)
    person_password: str | None
    virtual_password: str
    created: bool
    admin_password: str | None = None  # None when the demo's admin existed already


def virtual_password(project_id: int) -> str:
    """The virtual operators' password: derived, so a restarted demo can sign them in again."""
    return f"demo-{project_id}-virtual-operators"


def lead(n: int, rng: random.Random) -> dict[str, object]:
    first = rng.choice(FIRST)
    last = rng.choice(LAST)[1 if first in FEMALE else 0]
    city, zone = rng.choice(PLACES)
    applied = utcnow() - timedelta(hours=rng.uniform(1, 72))
    missing = rng.sample(MISSING, rng.randint(1, 3))
    return {
        "external_id": f"DEMO-{n:05d}",
        "phones": [f"+7900{n:07d}"],  # made up: only the simulated carrier ever sees them
        "name": f"{first} {last}",
        "time_zone": zone,
        "campaign": "predictive",
        "data": {
            "application": f"З-{2026_000 + n}",
            "applied_at": applied.strftime("%Y-%m-%d %H:%M"),
            "amount": rng.choice([5000, 10000, 15000, 20000, 30000, 50000]),
            "address": f"г. {city}, {rng.choice(STREETS)}, д. {rng.randint(1, 99)}, кв. {rng.randint(1, 99)}",
            "missing": missing,
            **({"email": f"client{n:05d}@example.net"} if n % 2 else {}),
        },
    }


# What the virtual operators' answers send (through the demo's local SMS gateway and mailbox).
TEMPLATES = {
    "finish-link": TemplateBody(
        medium="sms",
        body="{{ lead.name }}, завершите заявку {{ lead.data.application }}: "
        "https://zaimy.example/a/{{ lead.external_id }}",
    ),
    "callback-sms": TemplateBody(
        medium="sms",
        body="{{ lead.name }}, перезвоним вам по заявке {{ lead.data.application }}. {{ project.name }}",
    ),
    "documents-email": TemplateBody(
        medium="email",
        subject="Заявка {{ lead.data.application }}: что осталось заполнить",
        body="Здравствуйте, {{ lead.name }}!\n\nПо заявке {{ lead.data.application }} на "
        "{{ lead.data.amount }} ₽ осталось указать:\n{% for item in lead.data.missing %}- {{ item }}\n"
        "{% endfor %}\nОператор: {{ operator.name }}\n{{ project.name }}",
        html="<p>Здравствуйте, {{ lead.name }}!</p><p>По заявке <b>{{ lead.data.application }}</b> "
        "осталось указать:</p><ul>{% for item in lead.data.missing %}<li>{{ item }}</li>{% endfor %}</ul>",
    ),
}


async def ensure_templates(conn: AsyncConnection, project_id: int) -> None:
    """The demo's message templates, made when missing (a demo seeded before they existed gets them)."""
    have = {t.name for t in await messages.list_templates(conn, project_id)}
    for name, template in TEMPLATES.items():
        if name not in have:
            await messages.save_template(conn, project_id, name, template)


async def seed(db: AsyncEngine, *, leads: int = 400, seed_value: int = 2026) -> Demo:
    """Make the demo's rows unless they exist; start its predictive campaign either way."""
    async with writing(db) as conn:
        project = await project_by_slug(conn, SLUG)
        created = project is None
        token = person_password = None
        if project is None:
            project = await create_project(conn, SLUG, name=NAME, window="any-hour")
            await conn.execute(update(PROJECT).where(PROJECT.c.id == project.id).values(demo=True))
            token = await create_token(conn, project.id, "demo")
            await campaigns.put(conn, project, "predictive", campaigns.CampaignIn(
                mode=campaigns.CampaignMode.PREDICTIVE, ring_timeout=20.0, wrap_up=5.0, max_attempts=3,
                calling_window="any-hour", amd=True, amd_sample=0.1))  # fmt: skip
            await campaigns.put(conn, project, "callbacks", campaigns.CampaignIn(
                mode=campaigns.CampaignMode.CALLBACK, ring_timeout=20.0, wrap_up=5.0,
                calling_window="any-hour", callback_grace=120))  # fmt: skip
            password = virtual_password(project.id)
            for login in VIRTUAL:
                await add_operator(conn, login, name=f"Демо-оператор {login[-2:]}", password=password,
                                   project_ids=[project.id])  # fmt: skip
            existing = (await conn.execute(select(OPERATOR.c.id).where(OPERATOR.c.login == PERSON))).first()
            if existing is None:
                person_password = secrets.token_urlsafe(9)
                await add_operator(conn, PERSON, name="Оператор (человек)", password=person_password,
                                   project_ids=[project.id])  # fmt: skip
            await conn.execute(
                update(OPERATOR).where(OPERATOR.c.login.in_([*VIRTUAL, PERSON])).values(demo=True)
            )
            rng = random.Random(seed_value)
            await store.upsert_many(conn, project, [lead(n, rng) for n in range(1, leads + 1)])
        await ensure_templates(conn, project.id)
        await ensure_script(conn, project.id)
        admin_password = await ensure_admin(conn)
        await campaigns.act(conn, project, "predictive", "start")
        await campaigns.act(conn, project, "callbacks", "start")
    return Demo(project, token, person_password, virtual_password(project.id), created, admin_password)


SCRIPT_FILE = Path(__file__).with_name("loan_script.json")


async def ensure_script(conn: AsyncConnection, project_id: int) -> None:
    """The loan-application script and its CRM fields (``loan_script.json``), used by the demo's
    campaigns; made when missing."""
    if any(name == "loan-application" for name, _v, _u in await scripts.list_scripts(conn, project_id)):
        return
    script = scripts.parse_script(json.loads(SCRIPT_FILE.read_text(encoding="utf-8")))
    await scripts.save_script(conn, project_id, script, author="demo")
    await conn.execute(
        update(CAMPAIGN)
        .where(CAMPAIGN.c.project_id == project_id, CAMPAIGN.c.script.is_(None))
        .values(script=script.name)
    )


async def ensure_admin(conn: AsyncConnection) -> str | None:
    """The demo's admin account (``admin``, flagged demo) with a new random password, shown once;
    None when it exists already."""
    if (await conn.execute(select(OPERATOR.c.id).where(OPERATOR.c.login == ADMIN))).first() is not None:
        return None
    password = secrets.token_urlsafe(9)
    await people.add_person(
        conn, ADMIN, name="Администратор (демо)", role=people.Role.ADMIN, password=password
    )
    await conn.execute(update(OPERATOR).where(OPERATOR.c.login == ADMIN).values(demo=True))
    return password


async def reset(db: AsyncEngine) -> int:
    """Remove every demo row; returns how many projects went (their leads, campaigns, calls too)."""
    async with writing(db) as conn:
        gone = await conn.execute(delete(PROJECT).where(PROJECT.c.demo.is_(True)))
        await conn.execute(delete(OPERATOR).where(OPERATOR.c.demo.is_(True)))
    return int(gone.rowcount or 0)
