"""Several trunks as one: routing with failover, health checks, and a record for every call.

Theory of operation
-------------------
A :class:`TrunkPool` holds one :class:`~sip.useragent.UserAgent` per trunk. ``originate`` asks
:func:`~sip.routing.choose_trunks` for the best trunk that is up and may carry the number, and
places the call there. A monitor task sends OPTIONS to every trunk every ``check_every`` seconds; a
trunk that leaves ``misses_to_down`` checks in a row unanswered within ``answer_within`` seconds is
marked down, and so is one whose calls fail with 503 or time out ``misses_to_down`` times in a row.
New calls then go to the next trunk; any answer to a later check brings the trunk back. With the
defaults (2 s, 2 s, 2 misses) a dead trunk is left within about 8 s.

Trunks that register keep a registration task: it registers at ``start()``, refreshes at half the
expiry the registrar granted, and after a refusal or silence marks the trunk down with the reason and
retries with exponential backoff (2 s doubling to 60 s). A trunk is up when it answers OPTIONS and,
if it registers, is registered.
:meth:`TrunkPool.record` turns a finished call into a :class:`CallRecord` with its cost on that trunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sip.errors import SipError
from sip.routing import TrunkLike, call_cost, choose_trunks, tariff_for
from sip.useragent import Call, CallProgress, Category, UserAgent

RECORD_KEPT_FOR = 300.0  # seconds a finished call's trunk and number stay known to record()

log = logging.getLogger(__name__)


@dataclass
class TrunkState:
    """One trunk of the pool and what the pool knows about its health."""

    name: str
    config: TrunkLike
    agent: UserAgent
    reachable: bool = True
    registered: bool | None = None
    """None for trunks that do not register."""
    misses: int = 0
    reason: str = ""
    rtt: float | None = None
    registrations: int = 0
    active: set[str] = field(default_factory=set)
    """Call-IDs of this trunk's calls not yet ended (counted against ``max_channels``)."""
    launches: deque[float] = field(default_factory=deque)
    """When the last calls were launched (loop time), for ``max_cps``."""

    @property
    def up(self) -> bool:
        return self.reachable and self.registered is not False


@dataclass(frozen=True)
class CallRecord:
    """Everything billing and reports need about one call (times in time.monotonic seconds)."""

    trunk: str
    number: str
    call_id: str
    sip_status: int | None
    category: str
    t_invite: float
    t_ring: float | None
    t_answer: float | None
    t_end: float | None
    billed_seconds: int
    cost: Decimal
    tariff_prefix: str | None = None  # the tariff that billed it (None: no tariff matched)
    connection_fee: Decimal = Decimal(0)


