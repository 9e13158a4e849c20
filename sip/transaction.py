"""SIP transactions: the four state machines of RFC 3261 sec. 17, amended by RFC 6026.

Theory of operation
-------------------
A transaction is fed three kinds of input and returns a list of :data:`Action` for the shell to carry
out; it never touches a socket or a clock:

- ``start()`` (client) / construction with the request (server);
- ``receive(message)``: a response (client) or a retransmitted request or ACK (server) matched to it;
- ``timer(name)``: a timer it asked for has fired;
- server only: ``respond(response)``: the transaction user answers.

Actions are :class:`Send` (a message for the transport), :class:`StartTimer` (fire ``name`` after
``seconds``; starting a timer that runs replaces it), :class:`StopTimer`, :class:`Deliver` (a message
for the transaction user), :class:`TimedOut` (Timer B, F or H expired: tell the user) and
:class:`Terminated` (drop the transaction).

Timers are named as in the RFC and derive from ``Timers(t1, t2, t4)``:

============  ===========================  ================================================
timer         value                         purpose
============  ===========================  ================================================
A             T1, doubling                  INVITE retransmission (unreliable transports)
B             64*T1                         INVITE transaction timeout
D             32 s unreliable, 0 reliable   absorb retransmitted non-2xx finals (client)
E             T1, doubling up to T2         non-INVITE retransmission (unreliable transports)
F             64*T1                         non-INVITE transaction timeout
K             T4 unreliable, 0 reliable     absorb retransmitted responses (client non-INVITE)
G             T1, doubling up to T2         retransmit a non-2xx final until ACK (server INVITE)
H             64*T1                         wait for that ACK
I             T4 unreliable, 0 reliable     absorb retransmitted ACKs
J             64*T1 unreliable, 0 reliable  absorb retransmitted non-INVITE requests (server)
L, M          64*T1                         RFC 6026 "Accepted": absorb 2xx / INVITE retransmissions
============  ===========================  ================================================

A client INVITE transaction builds and sends the ACK for a non-2xx final itself (same branch); the ACK
for a 2xx is the dialog's job (a new transaction). Following RFC 6026, a 2xx moves the client INVITE
transaction to *Accepted*, where retransmitted 2xx are still delivered (so the dialog re-sends its
ACK) until Timer M; the server side likewise keeps *Accepted* until Timer L. Inputs that are not
valid in the current state change nothing and return no action (h11's rule).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sip.message import Headers, Message, Request, Response


@dataclass(frozen=True)
class Timers:
    """RFC 3261 timer base values in seconds (sec. 17.1.1.1, table 4)."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0
    """Timer D on unreliable transports ("> 32 s"); lower only in tests on loopback."""


