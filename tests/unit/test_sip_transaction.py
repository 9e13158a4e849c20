"""The RFC 3261 sec. 17 transaction machines, driven in pairs of inputs with a hand-advanced clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sip.message import Message, Request, Response, parse_message
from sip.transaction import (
    Action,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    Deliver,
    Send,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    StartTimer,
    State,
    StopTimer,
    Terminated,
    TimedOut,
    Timers,
    cancel_for,
)

INVITE = (
    "INVITE sip:+79123456789@carrier.example SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-tx-1;rport\r\n"
    "Route: <sip:proxy.example;lr>\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:dialer@127.0.0.1>;tag=ft1\r\n"
    "To: <sip:+79123456789@carrier.example>\r\n"
    "Call-ID: call-1@127.0.0.1\r\n"
    "CSeq: 1 {method}\r\n"
    "Content-Length: 0\r\n\r\n"
)


def request(method: str = "INVITE") -> Request:
    message = parse_message(INVITE.replace("INVITE sip", f"{method} sip", 1).format(method=method).encode())
    assert isinstance(message, Request)
    return message


def response(status: int, reason: str, method: str = "INVITE", tag: str | None = "tt9") -> Response:
    req = request(method)
    to = req.headers.get("To") or ""
    headers = req.headers.copy()
    headers.remove("Route")
    headers.remove("Max-Forwards")
    headers.set("To", f"{to};tag={tag}" if tag else to)
    return Response(status, reason, headers)


@dataclass
class Clock:
    """Carries out a transaction's actions; fires its timers in deadline order when time advances."""

    machine: object
    now: float = 0.0
    timers: dict[str, float] = field(default_factory=dict)
    sent: list[tuple[float, Message]] = field(default_factory=list)
    delivered: list[Message] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    terminated: bool = False

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.sent.append((self.now, action.message))
            elif isinstance(action, StartTimer):
                self.timers[action.name] = self.now + action.seconds
            elif isinstance(action, StopTimer):
                self.timers.pop(action.name, None)
            elif isinstance(action, Deliver):
                self.delivered.append(action.message)
            elif isinstance(action, TimedOut):
                self.timed_out.append(action.timer)
            elif isinstance(action, Terminated):
                self.terminated = True
                self.timers.clear()

    def advance(self, until: float) -> None:
        while self.timers and min(self.timers.values()) <= until:
            name = min(self.timers, key=self.timers.__getitem__)
            self.now = self.timers.pop(name)
            self.apply(self.machine.timer(name))  # type: ignore[attr-defined]
        self.now = until

    def send_times(self, method_or_status: str | int) -> list[float]:
        return [
            t
            for t, m in self.sent
            if (isinstance(m, Request) and m.method == method_or_status)
            or (isinstance(m, Response) and m.status == method_or_status)
        ]


def test_unanswered_invite_over_udp_retransmits_then_times_out_at_64_t1() -> None:
    tx = ClientInviteTransaction(request(), timers=Timers(), reliable=False)
    clock = Clock(tx)
    clock.apply(tx.start())
    clock.advance(40.0)
    assert clock.send_times("INVITE") == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert clock.timed_out == ["B"] and clock.terminated and tx.state is State.TERMINATED


def test_invite_over_tcp_is_not_retransmitted() -> None:
    tx = ClientInviteTransaction(request(), timers=Timers(), reliable=True)
    clock = Clock(tx)
    clock.apply(tx.start())
    clock.advance(40.0)
    assert clock.send_times("INVITE") == [0.0] and clock.timed_out == ["B"]


def test_busy_is_acked_inside_the_transaction_and_retransmissions_reacked() -> None:
    tx = ClientInviteTransaction(request(), timers=Timers(), reliable=False)
    clock = Clock(tx)
    clock.apply(tx.start())
    clock.advance(0.2)
    clock.apply(tx.receive(response(180, "Ringing")))
    clock.advance(5.0)
    assert clock.send_times("INVITE") == [0.0]  # a provisional stops retransmission
    clock.apply(tx.receive(response(486, "Busy Here")))
    clock.apply(tx.receive(response(486, "Busy Here")))  # retransmitted by the far end
    acks = [m for _, m in clock.sent if isinstance(m, Request) and m.method == "ACK"]
    assert len(acks) == 2
    ack = acks[0]
    assert ack.vias[0].branch == "z9hG4bK-tx-1" and ack.to.tag == "tt9"
    assert str(ack.cseq) == "1 ACK" and ack.uri == tx.request.uri
    assert ack.headers.get_all("Route") == ["<sip:proxy.example;lr>"]
    assert [m.status for m in clock.delivered if isinstance(m, Response)] == [180, 486]  # final once
    clock.advance(5.0 + 31.0)
    assert not clock.terminated
    clock.advance(5.0 + 33.0)
    assert clock.terminated and clock.timed_out == []


