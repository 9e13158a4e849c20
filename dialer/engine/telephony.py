"""The seam between the engine and telephony: what the campaign loop asks for, and what it hears.

The engine never touches SIP or RTP classes; it calls a :class:`Telephony` (the SIP trunks and media
in production, an in-memory fake in tests) and receives :class:`CallUpdate` callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol


@dataclass(frozen=True)
class CallUpdate:
    """Something happened to a call. ``at`` is on the engine's monotonic clock.

    ``answered`` (``machine`` tells a detected machine), ``failed`` (``outcome``: busy, no_answer or
    failed), ``ended`` (after an answer; ``by`` is "remote" or "local"). The final update (failed or
    ended) names the ``trunk`` that carried the call and its ``cost`` by that trunk's tariff.
    """

    call_id: str
    kind: Literal["answered", "failed", "ended"]
    at: float
    machine: bool = False
    outcome: str | None = None
    status: int | None = None
    by: str | None = None
    trunk: str | None = None
    cost: Decimal | None = None
    recording: str | None = None  # the call's recording (a connected call that was recorded)
    amd: str | None = None  # answering-machine detection's verdict (human, machine, unsure), when run
    amd_confidence: float | None = None


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
        call is answered (a company's exchange; no detection then: its greeting is not the person)."""
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
