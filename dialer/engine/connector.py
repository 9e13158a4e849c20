"""Connecting answered clients to operators within the legal time, or abandoning them.

Theory of operation
-------------------
A sans-IO state machine: the campaign loop feeds it events (a person answered, a bridge is up, a
call ended, time passed) and executes the commands it returns (:class:`Connect`, :class:`Abandon`).

One connector serves every campaign of the process, so that an operator of several projects takes
the waiting client of the highest-priority campaign first; a command about a call of another
campaign than the one whose event produced it is forwarded to that campaign's loop.

When a person answers, the ready operator idle the longest (a pinned or personal operator first)
is reserved and a :class:`Connect` is issued at once. With nobody ready the client waits in a queue,
highest campaign priority first, then oldest; an operator who becomes ready takes the head of the
queue. A client still waiting ``abandon_after`` seconds after answering (2 s by law) is abandoned:
:class:`Abandon` tells the loop to play the safe-harbor message and hang up; the attempt counts in
the abandon rate and the 72-hour rule applies. Times are seconds on one monotonic clock, passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dialer.engine.board import OperatorBoard, OperatorState


@dataclass(frozen=True)
class Connect:
    """Bridge ``call_id`` to ``operator`` (already reserved); the client waited ``waited`` s."""

    call_id: str
    operator: str
    waited: float


@dataclass(frozen=True)
class Abandon:
    """Nobody took ``call_id`` in time: play the message, hang up, count it."""

    call_id: str
    waited: float


Command = Connect | Abandon


CommandSink = Callable[[Command], None]


@dataclass
class _Waiting:
    call_id: str
    project: int
    priority: int
    answered_at: float
    prefer: str | None


class Connector:
    """Answered calls of every campaign in this process, and the operators they go to."""

    def __init__(self, board: OperatorBoard, *, abandon_after: float = 2.0) -> None:
        if abandon_after <= 0:
            raise ValueError("abandon_after must be positive (seconds)")
        self.board = board
        self.abandon_after = abandon_after
        self.waiting: list[_Waiting] = []
        self.operator_of: dict[str, str] = {}  # call -> reserved or talking operator
        self.sinks: dict[str, CommandSink] = {}  # waiting call -> its campaign loop

    def reserve(self, call_id: str, login: str, now: float) -> None:
        """Operator first (callbacks, preview): ``login`` is reserved for ``call_id`` as it is
        dialled and gets it as soon as the client answers (already reserved is fine)."""
        self.board.get(login).move(OperatorState.RESERVED, now)
        self.operator_of[call_id] = login

    def answered(
        self,
        call_id: str,
        *,
        project: int,
        now: float,
        priority: int = 0,
        prefer: str | None = None,
        sink: CommandSink | None = None,
    ) -> list[Command]:
        """A person answered ``call_id``: connect at once (to the operator reserved for it, if any)
        or queue it. ``sink`` is where a command for this call goes when another campaign's event
        produces it (one connector serves every campaign of the process, see :meth:`forward`)."""
        if sink is not None:
            self.sinks[call_id] = sink
        reserved = self.operator_of.get(call_id)
        if reserved is not None:
            operator = self.board.operators.get(reserved)
            if operator is not None and operator.state is OperatorState.RESERVED:
                return [Connect(call_id, reserved, 0.0)]
            del self.operator_of[call_id]  # they paused or left meanwhile: route it like any other
            prefer = prefer or reserved
        self.waiting.append(_Waiting(call_id, project, priority, now, prefer))
        return self._assign(now)

    def connected(self, call_id: str, now: float) -> None:
        """The bridge is up: the reserved operator is talking."""
        operator = self.operator_of.get(call_id)
        if operator is not None:
            self.board.get(operator).move(OperatorState.TALKING, now)

    def ended(self, call_id: str, now: float, *, wrap_up: float) -> list[Command]:
        """The client's call ended (either side hung up, or it failed before an answer): its operator
        goes to wrap-up (or straight back to ready if they never talked), a waiting client is dropped
        from the queue."""
        self.waiting = [w for w in self.waiting if w.call_id != call_id]
        self.sinks.pop(call_id, None)
        login = self.operator_of.pop(call_id, None)
        if login is not None:
            operator = self.board.get(login)
            if operator.state is OperatorState.RESERVED:
                operator.move(OperatorState.READY, now)  # hung up before the bridge: straight back
            elif operator.state is OperatorState.TALKING:
                operator.start_wrap_up(now, wrap_up)
        return self._assign(now)

    def forward(self, command: Command) -> None:
        """Hand a command about another campaign's call to that campaign's loop."""
        sink = self.sinks.pop(command.call_id, None)
        if sink is not None:
            sink(command)

    def tick(self, now: float) -> list[Command]:
        """Let time pass: wrap-ups end, waiting clients are connected or abandoned."""
        self.board.tick(now)
        return self._assign(now)

    def _assign(self, now: float) -> list[Command]:
        commands: list[Command] = []
        self.waiting.sort(key=lambda w: (-w.priority, w.answered_at))
        still: list[_Waiting] = []
        for waiting in self.waiting:
            waited = now - waiting.answered_at
            if waited >= self.abandon_after:  # too late even if someone is free now: the law counts it
                commands.append(Abandon(waiting.call_id, waited))
                continue
            operator = self.board.pick(waiting.project, prefer=waiting.prefer)
            if operator is not None:
                operator.move(OperatorState.RESERVED, now)
                self.operator_of[waiting.call_id] = operator.login
                commands.append(Connect(waiting.call_id, operator.login, waited))
            else:
                still.append(waiting)
        self.waiting = still
        return commands

    def next_deadline(self) -> float | None:
        """When the oldest waiting client must be abandoned (for the loop's timer), or None."""
        if not self.waiting:
            return None
        return min(w.answered_at for w in self.waiting) + self.abandon_after
