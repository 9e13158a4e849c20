"""Property: whatever interleaving of lost answers, refusals and process deaths, each message reaches
the gateway at most once, and once the faults stop every message is sent.

The gateway here keeps SMSC's contract (a message is known by our id, and a try that may have gone out
asks before sending); a "death" is an exception that escapes the sender mid-try, after which a new
sender (a restarted process) works on the same database with the clock moved on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from dialer.config_channels import HttpGatewaySettings
from dialer.storage import models  # noqa: F401 (the tables)
from dialer.storage.tables import MESSAGE, PROJECT
from sms_email.gateway import Outcome, Outgoing
from sms_email.sender import MessageSender

Fault = Literal["ok", "die_before", "die_after", "lost_answer", "refuse"]


class Death(BaseException):
    """The process dies here (nothing after it runs)."""


class Gateway:
    name = "gw"
    reports_delivery = False

    def __init__(self, faults: list[Fault]) -> None:
        self.faults = faults
        self.accepted: dict[int, int] = {}

    async def send(self, message: Outgoing) -> Outcome:
        if message.maybe_sent and message.id in self.accepted:
            return Outcome("sent", reason="sent by an earlier try")
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault == "die_before":
            raise Death
        if fault == "refuse":
            return Outcome("retry", reason="HTTP 503")
        self.accepted[message.id] = self.accepted.get(message.id, 0) + 1
        if fault == "die_after":
            raise Death
        if fault == "lost_answer":
            return Outcome("retry", reason="timeout")
        return Outcome("sent", gateway_id=str(message.id))

    async def status(self, message: Outgoing, gateway_id: str | None) -> Outcome:
        return Outcome("unknown")


CHANNEL = HttpGatewaySettings(kind="http", url="http://127.0.0.1:9/send", timeout=1)
START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


async def _run(
    messages: int, faults: list[Fault], deaths_between: list[int]
) -> tuple[dict[int, int], set[str]]:
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
        project_id = (
            await conn.execute(
                insert(PROJECT)
                .values(slug="p", name="P", region="RU", time_zone="Europe/Moscow", calling_window="any-hour",
                        holidays=[], created_at=START)
                .returning(PROJECT.c.id)
            )
        ).scalar_one()  # fmt: skip
        await conn.execute(
            insert(MESSAGE),
            [
                {"project_id": project_id, "medium": "sms", "channel": "gw", "recipient": f"+7912000000{i}",
                 "body": "hi", "attachments": [], "status": "queued", "tries": 0, "next_try_at": START,
                 "not_after": START + timedelta(days=30), "created_at": START}
                for i in range(messages)
            ],
        )  # fmt: skip
    gateway = Gateway(list(faults))
    now = [START]
    passes = 0
    while True:
        sender = MessageSender(engine, {"gw": gateway}, {"gw": CHANNEL}, clock=lambda: now[0], batch=1,
                               concurrency=1)  # fmt: skip
        try:
            while True:
                passes += 1
                if not await sender.send_due():
                    now[0] += timedelta(minutes=31)  # past any backoff and any claim
                    async with engine.connect() as conn:
                        left = (
                            await conn.execute(select(MESSAGE.c.id).where(MESSAGE.c.finished_at.is_(None)))
                        ).all()
                    if not left:
                        break
                if deaths_between and passes == deaths_between[0]:
                    deaths_between.pop(0)
                    raise Death
                assert passes < 500, "the outbox does not drain"
            break
        except Death:
            now[0] += timedelta(minutes=1)  # the restart comes after the claim ran out
    async with engine.connect() as conn:
        statuses = {s for (s,) in (await conn.execute(select(MESSAGE.c.status))).all()}
    await engine.dispose()
    return gateway.accepted, statuses


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.integers(1, 4),
    faults=st.lists(st.sampled_from(["ok", "die_before", "die_after", "lost_answer", "refuse"]), max_size=12),
    deaths=st.lists(st.integers(1, 30), max_size=3, unique=True).map(sorted),
)
def test_each_message_reaches_the_gateway_at_most_once_and_all_are_sent(
    messages: int, faults: list[Fault], deaths: list[int]
) -> None:
    accepted, statuses = asyncio.run(_run(messages, faults, deaths))
    assert all(count == 1 for count in accepted.values()), accepted
    assert len(accepted) == messages
    assert statuses == {"sent"}