def test_answered_invite_is_accepted_and_passes_every_2xx_to_the_dialog() -> None:
    tx = ClientInviteTransaction(request(), timers=Timers(), reliable=False)
    clock = Clock(tx)
    clock.apply(tx.start())
    clock.apply(tx.receive(response(200, "OK")))
    clock.advance(2.0)
    clock.apply(tx.receive(response(200, "OK")))  # the far end did not get our ACK yet
    assert [m.status for m in clock.delivered if isinstance(m, Response)] == [200, 200]
    assert not [m for _, m in clock.sent if isinstance(m, Request) and m.method == "ACK"]  # the dialog's job
    assert tx.state is State.ACCEPTED
    clock.apply(tx.receive(response(486, "Busy Here")))  # impossible now: ignored, state unchanged
    assert tx.state is State.ACCEPTED
    clock.advance(40.0)
    assert clock.terminated and clock.timed_out == []


def test_register_retransmits_backing_off_to_t2_then_times_out() -> None:
    tx = ClientNonInviteTransaction(request("REGISTER"), timers=Timers(), reliable=False)
    clock = Clock(tx)
    clock.apply(tx.start())
    clock.advance(40.0)
    assert clock.send_times("REGISTER") == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert clock.timed_out == ["F"]


def test_non_invite_proceeding_retransmits_every_t2_and_absorbs_retransmitted_finals() -> None:
    tx = ClientNonInviteTransaction(request("OPTIONS"), timers=Timers(), reliable=False)
    clock = Clock(tx)
    clock.apply(tx.start())
    clock.advance(0.1)
    clock.apply(tx.receive(response(100, "Trying", "OPTIONS", tag=None)))
    clock.advance(9.0)
    assert clock.send_times("OPTIONS") == [0.0, 0.5, 4.5, 8.5]
    clock.apply(tx.receive(response(200, "OK", "OPTIONS")))
    clock.apply(tx.receive(response(200, "OK", "OPTIONS")))
    assert [m.status for m in clock.delivered if isinstance(m, Response)] == [100, 200]
    clock.advance(9.0 + 5.0)
    assert clock.terminated and clock.timed_out == []


def test_server_invite_retransmits_a_failure_until_acked() -> None:
    tx = ServerInviteTransaction(request(), timers=Timers(), reliable=False)
    clock = Clock(tx)
    clock.apply(tx.start(response(100, "Trying", tag=None)))
    assert clock.delivered == [tx.request]
    clock.apply(tx.receive(request()))  # INVITE retransmitted: the 100 again
    clock.apply(tx.respond(response(486, "Busy Here")))
    clock.advance(10.0)
    assert clock.send_times(100) == [0.0, 0.0]
    assert clock.send_times(486) == [0.0, 0.5, 1.5, 3.5, 7.5]  # G doubles up to T2
    ack = request("ACK")
    clock.apply(tx.receive(ack))
    assert tx.state is State.CONFIRMED
    clock.advance(20.0)
    assert clock.send_times(486)[-1] < 10.0 and clock.terminated and clock.timed_out == []


def test_server_invite_without_ack_times_out_with_timer_h() -> None:
    tx = ServerInviteTransaction(request(), timers=Timers(), reliable=False)
    clock = Clock(tx)
    clock.apply(tx.start(response(100, "Trying", tag=None)))
    clock.apply(tx.respond(response(480, "Temporarily Unavailable")))
    clock.advance(40.0)
    assert clock.timed_out == ["H"] and clock.terminated


def test_server_invite_2xx_is_accepted_until_timer_l() -> None:
    tx = ServerInviteTransaction(request(), timers=Timers(), reliable=True)
    clock = Clock(tx)
    clock.apply(tx.start(response(100, "Trying", tag=None)))
    clock.apply(tx.respond(response(200, "OK")))
    assert tx.state is State.ACCEPTED
    assert tx.respond(response(486, "Busy Here")) == []  # the user cannot answer twice
    clock.advance(31.0)
    assert not clock.terminated
    clock.advance(33.0)
    assert clock.terminated


@pytest.mark.parametrize("reliable", [False, True])
def test_server_non_invite_answers_retransmissions_from_its_cache(reliable: bool) -> None:
    tx = ServerNonInviteTransaction(request("BYE"), timers=Timers(), reliable=reliable)
    clock = Clock(tx)
    clock.apply(tx.start())
    assert tx.receive(request("BYE")) == []  # nothing to repeat yet
    clock.apply(tx.respond(response(200, "OK", "BYE")))
    clock.apply(tx.receive(request("BYE")))
    assert clock.send_times(200) == [0.0, 0.0]
    clock.advance(33.0)
    assert clock.terminated


def test_cancel_rides_on_the_invite_branch() -> None:
    invite = request()
    cancel = cancel_for(invite)
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    assert cancel.vias[0].branch == invite.vias[0].branch == "z9hG4bK-tx-1"
    assert str(cancel.cseq) == "1 CANCEL" and cancel.to.tag is None and cancel.from_.tag == "ft1"
    assert cancel.headers.get_all("Route") == ["<sip:proxy.example;lr>"]
