"""The seam between the engine and telephony: what the campaign loop asks for, and what it hears.

The engine never touches SIP or RTP classes; it calls a :class:`Telephony` (the SIP trunks and media
of :mod:`dialer.voice` in production, an in-memory fake in tests) and an operator's :class:`Phones`,
and receives one frozen update per thing that happened to a call (:data:`CallUpdate`). What cannot
be done is said with the engine's own errors: :class:`~dialer.errors.CallNotPlaced` (with
``retry_after`` when waiting that long is what helps, e.g. a number no trunk may carry) and
:class:`~dialer.errors.PhoneUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from dialer.engine.views import PhoneState


@dataclass(frozen=True)
class CallAnswered:
    """The far end answered (after answering-machine detection when it ran). ``at`` is on the
    engine's monotonic clock; ``machine``: the detector's verdict was a machine."""

    call_id: str
    at: float
    status: int | None = 200
    machine: bool = False
    amd: str | None = None  # the detector's verdict (human, machine, unsure), when it ran
    amd_confidence: float | None = None


@dataclass(frozen=True)
class CallFailed:
    """The call was never answered: ``outcome`` is busy, no_answer or failed. Final: names the
    ``trunk`` that carried the attempt and its ``cost`` by that trunk's tariff."""

    call_id: str
    at: float
    outcome: str
    status: int | None = None
    trunk: str | None = None
    cost: Decimal | None = None
    billed_seconds: int | None = None
    tariff: str | None = None  # the prefix of the tariff that billed it (the direction)
    fee: Decimal | None = None  # the tariff's connection fee, part of ``cost``


@dataclass(frozen=True)
class CallEnded:
    """An answered call ended; ``by`` is "remote" or "local". Final: names the ``trunk``, its ``cost``
    and the call's ``recording`` (a connected call that was recorded)."""

    call_id: str
    at: float
    by: str
    status: int | None = None
    trunk: str | None = None
    cost: Decimal | None = None
    recording: str | None = None
    billed_seconds: int | None = None
    tariff: str | None = None
    fee: Decimal | None = None


@dataclass(frozen=True)
class Charge:
    """How a finished call was billed: the trunk, the tariff's prefix, the seconds billed by its
    increments, the connection fee and the total (fee included)."""

    trunk: str | None = None
    cost: Decimal | None = None
    billed_seconds: int | None = None
    tariff: str | None = None
    fee: Decimal | None = None

    @classmethod
    def of(cls, update: CallFailed | CallEnded) -> Charge:
        return cls(update.trunk, update.cost, update.billed_seconds, update.tariff, update.fee)


CallUpdate = CallAnswered | CallFailed | CallEnded
UpdateSink = Callable[[CallUpdate], None]


class Telephony(Protocol):
    async def originate(
        self,
        phone: str,
        *,
        caller_id: str | None,
        ring_timeout: float,
        on_update: UpdateSink,
        amd: bool = False,
        call_id: str | None = None,
        extension: str | None = None,
    ) -> str:
        """Start a call with id ``call_id`` (a new one when None); returns its id. Updates follow
        through ``on_update``. With ``amd`` the answer is reported once answering-machine detection
        has decided (``machine``, ``amd``). With ``extension`` its digits are sent as DTMF once the
        call is answered (a company's exchange; no detection then: its greeting is not the person).
        Raises :class:`~dialer.errors.CallNotPlaced` when the call cannot be placed."""
        ...

    def room(self) -> int | None:
        """How many more calls the trunks could take right now (None: no limit known)."""
        ...

    async def connect(self, call_id: str, operator: str) -> None:
        """Bridge the answered client to the operator's (nailed-up) leg."""
        ...

    async def abandon(self, call_id: str) -> None:
        """Play the safe-harbor message to the answered client, then hang up."""
        ...

    def hangup(self, call_id: str) -> None:
        """End the call (or cancel it while it rings)."""
        ...

    def audio(self, call_id: str, *, hold: bool | None = None, mute: bool | None = None) -> None:
        """Hold (the client hears silence, the operator hears nothing) or mute (the client does not hear
        the operator) a bridged call; None leaves that setting as it is."""
        ...

    def send_digits(self, call_id: str, digits: str) -> None:
        """Send DTMF digits (RFC 4733) to the client (a company's voice menu)."""
        ...


class Phones(Protocol):
    """Operators' softphones: called once when the operator goes ready, then kept for the shift."""

    async def call(self, login: str) -> object:
        """Call ``login``'s phone (nothing when its line is already up); raises
        :class:`~dialer.errors.PhoneUnavailable` when it cannot be reached."""
        ...

    def hang_up(self, login: str) -> None:
        """End ``login``'s phone line (nothing when none is up)."""
        ...

    def status(self, login: str) -> PhoneState:
        """Whether ``login``'s phone is registered, its line up, and how long it has been silent."""
        ...
