"""The INVITE client session's rules, without a socket: CANCEL only after a provisional response, a
200 crossing our CANCEL, the digest retry, timer B, the ring timer, hang-ups."""

from __future__ import annotations

from sip.invite import (
    CallState,
    Category,
    InviteClient,
    Notify,
    Over,
    RetryWithAuth,
    SendBye,
    SendCancel,
    Settled,
)


def kinds(actions: list[object]) -> list[str]:
    return [a.kind if isinstance(a, Notify) else type(a).__name__ for a in actions]


def test_cancel_waits_for_a_provisional_response_and_goes_once() -> None:
    call = InviteClient()
    assert call.cancel() == []  # nothing has come back yet: a CANCEL now could overtake the INVITE
    assert call.cancel() == []
    assert kinds(call.provisional_response(100)) == ["trying", "SendCancel"]  # sent on the first 1xx
    assert call.provisional_response(180) == [Notify("ringing", 180)]  # and never again
    assert kinds(call.failure(487)) == ["Settled", "failed", "Over"]
    assert (call.state, call.status, call.category) == (CallState.FAILED, 487, Category.CANCELLED)


def test_a_cancel_after_ringing_goes_at_once() -> None:
    call = InviteClient()
    assert kinds(call.provisional_response(183, early_media=True)) == ["early_media"]
    assert call.state is CallState.RINGING
    assert call.cancel() == [SendCancel()]


def test_a_200_crossing_our_cancel_is_taken_and_ended_without_counting_as_answered() -> None:
    call = InviteClient()
    call.provisional_response(180)
    assert call.cancel() == [SendCancel()]
    actions = call.success(200)
    assert actions == [SendBye(), Settled(CallState.FAILED, 200, Category.CANCELLED),
                       Notify("failed", 200, "cancelled"), Over()]  # fmt: skip
    assert not any(isinstance(a, Notify) and a.kind == "answered" for a in actions)
    assert call.success(200) == []  # the 2xx retransmitted: the shell ACKs it, nothing else happens
    assert call.hangup() == []


def test_the_ring_timer_makes_a_crossing_200_and_a_487_no_answer() -> None:
    crossing = InviteClient()
    crossing.provisional_response(180)
    assert crossing.ring_timeout() == [SendCancel()]
    assert crossing.success(200)[:2] == [SendBye(), Settled(CallState.FAILED, 200, Category.NO_ANSWER)]
    cancelled = InviteClient()
    cancelled.provisional_response(180)
    cancelled.ring_timeout()
    assert cancelled.failure(487)[0] == Settled(CallState.FAILED, 487, Category.NO_ANSWER)


def test_a_challenge_is_answered_once_and_the_second_fails_the_call() -> None:
    call = InviteClient()
    call.provisional_response(100)
    assert call.failure(407, can_authenticate=True) == [RetryWithAuth()]
    assert call.state is CallState.DIALING and not call.provisional  # a new transaction: no 1xx yet
    assert call.cancel() == []  # so a cancel waits for the new INVITE's 1xx
    assert call.provisional_response(100) == [Notify("trying", 100), SendCancel()]
    again = InviteClient()
    again.failure(401, can_authenticate=True)
    assert kinds(again.failure(401, can_authenticate=True)) == ["Settled", "failed", "Over"]
    assert again.category is Category.REJECTED


def test_a_challenge_without_credentials_or_after_a_cancel_is_not_retried() -> None:
    plain = InviteClient()
    assert plain.failure(401, can_authenticate=False)[0] == Settled(CallState.FAILED, 401, Category.REJECTED)
    given_up = InviteClient()
    given_up.cancel()  # before any 1xx: the CANCEL waits
    assert given_up.failure(407, can_authenticate=True)[0] == Settled(
        CallState.FAILED, 407, Category.CANCELLED
    )


def test_timer_b_fails_the_call_as_network_or_no_answer() -> None:
    silent = InviteClient()
    assert silent.timed_out()[0] == Settled(CallState.FAILED, 408, Category.NETWORK)
    rang = InviteClient()
    rang.provisional_response(180)
    assert rang.timed_out()[0] == Settled(CallState.FAILED, 408, Category.NO_ANSWER)
    assert rang.timed_out() == []  # once over, nothing more


def test_an_answered_call_ends_once_by_either_side() -> None:
    call = InviteClient()
    call.provisional_response(180)
    assert kinds(call.success(200)) == ["answered", "Settled"]
    assert call.state is CallState.ANSWERED and call.category is Category.ANSWERED
    assert call.cancel() == []  # too late to cancel
    assert call.hangup() == [SendBye(), Notify("ended", 200, "local"), Over()]
    assert call.hangup_by == "local" and call.state is CallState.ENDED
    assert call.ended("remote", 200) == []  # the peer's BYE crossing ours changes nothing
    remote = InviteClient()
    remote.success(200)
    assert remote.ended("remote", 200) == [Notify("ended", 200, "remote"), Over()]


def test_final_responses_are_categorised_for_the_dialer() -> None:
    expected = {486: Category.BUSY, 404: Category.INVALID_NUMBER, 503: Category.CONGESTION,
                480: Category.NO_ANSWER, 603: Category.DECLINED, 403: Category.REJECTED}  # fmt: skip
    for status, category in expected.items():
        call = InviteClient()
        assert call.failure(status)[0] == Settled(CallState.FAILED, status, category)
        assert call.provisional_response(180) == []  # a late 1xx after the outcome is ignored