class State(enum.Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class Send:
    message: Message


@dataclass(frozen=True)
class StartTimer:
    name: str
    seconds: float


@dataclass(frozen=True)
class StopTimer:
    name: str


@dataclass(frozen=True)
class Deliver:
    message: Message


@dataclass(frozen=True)
class TimedOut:
    timer: str


@dataclass(frozen=True)
class Terminated:
    pass


Action = Send | StartTimer | StopTimer | Deliver | TimedOut | Terminated


def ack_for(request: Request, response: Response) -> Request:
    """The ACK for a non-2xx final response to ``request`` (RFC 3261 sec. 17.1.1.3)."""
    return _same_branch("ACK", request, to=response.headers.get("To") or request.headers.get("To") or "")


def cancel_for(invite: Request) -> Request:
    """The CANCEL for a pending ``invite`` (RFC 3261 sec. 9.1): same branch, Request-URI, Route,
    From, To and Call-ID, the INVITE's CSeq number."""
    return _same_branch("CANCEL", invite, to=invite.headers.get("To") or "")


def _same_branch(method: str, request: Request, *, to: str) -> Request:
    """A request riding on ``request``'s transaction branch, as ACK (for non-2xx) and CANCEL do."""
    headers = Headers()
    headers.add("Via", request.headers.get_all("Via")[0])
    for route in request.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", request.headers.get("From") or "")
    headers.add("To", to)
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", f"{request.cseq.number} {method}")
    return Request(method, request.uri, headers)


class _Base:
    def __init__(self, request: Request, *, timers: Timers, reliable: bool) -> None:
        self.request = request
        self.timers = timers
        self.reliable = reliable
        self.state = State.TERMINATED

    @property
    def branch(self) -> str:
        branch = self.request.vias[0].branch
        return branch or ""

    def _terminate(self, *timers: str) -> list[Action]:
        self.state = State.TERMINATED
        return [*(StopTimer(t) for t in timers), Terminated()]


class ClientInviteTransaction(_Base):
    """RFC 3261 sec. 17.1.1 with RFC 6026's Accepted state."""

    def start(self) -> list[Action]:
        self.state = State.CALLING
        self._a = self.timers.t1
        actions: list[Action] = [Send(self.request), StartTimer("B", 64 * self.timers.t1)]
        if not self.reliable:
            actions.append(StartTimer("A", self._a))
        return actions

    def receive(self, response: Message) -> list[Action]:
        if not isinstance(response, Response):
            return []
        if self.state in (State.CALLING, State.PROCEEDING):
            return self._first_response(response)
        if self.state is State.COMPLETED and response.status >= 300:
            return [Send(self._ack)]  # a retransmitted final: ACK again, the user already knows
        if self.state is State.ACCEPTED and 200 <= response.status < 300:
            return [Deliver(response)]  # the dialog ACKs every 2xx it sees
        return []

    def _first_response(self, response: Response) -> list[Action]:
        if response.status < 200:
            self.state = State.PROCEEDING
            return [StopTimer("A"), Deliver(response)]
        if response.status < 300:
            self.state = State.ACCEPTED
            return [StopTimer("A"), StopTimer("B"), Deliver(response), StartTimer("M", 64 * self.timers.t1)]
        self.state = State.COMPLETED
        self._ack = ack_for(self.request, response)
        return [
            StopTimer("A"),
            StopTimer("B"),
            Send(self._ack),
            Deliver(response),
            StartTimer("D", 0.0 if self.reliable else self.timers.d),
        ]

    def timer(self, name: str) -> list[Action]:
        if name == "A" and self.state is State.CALLING:
            self._a *= 2
            return [Send(self.request), StartTimer("A", self._a)]
        if name == "B" and self.state in (State.CALLING, State.PROCEEDING):
            return [TimedOut("B"), *self._terminate("A")]
        if (name == "D" and self.state is State.COMPLETED) or (name == "M" and self.state is State.ACCEPTED):
            return self._terminate()
        return []


class ClientNonInviteTransaction(_Base):
    """RFC 3261 sec. 17.1.2 (REGISTER, OPTIONS, BYE, CANCEL, ...)."""

    def start(self) -> list[Action]:
        self.state = State.TRYING
        self._e = self.timers.t1
        actions: list[Action] = [Send(self.request), StartTimer("F", 64 * self.timers.t1)]
        if not self.reliable:
            actions.append(StartTimer("E", self._e))
        return actions

    def receive(self, response: Message) -> list[Action]:
        if not isinstance(response, Response) or self.state not in (State.TRYING, State.PROCEEDING):
            return []
        if response.status < 200:
            self.state = State.PROCEEDING
            return [Deliver(response)]
        self.state = State.COMPLETED
        return [
            StopTimer("E"),
            StopTimer("F"),
            Deliver(response),
            StartTimer("K", 0.0 if self.reliable else self.timers.t4),
        ]

    def timer(self, name: str) -> list[Action]:
        if name == "E" and self.state in (State.TRYING, State.PROCEEDING):
            # Trying: back off up to T2; Proceeding: every T2 (sec. 17.1.2.2)
            self._e = self.timers.t2 if self.state is State.PROCEEDING else min(2 * self._e, self.timers.t2)
            return [Send(self.request), StartTimer("E", self._e)]
        if name == "F" and self.state in (State.TRYING, State.PROCEEDING):
            return [TimedOut("F"), *self._terminate("E")]
        if name == "K" and self.state is State.COMPLETED:
            return self._terminate()
        return []


class ServerInviteTransaction(_Base):
    """RFC 3261 sec. 17.2.1 with RFC 6026's Accepted state. Sends 100 Trying at once."""

    def __init__(self, request: Request, *, timers: Timers, reliable: bool) -> None:
        super().__init__(request, timers=timers, reliable=reliable)
        self.state = State.PROCEEDING
        self._last: Response | None = None

    def start(self, trying: Response) -> list[Action]:
        """Send ``trying`` (a 100 built by the user) and hand the request to the user."""
        self._last = trying
        return [Send(trying), Deliver(self.request)]

    def respond(self, response: Response) -> list[Action]:
        if self.state is not State.PROCEEDING:
            return []
        self._last = response
        if response.status < 200:
            return [Send(response)]
        if response.status < 300:
            self.state = State.ACCEPTED
            return [Send(response), StartTimer("L", 64 * self.timers.t1)]
        self.state = State.COMPLETED
        self._g = self.timers.t1
        actions: list[Action] = [Send(response), StartTimer("H", 64 * self.timers.t1)]
        if not self.reliable:
            actions.append(StartTimer("G", self._g))
        return actions

    def receive(self, request: Message) -> list[Action]:
        if not isinstance(request, Request):
            return []
        if request.method == "INVITE" and self.state in (State.PROCEEDING, State.COMPLETED):
            return [Send(self._last)] if self._last is not None else []
        if request.method == "ACK" and self.state is State.COMPLETED:
            self.state = State.CONFIRMED
            return [StopTimer("G"), StopTimer("H"), StartTimer("I", 0.0 if self.reliable else self.timers.t4)]
        if request.method == "ACK" and self.state is State.ACCEPTED:
            return [Deliver(request)]  # an ACK for the 2xx that matched this transaction's branch
        return []

    def timer(self, name: str) -> list[Action]:
        if name == "G" and self.state is State.COMPLETED and self._last is not None:
            self._g = min(2 * self._g, self.timers.t2)
            return [Send(self._last), StartTimer("G", self._g)]
        if name == "H" and self.state is State.COMPLETED:
            return [TimedOut("H"), *self._terminate("G")]
        if (name == "I" and self.state is State.CONFIRMED) or (name == "L" and self.state is State.ACCEPTED):
            return self._terminate()
        return []


class ServerNonInviteTransaction(_Base):
    """RFC 3261 sec. 17.2.2."""

    def __init__(self, request: Request, *, timers: Timers, reliable: bool) -> None:
        super().__init__(request, timers=timers, reliable=reliable)
        self.state = State.TRYING
        self._last: Response | None = None

    def start(self) -> list[Action]:
        return [Deliver(self.request)]

    def respond(self, response: Response) -> list[Action]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return []
        self._last = response
        if response.status < 200:
            self.state = State.PROCEEDING
            return [Send(response)]
        self.state = State.COMPLETED
        return [Send(response), StartTimer("J", 0.0 if self.reliable else 64 * self.timers.t1)]

    def receive(self, request: Message) -> list[Action]:
        if isinstance(request, Request) and self.state in (State.PROCEEDING, State.COMPLETED):
            return [Send(self._last)] if self._last is not None else []
        return []

    def timer(self, name: str) -> list[Action]:
        if name == "J" and self.state is State.COMPLETED:
            return self._terminate()
        return []
