"""The INVITE client session as a sans-IO state machine: what a dialer's outgoing call does next.

:class:`InviteClient` holds no socket, clock, future or task. It is fed what happened (a provisional,
a 2xx or another final response, the caller's cancel or hang-up, the ring timer, timer B, the peer's
BYE) and answers with the :data:`Action` list the I/O shell (:class:`sip.useragent.Call` with its
:class:`~sip.useragent.UserAgent`) must carry out, in order. The rules it keeps:

- CANCEL only after a provisional response (RFC 3261 sec. 9.1): a cancel asked for earlier is
  remembered and sent on the first 1xx, once;
- a 2xx that crosses our CANCEL is taken and ended at once with BYE; the call stays not answered
  (``no_answer`` when the ring timer cancelled it, ``cancelled`` otherwise) with its true status 200;
- a 401/407 is answered once with credentials (when the shell can); a second one fails the call, and
  so does one that arrives after the caller gave up (the call is then cancelled, not retried);
- timer B (no final response at all) fails the call with 408: ``no_answer`` if it had rung,
  ``network`` otherwise;
- a 487 after the ring timer's CANCEL is ``no_answer``: the callee did not pick up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CallState(enum.Enum):
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    FAILED = "failed"
    ENDED = "ended"


class Category(enum.Enum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    CONGESTION = "congestion"
    NETWORK = "network"
    CANCELLED = "cancelled"


_CATEGORIES = {
    486: Category.BUSY,
    600: Category.BUSY,
    408: Category.NO_ANSWER,
    480: Category.NO_ANSWER,
    487: Category.CANCELLED,
    603: Category.DECLINED,
    607: Category.DECLINED,
    404: Category.INVALID_NUMBER,
    410: Category.INVALID_NUMBER,
    484: Category.INVALID_NUMBER,
    485: Category.INVALID_NUMBER,
    604: Category.INVALID_NUMBER,
}


def categorise(status: int) -> Category:
    """What a final SIP status means to a dialer (5xx and unknown 6xx: congestion or rejection)."""
    if 200 <= status < 300:
        return Category.ANSWERED
    if status in _CATEGORIES:
        return _CATEGORIES[status]
    return Category.CONGESTION if 500 <= status < 600 else Category.REJECTED


@dataclass(frozen=True)
class Notify:
    """Tell the call's listeners: ``kind`` is trying, ringing, early_media, answered, failed or ended."""

    kind: str
    status: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class SendCancel:
    """Send CANCEL for the INVITE (once)."""


@dataclass(frozen=True)
class SendBye:
    """End the confirmed dialog with BYE."""


@dataclass(frozen=True)
class RetryWithAuth:
    """Send the INVITE again, answering the challenge of the 401/407 just received."""


@dataclass(frozen=True)
class Settled:
    """The call's outcome is known (answered or failed): wake whoever waits, stop the ring timer."""

    state: CallState
    status: int | None
    category: Category


@dataclass(frozen=True)
class Over:
    """Nothing more will happen to the call: forget it (after a while for retransmissions)."""


Action = Notify | SendCancel | SendBye | RetryWithAuth | Settled | Over


class InviteClient:
    """One outgoing call's session, from the INVITE to the end of its dialog."""

    def __init__(self) -> None:
        self.state = CallState.DIALING
        self.status: int | None = None
        self.category: Category | None = None
        self.hangup_by: str | None = None
        self.provisional = False  # a 1xx arrived (for the current INVITE): CANCEL may go
        self.cancel_wanted = False
        self.cancel_sent = False
        self.cancelled_by_timeout = False
        self.authenticated = False

    @property
    def ringing(self) -> bool:
        return self.state in (CallState.DIALING, CallState.RINGING)

    # -- responses --------------------------------------------------------------------------------

    def provisional_response(self, status: int, *, early_media: bool = False) -> list[Action]:
        if not self.ringing:
            return []
        self.provisional = True  # any 1xx, 100 included, allows CANCEL (RFC 3261 sec. 9.1)
        actions: list[Action]
        if status == 100:
            actions = [Notify("trying", status)]
        else:
            self.state = CallState.RINGING
            actions = [Notify("early_media" if early_media else "ringing", status)]
        return actions + self._cancel_if_wanted()

    def success(self, status: int) -> list[Action]:
        """A 2xx (the shell has ACKed it). A retransmission or a second fork after the outcome is
        known asks for nothing more."""
        if not self.ringing:
            return []
        if self.cancel_wanted:  # it crossed our CANCEL: take the call and end it at once
            category = Category.NO_ANSWER if self.cancelled_by_timeout else Category.CANCELLED
            return [SendBye(), *self._fail(status, category)]
        return [Notify("answered", status), *self._settle(CallState.ANSWERED, status, Category.ANSWERED)]

    def failure(self, status: int, *, can_authenticate: bool = False) -> list[Action]:
        """A final response other than 2xx; ``can_authenticate``: the shell has credentials that
        answer this 401/407's challenge."""
        if not self.ringing:
            return []
        if status in (401, 407) and can_authenticate and not self.authenticated and not self.cancel_wanted:
            self.authenticated = True
            self.provisional = False  # the new INVITE is a new transaction: no 1xx for it yet
            return [RetryWithAuth()]
        category = categorise(status)
        if self.cancel_wanted and category is not Category.CANCELLED and status in (401, 407):
            category = Category.CANCELLED  # given up before the challenge came: not a refusal
        if category is Category.CANCELLED and self.cancelled_by_timeout:
            category = Category.NO_ANSWER
        return self._fail(status, category)

    def timed_out(self) -> list[Action]:
        """Timer B fired: no final response to the INVITE at all."""
        if not self.ringing:
            return []
        return self._fail(408, Category.NO_ANSWER if self.provisional else Category.NETWORK)

    # -- the caller and the peer ------------------------------------------------------------------

    def cancel(self) -> list[Action]:
        """Give up on a call not answered yet: CANCEL now if it has rung, else on the first 1xx."""
        if not self.ringing or self.cancel_wanted:
            return []
        self.cancel_wanted = True
        return self._cancel_if_wanted()

    def ring_timeout(self) -> list[Action]:
        """It rang for as long as the dialer waits: cancel, and call the outcome ``no_answer``."""
        if not self.ringing:
            return []
        self.cancelled_by_timeout = True
        return self.cancel()

    def hangup(self) -> list[Action]:
        """End the call: BYE once answered, CANCEL while it rings."""
        if self.ringing:
            return self.cancel()
        if self.state is CallState.ANSWERED:
            return [SendBye(), *self.ended("local", 200)]
        return []

    def ended(self, by: str, status: int | None) -> list[Action]:
        """The answered call is over (``by``: local or remote)."""
        if self.state is not CallState.ANSWERED:
            return []
        self.state = CallState.ENDED
        self.hangup_by = by
        return [Notify("ended", status, by), Over()]

    # -- helpers ----------------------------------------------------------------------------------

    def _cancel_if_wanted(self) -> list[Action]:
        if self.cancel_wanted and self.provisional and not self.cancel_sent:
            self.cancel_sent = True
            return [SendCancel()]
        return []

    def _settle(self, state: CallState, status: int | None, category: Category) -> list[Action]:
        self.state, self.status, self.category = state, status, category
        return [Settled(state, status, category)]

    def _fail(self, status: int, category: Category) -> list[Action]:
        return [
            *self._settle(CallState.FAILED, status, category),
            Notify("failed", status, category.value),
            Over(),
        ]
