"""The trunk pool's capacity rules with a fake user agent: channels, calls per second, clear refusals."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from dialer.config import Tariff, TrunkSettings
from sip.routing import NoRoute
from sip.trunks import TrunkPool, TrunkState
from sip.useragent import CallProgress

_ids = itertools.count()


@dataclass
class FakeCall:
    call_id: str = field(default_factory=lambda: f"call-{next(_ids)}")
    listener: object = None
    events: list[CallProgress] = field(default_factory=list)
    status: int | None = None
    category: object = None
    invited_at: float = 0.0

    def end(self) -> None:
        assert callable(self.listener)
        self.listener(CallProgress("answered", 1.0, 200))
        self.listener(CallProgress("ended", 2.0, 200, "local"))


@dataclass
class FakeAgent:
    credentials: object = None
    placed: list[str] = field(default_factory=list)

    async def originate(self, number: str, **_: object) -> FakeCall:
        self.placed.append(number)
        return FakeCall()


def pool(**limits: float) -> tuple[TrunkPool, FakeAgent, FakeAgent]:
    main, backup = FakeAgent(), FakeAgent()
    config = {"tariffs": [Tariff(price_per_minute=Decimal(1))], "host": "h", "register": False}
    trunks = {
        "main": TrunkState("main", TrunkSettings(priority=1, **config, **limits), main),  # type: ignore[arg-type]
        "backup": TrunkState("backup", TrunkSettings(priority=2, max_channels=1, **config), backup),  # type: ignore[arg-type]
    }
    return TrunkPool(trunks), main, backup


async def test_full_trunk_overflows_to_the_next_and_frees_its_channel_when_calls_end() -> None:
    trunks, main, backup = pool(max_channels=2)
    first = await trunks.originate("+79000000001", caller_id="d")
    await trunks.originate("+79000000002", caller_id="d")
    await trunks.originate("+79000000003", caller_id="d")
    assert (len(main.placed), len(backup.placed)) == (2, 1)
    with pytest.raises(NoRoute) as caught:
        await trunks.originate("+79000000004", caller_id="d")
    assert caught.value.reasons == {"main": "all 2 channels busy", "backup": "all 1 channels busy"}
    first.end()
    await trunks.originate("+79000000005", caller_id="d")
    assert len(main.placed) == 3


async def test_calls_per_second_limit() -> None:
    trunks, main, backup = pool(max_cps=3, max_channels=100)
    for i in range(4):
        await trunks.originate(f"+7900000000{i}", caller_id="d")
    assert (len(main.placed), len(backup.placed)) == (3, 1)  # the fourth in the same second overflowed
    now = asyncio.get_running_loop().time()
    assert "main" in trunks.unavailable(now)
    assert "main" not in trunks.unavailable(now + 1.0)  # a second later the main trunk has room again


async def test_room_counts_free_channels_within_the_calls_per_second_limit() -> None:
    trunks, _, _ = pool(max_cps=3, max_channels=4)
    now = asyncio.get_running_loop().time()
    assert trunks.room(now) == 3 + 1  # main: 3 this second (of 4 channels); backup: its 1 channel
    first = await trunks.originate("+79000000001", caller_id="d")
    await trunks.originate("+79000000002", caller_id="d")
    await trunks.originate("+79000000003", caller_id="d")
    now = asyncio.get_running_loop().time()
    assert trunks.room(now) == 1  # main spent this second's 3; the backup still has its channel
    assert trunks.room(now + 1.0) == 1 + 1  # a second later: main has 1 channel left of 4
    first.end()
    assert trunks.room(now + 1.0) == 2 + 1
    trunks.trunks["backup"].reachable = False
    assert trunks.room(now + 1.0) == 2  # a trunk that is down has no room
