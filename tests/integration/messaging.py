"""Shared pieces of the messaging tests: a migrated database with a project, a lead and templates,
a hand-driven clock, and a sender over the configured channels."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings
from dialer.config_channels import ChannelSettings
from dialer.leads import store as leads
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.tables import PROJECT
from sms_email import store
from sms_email.channels import open_gateways
from sms_email.schema import MessageIn, MessageOut, TemplateBody
from sms_email.sender import MessageSender

PHONE = "+79123456789"
# 10:00 in Moscow on a Monday: inside the ru-230fz window.
MORNING = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = MORNING) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    engine: AsyncEngine
    clock: Clock
    channels: dict[str, ChannelSettings]
    session: aiohttp.ClientSession

    def sender(self, **kwargs: Any) -> MessageSender:
        gateways = open_gateways(self.channels, self.session)
        return MessageSender(
            self.engine, gateways, self.channels, clock=self.clock, rng=random.Random(7), **kwargs
        )

    async def queue(self, template: str = "reminder", lead: str | None = "A-1", **fields: Any) -> MessageOut:
        async with writing(self.engine) as conn:
            project = await store.project_row(conn, "loans")
            out, _ = await store.queue_message(
                conn, self.channels, project, lead, MessageIn(template=template, **fields), now=self.clock.now
            )
        return out

    async def message(self, message_id: int) -> MessageOut:
        async with reading(self.engine) as conn:
            project = await store.project_row(conn, "loans")
            return await store.get_message(conn, project["id"], message_id)

    async def set_project(self, **values: Any) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(update(PROJECT).where(PROJECT.c.slug == "loans").values(**values))

    async def history(self, lead: str = "A-1") -> list[dict[str, Any]]:
        async with reading(self.engine) as conn:
            project = await store.project_row(conn, "loans")
            from dialer.accounts.projects import project_by_slug

            ref = await project_by_slug(conn, project["slug"])
            assert ref is not None
            return await leads.history(conn, ref, lead)


async def make_world(
    tmp_path: Path, channels: Mapping[str, ChannelSettings], session: aiohttp.ClientSession, **project: Any
) -> World:
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    clock = Clock()
    await upgrade(engine)
    async with writing(engine) as conn:
        ref = await create_project(conn, "loans", name="Loans", **project)
        await leads.upsert_many(
            conn,
            ref,
            [
                {
                    "external_id": "A-1",
                    "name": "Иван Петров",
                    "phones": [PHONE],
                    "data": {"email": "ivan@example.net", "application": "Z-100", "amount": 15000},
                }
            ],
            now=clock.now,
        )
        await store.save_template(
            conn,
            ref.id,
            "reminder",
            TemplateBody(
                medium="sms", body="{{ lead.name }}, заявка {{ lead.data.application }}: ждём документы"
            ),
        )
        await store.save_template(
            conn,
            ref.id,
            "details",
            TemplateBody(
                medium="email",
                subject="Заявка {{ lead.data.application }}",
                body="Здравствуйте, {{ lead.name }}! Сумма {{ lead.data.amount }} ₽.",
                html="<p>Здравствуйте, <b>{{ lead.name }}</b>!</p>",
            ),
        )
    return World(engine, clock, dict(channels), session)
