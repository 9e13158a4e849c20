"""SIP dialogs on the calling side (RFC 3261 sec. 12): identity, route set, CSeq and remote target.

Theory of operation
-------------------
A dialog is born from our INVITE and the first response that carries a To tag: *early* on a 1xx,
*confirmed* on a 2xx (a later 2xx confirms an early one). It is identified by Call-ID, our tag and
the peer's tag. Its route set is the response's Record-Route in reverse order (we are the UAC) and is
fixed once confirmed; its remote target is the Contact of the latest 2xx or target-refreshing request
(re-INVITE, UPDATE) from the peer.

``request(method)`` builds an in-dialog request: next CSeq (ACK and CANCEL reuse the INVITE's, see
:meth:`ack`), Route headers from the route set, and the Request-URI from the remote target, with
strict-route handling when the first route lacks ``;lr`` (sec. 12.2.1.1). ``receive(request)``
checks the peer's CSeq (a request older than the last one is refused with 500, sec. 12.2.2) and
refreshes the remote target. Via and branch are the transaction layer's business; everything here
is pure data manipulation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sip.errors import ParseError
from sip.message import Headers, Request, Response
from sip.uri import NameAddr

TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class DialogId:
    call_id: str
    local_tag: str
    remote_tag: str


@dataclass
class Dialog:
    """One dialog we started with an INVITE (UAC side)."""

    id: DialogId
    local: NameAddr
    remote: NameAddr
    remote_target: str
    route_set: list[str]
    local_cseq: int
    invite_cseq: int
    remote_cseq: int | None = None
    state: DialogState = DialogState.EARLY
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_response(cls, invite: Request, response: Response) -> Dialog:
        """The dialog ``response`` (1xx with a To tag, or 2xx) creates for our ``invite``."""
        remote = response.to
        if remote.tag is None:
            raise ParseError(f"{response.status} response without a To tag creates no dialog")
        local = invite.from_
        if local.tag is None:
            raise ParseError("our INVITE has no From tag")
        contacts = response.headers.get_all("Contact")
        if 200 <= response.status < 300 and not contacts:
            raise ParseError("2xx to INVITE without Contact")
        target = NameAddr.parse(contacts[0]).uri if contacts else invite.uri
        routes = list(reversed(response.headers.get_all("Record-Route")))
        cseq = invite.cseq.number
        dialog = cls(
            id=DialogId(invite.call_id, local.tag, remote.tag),
            local=local,
            remote=remote,
            remote_target=target,
            route_set=routes,
            local_cseq=cseq,
            invite_cseq=cseq,
        )
        if 200 <= response.status < 300:
            dialog.state = DialogState.CONFIRMED
        return dialog

    def matches(self, message: Request | Response) -> bool:
        """Whether ``message`` belongs to this dialog (for requests from the peer, the tags swap)."""
        if message.call_id != self.id.call_id:
            return False
        if isinstance(message, Response):
            return message.from_.tag == self.id.local_tag and message.to.tag == self.id.remote_tag
        return message.to.tag == self.id.local_tag and message.from_.tag == self.id.remote_tag

    def confirm(self, response: Response) -> None:
        """A 2xx for our INVITE: confirm the dialog and take its target (and route set if early)."""
        if not 200 <= response.status < 300:
            return
        contacts = response.headers.get_all("Contact")
        if contacts:
            self.remote_target = NameAddr.parse(contacts[0]).uri
        if self.state is DialogState.EARLY:
            self.route_set = list(reversed(response.headers.get_all("Record-Route")))
            self.state = DialogState.CONFIRMED

    def request(self, method: str, body: bytes = b"", content_type: str | None = None) -> Request:
        """A new in-dialog request (not ACK: see :meth:`ack`). Via is added by the transaction layer."""
        if method in ("ACK", "CANCEL"):
            raise ValueError(f"{method} reuses the INVITE's CSeq: use ack() or build CANCEL from the INVITE")
        self.local_cseq += 1
        if method == "INVITE":
            self.invite_cseq = self.local_cseq
        return self._build(method, self.local_cseq, body, content_type)

    def ack(self, body: bytes = b"", content_type: str | None = None) -> Request:
        """The ACK for the 2xx to the latest INVITE (a new transaction, same CSeq number)."""
        return self._build("ACK", self.invite_cseq, body, content_type)

    def receive(self, request: Request) -> int | None:
        """Account for a request from the peer; the status to refuse it with, or None if it is fine."""
        number = request.cseq.number
        if request.method != "ACK":
            if self.remote_cseq is not None and number < self.remote_cseq:
                return 500  # out of order (sec. 12.2.2)
            self.remote_cseq = number
        if request.method in TARGET_REFRESH:
            contacts = request.headers.get_all("Contact")
            if contacts:
                self.remote_target = NameAddr.parse(contacts[0]).uri
        if request.method == "BYE":
            self.state = DialogState.TERMINATED
        return None

    def _build(self, method: str, cseq: int, body: bytes, content_type: str | None) -> Request:
        headers = Headers()
        uri = self.remote_target
        routes = list(self.route_set)
        if routes and "lr" not in NameAddr.parse(routes[0]).sip_uri.params:
            # strict routing: the first route becomes the Request-URI, the target goes last
            uri = NameAddr.parse(routes[0]).uri
            routes = [*routes[1:], f"<{self.remote_target}>"]
        for route in routes:
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", str(self.local))
        headers.add("To", str(self.remote))
        headers.add("Call-ID", self.id.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        for name, value in self.extra_headers:
            headers.add(name, value)
        if body:
            headers.add("Content-Type", content_type or "application/sdp")
        return Request(method, uri, headers, body)
