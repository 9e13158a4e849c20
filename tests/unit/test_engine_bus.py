"""The engine's event bus: every subscriber gets what it asked for, a slow one loses its oldest events
and never blocks the publisher, leaving unsubscribes."""

from __future__ import annotations

import asyncio

from dialer.engine.bus import EngineEvent, EventBus


async def test_subscribers_get_the_events_they_want_in_order() -> None:
    bus = EventBus()
    with bus.subscribe() as everything, bus.subscribe(lambda e: e.operator == "anna") as annas:
        for n, who in enumerate(["anna", "boris", "anna"]):
            bus.publish(EngineEvent("operator.state", operator=who, data={"n": n}))
        assert [everything.queue.get_nowait().data["n"] for _ in range(3)] == [0, 1, 2]
        assert [annas.queue.get_nowait().data["n"] for _ in range(2)] == [0, 2]
        assert annas.queue.empty()
        received = []

        async def listen() -> None:
            async for event in annas:
                received.append(event.kind)
                return

        listening = asyncio.create_task(listen())
        await asyncio.sleep(0)
        bus.publish(EngineEvent("call.connected", operator="anna"))
        await asyncio.wait_for(listening, 1.0)
        assert received == ["call.connected"]
    bus.publish(EngineEvent("call.ended", operator="anna"))  # nobody listens: nothing breaks


async def test_a_slow_subscriber_loses_its_oldest_events_not_the_publishers_time() -> None:
    bus = EventBus(queue_size=3)
    with bus.subscribe() as slow:
        for n in range(5):
            bus.publish(EngineEvent("call.dialed", data={"n": n}))
        assert slow.dropped == 2
        assert [slow.queue.get_nowait().data["n"] for _ in range(3)] == [2, 3, 4]
