"""Two trunks: the primary dies mid-run, new calls go to the backup within 10 s, and come back to the
primary once it answers again. Every call leaves a record with its trunk and cost."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from dialer.config import Tariff, TrunkSettings
from sip.stack import SipStack
from sip.trunks import TrunkPool, TrunkState
from sip.useragent import Call, Category, UserAgent
from tests.integration.sip_peers import sipp_uas


def trunk(name: str, priority: int, price: str, stack: SipStack, port: int) -> TrunkState:
    config = TrunkSettings(
        host="127.0.0.1", register=False, priority=priority,
        tariffs=[Tariff(prefix="+7", price_per_minute=Decimal(price), increment="1/1")],
    )  # fmt: skip
    return TrunkState(name, config, UserAgent(stack, ("127.0.0.1", port), domain="127.0.0.1"))


async def until(pool: TrunkPool, condition: Callable[[], bool], within: float) -> float | None:
    """Seconds until ``condition`` holds (checked at every trunk change), or None after ``within``."""
    started = time.monotonic()
    while not condition():
        remaining = within - (time.monotonic() - started)
        if remaining <= 0:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pool.changed(), remaining)
    return time.monotonic() - started


async def one_call(pool: TrunkPool, number: str) -> Call:
    call = await pool.originate(number, caller_id="dialer", ring_timeout=5)
    await asyncio.wait_for(call.wait(), 40)
    if call.category is Category.ANSWERED:
        await asyncio.sleep(1.0)
        call.hangup()
    return call


async def test_backup_takes_over_within_10_s_and_primary_returns(tmp_path: Path) -> None:
    primary_dir, backup_dir, again_dir = (tmp_path / n for n in ("primary", "backup", "again"))
    for d in (primary_dir, backup_dir, again_dir):
        d.mkdir()
    stacks = [SipStack(), SipStack()]
    for stack in stacks:
        await stack.open("127.0.0.1", 0)
    with (
        sipp_uas("uas_loop.xml", primary_dir, calls=1000) as primary,
        sipp_uas("uas_loop.xml", backup_dir, calls=1000) as backup,
    ):
        pool = TrunkPool(
            {
                "primary": trunk("primary", 1, "1.00", stacks[0], primary.port),
                "backup": trunk("backup", 2, "3.00", stacks[1], backup.port),
            },
            check_every=0.5, answer_within=1.0, misses_to_down=2,
        )  # fmt: skip
        await pool.start()
        try:
            first = await one_call(pool, "+79000000001")
            assert pool.record(first).trunk == "primary"

            primary.process.terminate()  # the primary carrier goes away
            primary.process.wait()
            moved_after = await until(pool, lambda: "primary" in pool.down, within=15)
            assert moved_after is not None and moved_after < 10, pool.trunks["primary"].reason
            print(f"primary marked down {moved_after:.2f} s after it died")
            on_backup = await one_call(pool, "+79000000002")
            record = pool.record(on_backup)
            assert record.trunk == "backup" and on_backup.category is Category.ANSWERED
            assert record.billed_seconds >= 1 and record.cost == Decimal("3.00") * record.billed_seconds / 60

            with sipp_uas("uas_loop.xml", again_dir, calls=1000, port=primary.port):
                assert await until(pool, lambda: "primary" not in pool.down, within=10) is not None
                back = await one_call(pool, "+79000000003")
                assert pool.record(back).trunk == "primary"
        finally:
            await pool.stop()
            for stack in stacks:
                stack.close()