class TrunkPool:
    def __init__(
        self,
        trunks: Mapping[str, TrunkState],
        *,
        check_every: float = 2.0,
        answer_within: float = 2.0,
        misses_to_down: int = 2,
        register_expires: int = 600,
    ) -> None:
        self.trunks = dict(trunks)
        self.check_every = check_every
        self.answer_within = answer_within
        self.misses_to_down = misses_to_down
        self.register_expires = register_expires
        self._tasks: list[asyncio.Task[None]] = []
        self._numbers: dict[str, tuple[str, str]] = {}  # call id -> (trunk, number)
        self._finished: deque[tuple[float, str]] = deque()  # (when, call id): forgotten after a while
        self._changed = asyncio.Event()

    async def start(self) -> None:
        """Register the trunks that register (waiting for the first answer), then watch them all."""
        first: list[asyncio.Future[None]] = []
        for state in self.trunks.values():
            if state.agent.credentials is not None:
                registered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                first.append(registered)
                self._tasks.append(
                    asyncio.create_task(
                        self._keep_registered(state, registered), name=f"register-{state.name}"
                    )
                )
        await asyncio.gather(*first)
        self._tasks.append(asyncio.create_task(self._watch(), name="trunk-monitor"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def changed(self) -> None:
        """Wait until some trunk goes up or down."""
        await self._changed.wait()

    @property
    def down(self) -> set[str]:
        return {name for name, state in self.trunks.items() if not state.up}

    def unavailable(self, now: float) -> dict[str, str]:
        """Trunks that cannot take a call at loop time ``now``, and why."""
        reasons: dict[str, str] = {}
        for name, state in self.trunks.items():
            _forget_launches_before(state, now - 1.0)
            if not state.up:
                reasons[name] = f"down ({state.reason})"
            elif len(state.active) >= state.config.max_channels:
                reasons[name] = f"all {state.config.max_channels} channels busy"
            elif len(state.launches) >= state.config.max_cps:
                reasons[name] = f"at its limit of {state.config.max_cps:g} calls per second"
        return reasons

    def room(self, now: float | None = None) -> int:
        """How many calls the pool could launch at loop time ``now``: over the trunks that are up, the
        free channels within each one's calls-per-second limit. An upper bound for a given number
        (prefix rules may leave it fewer trunks); a dialer asks before taking leads off the queue."""
        now = asyncio.get_running_loop().time() if now is None else now
        total = 0
        for state in self.trunks.values():
            _forget_launches_before(state, now - 1.0)
            if state.up:
                channels = state.config.max_channels - len(state.active)
                this_second = math.ceil(state.config.max_cps) - len(state.launches)
                total += max(0, min(channels, this_second))
        return total

    async def originate(
        self,
        number: str,
        *,
        caller_id: str,
        ring_timeout: float | None = None,
        sdp: bytes = b"",
        listener: Callable[[CallProgress], None] | None = None,
        call_id: str | None = None,
    ) -> Call:
        """Place a call on the best trunk that is up and has room; raises :class:`~sip.routing.NoRoute`
        at once, naming each trunk's reason, when none can take it."""
        now = asyncio.get_running_loop().time()
        while self._finished and now - self._finished[0][0] > RECORD_KEPT_FOR:
            self._numbers.pop(self._finished.popleft()[1], None)
        configs = {name: state.config for name, state in self.trunks.items()}
        choice = choose_trunks(configs, number, down=self.unavailable(now))[0]
        state = self.trunks[choice.trunk]
        state.launches.append(now)
        call = await state.agent.originate(
            number.lstrip("+"), caller_id=caller_id, ring_timeout=ring_timeout, sdp=sdp, call_id=call_id
        )
        self._numbers[call.call_id] = (choice.trunk, number)
        state.active.add(call.call_id)

        def follow(event: CallProgress) -> None:
            if event.kind in ("answered", "failed"):
                self._judge(state, call)
            if event.kind in ("failed", "ended"):
                state.active.discard(call.call_id)
                self._finished.append((asyncio.get_running_loop().time(), call.call_id))
            if listener is not None:
                listener(event)

        call.listener = follow
        return call

    def record(self, call: Call) -> CallRecord:
        """The record of a finished call (ask within ``RECORD_KEPT_FOR`` seconds of its end)."""
        trunk, number = self._numbers.get(call.call_id, ("", ""))
        times = {event.kind: event.at for event in call.events}
        answered, ended = times.get("answered"), times.get("ended")
        duration = (ended - answered) if answered is not None and ended is not None else 0.0
        state = self.trunks.get(trunk)
        tariff = tariff_for(state.config, number) if state is not None else None
        billed, cost = call_cost(tariff, duration)
        return CallRecord(
            trunk=trunk,
            number=number,
            call_id=call.call_id,
            sip_status=call.status,
            category=call.category.value if call.category else "none",
            t_invite=call.invited_at,
            t_ring=times.get("ringing", times.get("early_media")),
            t_answer=answered,
            t_end=ended if ended is not None else times.get("failed"),
            billed_seconds=billed,
            cost=cost,
            tariff_prefix=tariff.prefix if tariff is not None else None,
            connection_fee=tariff.connection_fee if tariff is not None and billed else Decimal(0),
        )

    # -- health -----------------------------------------------------------------------------------

    def _judge(self, state: TrunkState, call: Call) -> None:
        """A call's outcome says something about its trunk: 503s and timeouts count as misses."""
        if call.category is Category.NETWORK or call.status == 503:
            self._miss(state, f"call {call.call_id} failed with {call.status}")
        elif call.status is not None:
            state.misses = 0

    async def _keep_registered(self, state: TrunkState, first: asyncio.Future[None]) -> None:
        backoff = 2.0
        while True:
            try:
                registration = await state.agent.register(expires=self.register_expires)
            except SipError as exc:
                self._set(
                    state, registered=False, reason=f"registration failed: {exc}; retry in {backoff:g} s"
                )
                if not first.done():
                    first.set_result(None)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 2.0
            state.registrations += 1
            self._set(state, registered=True, reason=f"registered, expires {registration.expires} s")
            if not first.done():
                first.set_result(None)
            await asyncio.sleep(max(registration.expires / 2, 1.0))

    async def _watch(self) -> None:
        while True:
            await asyncio.gather(*(self._check(state) for state in self.trunks.values()))
            await asyncio.sleep(self.check_every)

    async def _check(self, state: TrunkState) -> None:
        try:
            _status, rtt = await asyncio.wait_for(state.agent.ping(), self.answer_within)
        except (TimeoutError, SipError):
            self._miss(state, f"OPTIONS unanswered within {self.answer_within:g} s")
            return
        state.rtt = rtt
        state.misses = 0
        if not state.reachable:
            self._set(state, reachable=True, reason="answers again")

    def _miss(self, state: TrunkState, reason: str) -> None:
        state.misses += 1
        if state.reachable and state.misses >= self.misses_to_down:
            self._set(state, reachable=False, reason=reason)

    def _set(
        self, state: TrunkState, *, reason: str, reachable: bool | None = None, registered: bool | None = None
    ) -> None:
        was = state.up
        if reachable is not None:
            state.reachable = reachable
        if registered is not None:
            state.registered = registered
        state.reason = reason
        if state.up != was:
            self._changed.set()
            self._changed = asyncio.Event()
            log.warning("trunk %s is %s: %s", state.name, "up" if state.up else "down", reason)


def _forget_launches_before(state: TrunkState, since: float) -> None:
    """Keep only the launches of the last second (what ``max_cps`` counts)."""
    while state.launches and state.launches[0] <= since:
        state.launches.popleft()
