"""The engine's internal event bus: what happens to calls and operators, for whoever listens (the web
workplace and supervisors' screens, metrics).

:meth:`EventBus.publish` never blocks and never fails the engine: each subscriber has a bounded queue,
and a subscriber too slow to keep up loses its oldest events (counted in ``dropped``), not the
engine's time. Durable consumers (webhooks) do not rely on the bus: lead status changes go through
the webhook outbox, written in the same transaction as the change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialer.storage.types import utcnow

Filter = Callable[["EngineEvent"], bool]


@dataclass(frozen=True)
class EngineEvent:
    """``kind``: ``call.dialed``, ``call.answered``, ``call.connected``, ``call.abandoned``,
    ``call.ended``, ``operator.state``."""

    kind: str
    campaign: int | None = None
    operator: str | None = None
    call_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)


class Subscription:
    """One listener's queue; iterate it (``async for``) to receive events."""

    def __init__(self, wanted: Filter | None, size: int) -> None:
        self.wanted = wanted
        self.queue: asyncio.Queue[EngineEvent] = asyncio.Queue(size)
        self.dropped = 0

    def offer(self, event: EngineEvent) -> None:
        if self.wanted is not None and not self.wanted(event):
            return
        if self.queue.full():
            self.queue.get_nowait()  # the oldest goes: a slow screen must not stall the dialer
            self.dropped += 1
        self.queue.put_nowait(event)

    def __aiter__(self) -> AsyncIterator[EngineEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[EngineEvent]:
        while True:
            yield await self.queue.get()


class EventBus:
    def __init__(self, *, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscriptions: list[Subscription] = []

    def publish(self, event: EngineEvent) -> None:
        for subscription in list(self._subscriptions):
            subscription.offer(event)

    @contextmanager
    def subscribe(self, wanted: Filter | None = None) -> Iterator[Subscription]:
        """Receive the events ``wanted`` accepts (all when None) while the block runs."""
        subscription = Subscription(wanted, self.queue_size)
        self._subscriptions.append(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.remove(subscription)
