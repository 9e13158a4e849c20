"""SMS through SMSC.ru's HTTP API, against a local server that answers as SMSC documents it
(``dialer.demo.smsc_sink``): sending, delivery status, every error code, hangs, the backup host,
the calling window, contact caps, stop lists, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
from sqlalchemy import insert, select

from dialer.config_channels import SmscSettings
from dialer.demo.smsc_sink import SmscSink
from dialer.errors import Rejected
from dialer.storage import reading, writing
from dialer.storage.tables import ATTEMPT, DNC, LEAD, MESSAGE, WEBHOOK_DELIVERY
from sms_email import store
from sms_email.schema import StopIn, TemplateBody
from tests.integration.messaging import PHONE, make_world

pytestmark = pytest.mark.integration


@pytest.fixture
async def world(tmp_path, smsc):
    _, url = smsc
    channel = SmscSettings(kind="smsc", login="demo", password="demo", hosts=[url], sender="Zaimy", timeout=2)
    async with aiohttp.ClientSession() as session:
        world = await make_world(tmp_path, {"sms": channel}, session, webhook_url="http://127.0.0.1:9/hook")
        yield world
        await world.engine.dispose()


async def test_an_sms_is_sent_once_with_its_cost_then_delivered(world, smsc) -> None:
    sink, _ = smsc
    queued = await world.queue()
    assert queued.status == "queued"
    assert queued.body == "Иван Петров, заявка Z-100: ждём документы"
    assert (queued.encoding, queued.parts) == ("ucs2", 1)

    sender = world.sender()
    assert await sender.send_due() == 1
    sent = await world.message(queued.id)
    assert sent.status == "sent"
    assert sent.cost == Decimal("2.5000") and sent.parts == 1 and sent.gateway_id == str(queued.id)
    request = sink.requests[0]
    assert request["charset"] == "utf-8" and request["fmt"] == "3" and request["cost"] == "3"
    assert request["id"] == str(queued.id) and request["sender"] == "Zaimy" and request["phones"] == PHONE
    assert sink.received[str(queued.id)].text == queued.body

    assert await sender.send_due() == 0  # the status is asked a minute later
    world.clock.now += timedelta(seconds=61)
    assert await sender.send_due() == 1
    delivered = await world.message(queued.id)
    assert delivered.status == "delivered" and delivered.finished_at is not None
    assert sink.sends_of(str(queued.id)) == 1

    async with reading(world.engine) as conn:
        events = [r.payload["event"] for r in await conn.execute(select(WEBHOOK_DELIVERY.c.payload))]
    assert events == ["message.sent", "message.delivered"]
    history = [h["detail"]["status"] for h in await world.history() if h["kind"] == "message"]
    assert history == ["queued", "sent", "delivered"]


@pytest.mark.parametrize("code", [1, 2, 5, 6, 7, 8])
async def test_permanent_errors_fail_the_message_with_the_gateways_reason(world, smsc, code) -> None:
    sink, _ = smsc
    sink.plan.append(("error", code))
    queued = await world.queue()
    await world.sender().send_due()
    failed = await world.message(queued.id)
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.reason.startswith(f"SMSC error {code}:")
    async with reading(world.engine) as conn:
        marks = (await conn.execute(select(LEAD.c.bad_contacts))).scalar()
    assert (PHONE in marks) is (code in (7, 8))
    if code in (7, 8):
        with pytest.raises(Rejected, match="could not be reached"):
            await world.queue()


async def test_no_funds_parks_the_channel_until_the_wait_is_over(world, smsc) -> None:
    sink, _ = smsc
    sink.plan.append(("error", 3))
    first = await world.queue()
    second = await world.queue(idempotency_key="other", to="+79123456780")
    sender = world.sender(concurrency=1)
    await sender.send_due()
    statuses = {(await world.message(m.id)).status for m in (first, second)}
    assert statuses == {"queued"}
    assert "sms" in sender.parked
    assert len([r for r in sink.requests if r["_method"] == "send"]) == 1  # the second waited
    world.clock.now += timedelta(minutes=11)
    await sender.send_due()
    assert {(await world.message(m.id)).status for m in (first, second)} == {"sent"}


async def test_ip_blocked_waits_half_an_hour(world, smsc) -> None:
    sink, _ = smsc
    sink.plan.append(("error", 4))
    queued = await world.queue()
    await world.sender().send_due()
    waiting = await world.message(queued.id)
    assert waiting.status == "queued" and "blocked" in waiting.reason
    assert waiting.next_try_at == world.clock.now + timedelta(minutes=30)


async def test_a_hang_times_out_and_the_retry_asks_before_sending_again(world, smsc) -> None:
    sink, _ = smsc
    sink.plan.append(("accept-then-hang", 5))  # the gateway takes it, the answer never comes in time
    queued = await world.queue()
    sender = world.sender()
    await sender.send_due()
    waiting = await world.message(queued.id)
    assert waiting.status == "queued" and "unreachable" in waiting.reason
    world.clock.now += timedelta(minutes=5)
    await sender.send_due()
    found = await world.message(queued.id)
    assert found.status == "delivered" and found.sent_at is not None  # the status said so at once
    assert sink.sends_of(str(queued.id)) == 1  # asked status.php first: it was there


async def test_a_duplicate_answer_is_checked_never_resent_blindly(world, smsc) -> None:
    sink, _ = smsc
    queued = await world.queue()
    sink.plan.append(("error", 9))
    await world.sender().send_due()
    waiting = await world.message(queued.id)
    assert waiting.status == "queued" and "duplicate" in waiting.reason  # unknown to the gateway: later
    world.clock.now += timedelta(seconds=61)
    await world.sender().send_due()
    assert (await world.message(queued.id)).status == "sent"


async def test_the_backup_host_takes_over_when_the_main_one_fails(tmp_path, aiohttp_server) -> None:
    main, backup = SmscSink(), SmscSink()
    main.plan.append(("http", 500))
    urls = [str((await aiohttp_server(s.app())).make_url("")).rstrip("/") for s in (main, backup)]
    channel = SmscSettings(kind="smsc", login="demo", password="demo", hosts=urls, timeout=2)
    async with aiohttp.ClientSession() as session:
        world = await make_world(tmp_path, {"sms": channel}, session)
        queued = await world.queue()
        await world.sender().send_due()
        assert (await world.message(queued.id)).status == "sent"
        await world.engine.dispose()
    assert not main.received and str(queued.id) in backup.received


async def test_an_sms_queued_at_night_goes_out_when_the_window_opens(world, smsc) -> None:
    sink, _ = smsc
    world.clock.now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 23:00 in Moscow
    queued = await world.queue()
    sender = world.sender()
    await sender.send_due()
    waiting = await world.message(queued.id)
    assert waiting.status == "queued" and "calling window" in waiting.reason
    assert waiting.next_try_at == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 08:00 Moscow, a Tuesday
    assert not sink.requests
    world.clock.now = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    await sender.send_due()
    assert (await world.message(queued.id)).status == "sent"


async def test_when_sms_count_as_contacts_the_daily_cap_holds_them_back(world, smsc) -> None:
    await world.set_project(caps_per_day=1, sms_counts_as_contact=True)
    async with writing(world.engine) as conn:
        lead_id = (await conn.execute(select(LEAD.c.id))).scalar()
        answered = world.clock.now - timedelta(hours=2)
        await conn.execute(insert(ATTEMPT).values(lead_id=lead_id, phone=PHONE, started_at=answered,
                                                  answered_at=answered, ended_at=answered))  # fmt: skip
    queued = await world.queue(valid_for=3 * 86_400)
    await world.sender().send_due()
    waiting = await world.message(queued.id)
    assert waiting.status == "queued" and "caps" in waiting.reason
    assert waiting.next_try_at == answered + timedelta(days=1)
    world.clock.now = answered + timedelta(days=1)
    await world.sender().send_due()
    assert (await world.message(queued.id)).status == "sent"


async def test_a_message_that_cannot_go_before_its_deadline_expires(world, smsc) -> None:
    world.clock.now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    queued = await world.queue(valid_for=3600)
    await world.sender().send_due()
    expired = await world.message(queued.id)
    assert expired.status == "expired" and "calling window" in expired.reason


async def test_stop_lists_refuse_at_queueing_and_hold_at_sending(world, smsc) -> None:
    sink, _ = smsc
    queued = await world.queue()
    async with writing(world.engine) as conn:
        project = await store.project_row(conn, "loans")
        await store.add_stops(
            conn, project, StopIn(medium="sms", addresses=["8 912 345-67-89"], reason="STOP")
        )
    with pytest.raises(Rejected, match="asked not to get") as refused:
        await world.queue(idempotency_key="again")
    assert refused.value.errors[0].field == "to"
    await world.sender().send_due()
    failed = await world.message(queued.id)
    assert failed.status == "failed" and "stop list" in failed.reason and not sink.requests


async def test_a_number_on_the_do_not_call_list_gets_no_sms(world) -> None:
    async with writing(world.engine) as conn:
        await conn.execute(insert(DNC).values(project_id=None, phone=PHONE, reason="complaint",
                                              created_at=world.clock.now))  # fmt: skip
    with pytest.raises(Rejected, match="asked not to get"):
        await world.queue()


async def test_the_same_idempotency_key_queues_one_message(world, smsc) -> None:
    first = await world.queue(idempotency_key="A-1:call-7:step-3:reminder")
    again = await world.queue(idempotency_key="A-1:call-7:step-3:reminder")
    assert again.id == first.id
    await world.sender().send_due()
    await world.sender().send_due()
    assert len(smsc[0].received) == 1


async def test_bad_input_names_the_field_and_queues_nothing(world) -> None:
    with pytest.raises(Rejected) as bad_phone:
        await world.queue(to="12")
    assert bad_phone.value.errors[0].field == "to"
    with pytest.raises(Rejected, match=r"lead\.data has no 'missing'"):
        async with writing(world.engine) as conn:
            project = await store.project_row(conn, "loans")
            await store.save_template(
                conn, project["id"], "gap", TemplateBody(medium="sms", body="{{ lead.data.missing }}")
            )
        await world.queue(template="gap")
    async with reading(world.engine) as conn:
        assert (await conn.execute(select(MESSAGE.c.id))).first() is None


async def test_an_undeliverable_status_fails_the_message_and_marks_the_number(world, smsc) -> None:
    sink, _ = smsc
    queued = await world.queue()
    sender = world.sender()
    await sender.send_due()
    sink.statuses[str(queued.id)] = 22  # the network says the number is wrong
    world.clock.now += timedelta(seconds=61)
    await sender.send_due()
    failed = await world.message(queued.id)
    assert failed.status == "failed" and failed.reason == "SMSC status 22: the number is not valid"
    assert failed.sent_at is not None and failed.cost == Decimal("2.5000")  # it was sent and paid for
    async with reading(world.engine) as conn:
        assert PHONE in (await conn.execute(select(LEAD.c.bad_contacts))).scalar()
