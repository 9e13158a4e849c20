"""The seam between the outbox and the ways out: what is sent, what came of it.

Each channel kind (:mod:`sms_email.smsc`, :mod:`sms_email.http_gateway`, :mod:`sms_email.smtp`)
implements :class:`Gateway`; the sender (:mod:`sms_email.sender`) knows nothing of their protocols,
and tests drive it with a fake one. A gateway never raises for a remote fault: every answer, hang or
refusal becomes an :class:`Outcome` that says whose fault it was and whether to try again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

State = Literal["sent", "delivered", "failed", "retry", "parked", "unknown"]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Outgoing:
    """One message as a gateway sees it. ``id`` is ours and stable across retries (SMSC's ``id``);
    ``maybe_sent`` says an earlier try may have reached the gateway (its answer was lost)."""

    id: int
    recipient: str
    body: str
    subject: str | None = None
    html: str | None = None
    message_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    maybe_sent: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of a send or a status check.

    ``sent``/``delivered``: done (delivered is final); ``failed``: permanent, with the gateway's
    ``reason`` (``bad_address``: the phone or address itself is wrong); ``retry``: try again after
    ``retry_after`` seconds or the usual backoff; ``parked``: the channel cannot send anything now
    (no funds, credentials refused) and waits ``retry_after``; ``unknown``: a status check learnt
    nothing new (still on its way, or the gateway does not know the message)."""

    state: State
    reason: str | None = None
    gateway_id: str | None = None
    parts: int | None = None
    cost: Decimal | None = None
    retry_after: float | None = None
    bad_address: bool = False
    not_found: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class Gateway(Protocol):
    """A configured channel. ``reports_delivery``: :meth:`status` can tell sent from delivered."""

    name: str
    reports_delivery: bool

    async def send(self, message: Outgoing) -> Outcome: ...

    async def status(self, message: Outgoing, gateway_id: str | None) -> Outcome: ...
