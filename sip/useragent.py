"""The user agent a dialer needs on a trunk: register, originate, cancel, hang up, answer OPTIONS.

Theory of operation
-------------------
:meth:`UserAgent.originate` sends an INVITE (fresh Call-ID, From tag and branch) and returns a
:class:`Call` at once. The call reports, in order, ``trying``, ``ringing`` / ``early_media``, then
``answered`` or ``failed``, then ``ended``; :meth:`Call.wait` waits for a final outcome. The rules a
dialer lives on:

- every 2xx is ACKed (the dialog sends an ACK for each retransmitted 2xx too);
- ``cancel()`` sends CANCEL only once a provisional response arrived (RFC 3261 sec. 9.1); before that
  it is remembered and sent on the first 1xx; a 2xx that crosses our CANCEL is ACKed and
  immediately ended with BYE, so a cancelled call can never become a ghost call;
- ``ring_timeout`` cancels a call that rings too long; its outcome is ``no_answer``;
- 401/407 on INVITE are answered once with digest credentials (new branch, next CSeq);
- a BYE from the peer ends the call (200 OK); OPTIONS, re-INVITE and UPDATE are answered 200.

Failures carry the SIP status and a category a dialer can act on (:func:`categorise`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from sip.dialog import Dialog, DialogState
from sip.digest import Challenge, authorization, parse_challenge
from sip.errors import AuthError, SipError
from sip.invite import (
    Action,
    CallState,
    Category,
    InviteClient,
    Notify,
    RetryWithAuth,
    SendBye,
    SendCancel,
    Settled,
    categorise,
)
from sip.message import Message, Request, Response
from sip.stack import Address, SipStack, new_tag, response_to
from sip.transaction import cancel_for
from sip.uri import NameAddr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallProgress:
    """Something that happened to a call at ``at`` (time.monotonic seconds)."""

    kind: str  # trying, ringing, early_media, answered, failed, ended
    at: float
    status: int | None = None
    detail: str = ""


CallerIdIn = Literal["auto", "from", "pai", "rpid", "display"]
"""Where a call's presented number goes. ``from``: the From user (carriers that authenticate by IP);
``pai``: P-Asserted-Identity (RFC 3325) and the From display name, the From user staying the
account (most carriers that authenticate check the From user against the account); ``rpid``:
Remote-Party-ID and the display name; ``display``: the From display name only; ``auto``: ``pai`` when
the trunk has an account, else ``from``."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class Registration:
    """The registrar's answer: ``expires`` granted in seconds (0 when refused), round trip in seconds."""

    status: int
    reason: str
    expires: int
    rtt: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class RegistrationError(SipError):
    """The registrar refused us; ``status`` and the message say why."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Call:
    """One outgoing call. Read ``events``; ``await wait()`` for the outcome.

    The I/O shell around the sans-IO :class:`~sip.invite.InviteClient` (``session``), which decides
    what happens next; the call carries its actions out (messages through the agent, the ring timer,
    the futures its waiters hold, the listener's events with their time)."""

    agent: UserAgent
    invite: Request
    address: Address
    call_id: str
    events: list[CallProgress] = field(default_factory=list)
    dialog: Dialog | None = None
    remote_sdp: bytes = b""
    invited_at: float = field(default_factory=time.monotonic)
    """When the first INVITE was sent (time.monotonic seconds)."""
    listener: Callable[[CallProgress], None] | None = None
    """Called with every event as it happens (for CLIs and the engine's event bus)."""
    session: InviteClient = field(default_factory=InviteClient)
    _outcome: asyncio.Future[CallState] | None = None
    _ended: asyncio.Future[None] | None = None
    _ring_timer: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._outcome = loop.create_future()
        self._ended = loop.create_future()

    @property
    def state(self) -> CallState:
        return self.session.state

    @property
    def status(self) -> int | None:
        return self.session.status

    @property
    def category(self) -> Category | None:
        return self.session.category

    @property
    def hangup_by(self) -> str | None:
        return self.session.hangup_by

    async def wait(self) -> CallState:
        """Until answered or failed."""
        assert self._outcome is not None
        return await asyncio.shield(self._outcome)

    async def wait_ended(self) -> None:
        assert self._ended is not None
        await asyncio.shield(self._ended)

    def cancel(self) -> None:
        """Give up on a call that has not been answered (CANCEL once it has rung)."""
        self.run(self.session.cancel())

    def hangup(self) -> None:
        """End an answered call with BYE (or cancel one that is still ringing)."""
        self.run(self.session.hangup())

    def run(self, actions: list[Action], challenged: Response | None = None) -> None:
        """Carry out the session's ``actions`` in order (``challenged``: the 401/407 to answer)."""
        for action in actions:
            if isinstance(action, Notify):
                event = CallProgress(action.kind, time.monotonic(), action.status, action.detail)
                self.events.append(event)
                if self.listener is not None:
                    self.listener(event)
            elif isinstance(action, SendCancel):
                self.agent._send_cancel(self)
            elif isinstance(action, SendBye):
                self.agent._send_bye(self)
            elif isinstance(action, RetryWithAuth):
                assert challenged is not None
                self.agent._resend_with_auth(self, challenged)
            elif isinstance(action, Settled):
                if self._ring_timer is not None:
                    self._ring_timer.cancel()
                if self._outcome is not None and not self._outcome.done():
                    self._outcome.set_result(action.state)
            else:  # Over
                if self._ended is not None and not self._ended.done():
                    self._ended.set_result(None)
                self.agent._forget(self)


class UserAgent:
    """A SIP user agent on one :class:`SipStack`, talking to one trunk address."""

    def __init__(
        self,
        stack: SipStack,
        trunk: Address,
        *,
        domain: str,
        credentials: Credentials | None = None,
        user_agent: str = "dialer",
        account: str | None = None,
        caller_id_in: CallerIdIn = "from",
        learn_address: bool = True,
    ) -> None:
        """``account``: the From user of our calls when the caller ID goes elsewhere (default: the
        credentials' username); ``caller_id_in``: where the number presented to the callee goes
        (:data:`CallerIdIn`); ``learn_address``: name in Via and Contact the address the trunk saw
        (``received``/``rport`` of its answers, RFC 3581), which is what reaches us through NAT."""
        self.stack = stack
        self.trunk = trunk
        self.domain = domain
        self.credentials = credentials
        self.user_agent = user_agent
        self.account = account or (credentials.username if credentials is not None else None)
        self.caller_id_in = caller_id_in
        self.learn_address = learn_address
        self.media_ports: tuple[int, int] | None = None
        """The UDP port range for the media of this agent's calls (None: any port)."""
        self.calls: dict[str, Call] = {}
        self._byes: set[asyncio.Future[Response | None]] = set()  # BYE transactions not yet answered
        self._register_call_id = f"{uuid.uuid4()}"
        self._registered_contact: Address | None = None
        self._register_cseq = 0
        self._register_tag = new_tag()
        stack.request_handler = self._handle_request

    def _new_request(
        self,
        method: str,
        uri: str,
        *,
        from_user: str,
        to: str,
        call_id: str,
        cseq: int,
        from_tag: str,
        display: str | None = None,
        destination: Address | None = None,
    ) -> Request:
        """An out-of-dialog request with the headers every one of ours carries (RFC 3261 sec. 8.1.1)."""
        destination = destination or self.trunk
        host, port = self.stack.sent_by(destination)
        request = Request(method, uri)
        h = request.headers
        h.add("Via", self.stack.via(destination=destination))
        h.add("Max-Forwards", "70")
        name = f'"{display}" ' if display else ""
        h.add("From", f"{name}<sip:{from_user}@{self.domain}>;tag={from_tag}")
        h.add("To", to)
        h.add("Call-ID", call_id)
        h.add("CSeq", f"{cseq} {method}")
        h.add("Contact", f"<sip:{from_user}@{host}:{port}>")
        h.add("User-Agent", self.user_agent)
        return request

    # -- health -----------------------------------------------------------------------------------

    async def ping(self) -> tuple[int, float]:
        """Send OPTIONS to the trunk; (final status, round trip in seconds). Raises
        :class:`RegistrationError` with status 408 when nothing answers within 64*T1."""
        request = self._new_request(
            "OPTIONS", f"sip:{self.domain}", from_user="ping", to=f"<sip:{self.domain}>",
            call_id=f"{uuid.uuid4()}", cseq=1, from_tag=new_tag(),
        )  # fmt: skip
        started = time.monotonic()
        response = await self._transact(request)
        if response is None:
            waited = 64 * self.stack.timers.t1
            raise RegistrationError(
                f"no answer from {self.trunk[0]}:{self.trunk[1]} within {waited:g} s", 408
            )
        return response.status, time.monotonic() - started

    async def _transact(self, request: Request) -> Response | None:
        """Run a non-INVITE client transaction; its final response, or None on Timer F."""

        def learn(message: Message) -> None:
            if isinstance(message, Response):
                self._learn(message)

        return await self.stack.final_response(request, self.trunk, learn)

    # -- registration -----------------------------------------------------------------------------

    async def register(self, *, expires: int = 600) -> Registration:
        """Register our contact with the trunk (answering one digest challenge, or two when the
        first nonce was stale). Raises :class:`RegistrationError` when refused or unanswered (Timer F,
        64*T1 seconds). When the trunk's answers show that it sees us at another address than the
        Contact we registered (NAT), that address is registered at once."""
        registration = await self._register(expires)
        if self._registered_contact != self.stack.sent_by(self.trunk):
            host, port = self.stack.sent_by(self.trunk)
            log.info("registering the address the trunk sees: %s:%s", host, port)
            registration = await self._register(expires)
        return registration

    async def _register(self, expires: int) -> Registration:
        if self.credentials is None:
            raise RegistrationError("no credentials configured for registration", 0)
        started = time.monotonic()
        authorization_header: tuple[str, str] | None = None
        for _attempt in range(3):
            response = await self._register_once(expires, authorization_header)
            if response is None:
                waited = 64 * self.stack.timers.t1
                raise RegistrationError(
                    f"no answer from {self.trunk[0]}:{self.trunk[1]} within {waited:g} s", 408
                )
            if response.status in (401, 407):
                try:
                    challenge = _challenge_in(response)
                except AuthError as exc:
                    raise RegistrationError(f"cannot answer the challenge: {exc}", response.status) from None
                if authorization_header is not None and not challenge.stale:
                    raise RegistrationError(
                        f"{response.status} {response.reason}: credentials for {self.credentials.username!r} "
                        "were refused (wrong username or password?)",
                        response.status,
                    )
                authorization_header = self._answer(
                    response, challenge, method="REGISTER", uri=f"sip:{self.domain}"
                )
                continue
            if not 200 <= response.status < 300:
                raise RegistrationError(f"{response.status} {response.reason}", response.status)
            return Registration(
                response.status, response.reason, _granted(response, expires), time.monotonic() - started
            )
        raise RegistrationError("registrar keeps challenging", 401)

    async def _register_once(
        self, expires: int, authorization_header: tuple[str, str] | None
    ) -> Response | None:
        assert self.credentials is not None
        self._register_cseq += 1
        user = self.credentials.username
        request = self._new_request(
            "REGISTER", f"sip:{self.domain}", from_user=user, to=f"<sip:{user}@{self.domain}>",
            call_id=self._register_call_id, cseq=self._register_cseq, from_tag=self._register_tag,
        )  # fmt: skip
        h = request.headers
        h.add("Expires", str(expires))
        if authorization_header is not None:
            h.add(*authorization_header)
        self._registered_contact = self.stack.sent_by(self.trunk)
        return await self._transact(request)

    def _learn(self, response: Response) -> None:
        """Take the address the trunk saw us at from its answer's Via (``received`` and ``rport``,
        RFC 3581) as the one to advertise, unless a public address is configured."""
        if not self.learn_address or not response.vias:
            return
        params = response.vias[0].params
        received, rport = params.get("received"), params.get("rport")
        if not received and not rport:
            return
        host, port = self.stack.sent_by(self.trunk)
        seen = (received or host, int(rport) if rport and rport.isdigit() else port)
        if seen != (host, port):
            log.info("the trunk sees us at %s:%s, not %s:%s; advertising that", seen[0], seen[1], host, port)
            self.stack.advertised = seen

    # -- calls ------------------------------------------------------------------------------------

    async def originate(
        self,
        number: str,
        *,
        caller_id: str,
        sdp: bytes = b"",
        headers: Mapping[str, str] | None = None,
        ring_timeout: float | None = None,
        listener: Callable[[CallProgress], None] | None = None,
        uri: str | None = None,
        address: Address | None = None,
        call_id: str | None = None,
    ) -> Call:
        """Place a call to ``number`` (a user part: ``+79123456789``) through the trunk.

        ``uri`` and ``address`` call someone else instead: a registered phone at its Contact URI,
        sent to the address it registered from (``number`` is then only used in logs). ``call_id``:
        the Call-ID to use (the caller recorded it before the INVITE left), a new one when None.
        """
        call_id = call_id or f"{uuid.uuid4()}"
        target = uri or f"sip:{number}@{self.domain}"
        from_user, display, presented = self._identity(caller_id)
        invite = self._new_request(
            "INVITE", target, from_user=from_user, to=f"<{target}>",
            call_id=call_id, cseq=1, from_tag=new_tag(), display=display, destination=address or self.trunk,
        )  # fmt: skip
        for name, value in [*presented, *(headers or {}).items()]:
            invite.headers.add(name, value)
        if sdp:
            invite.headers.add("Content-Type", "application/sdp")
            invite.body = sdp
        call = Call(self, invite, address or self.trunk, call_id, listener=listener)
        self.calls[call_id] = call
        if ring_timeout is not None:
            call._ring_timer = asyncio.get_running_loop().call_later(ring_timeout, self._ring_timeout, call)
        self._send_invite(call)
        return call

    def _identity(self, caller_id: str) -> tuple[str, str | None, list[tuple[str, str]]]:
        """(From user, From display name, extra headers) presenting ``caller_id`` as configured."""
        mode = self.caller_id_in
        if mode == "auto":
            mode = "pai" if self.account else "from"
        if mode == "from" or not caller_id:
            return caller_id or self.account or "dialer", None, []
        account = self.account or "dialer"
        number = f"sip:{caller_id}@{self.domain}"
        if mode == "pai":  # RFC 3325
            return account, caller_id, [("P-Asserted-Identity", f'"{caller_id}" <{number}>')]
        if mode == "rpid":  # draft-ietf-sip-privacy-04, still what many carriers read
            rpid = f'"{caller_id}" <{number}>;party=calling;screen=no;privacy=off'
            return account, caller_id, [("Remote-Party-ID", rpid)]
        return account, caller_id, []  # "display": the From display name only

    def _send_invite(self, call: Call) -> None:
        self.stack.request(
            call.invite,
            call.address,
            lambda m: self._invite_response(call, m),
            lambda timer: self._invite_timeout(call, timer),
        )

    def _invite_response(self, call: Call, message: Message) -> None:
        if not isinstance(message, Response):
            return
        if call.address == self.trunk:
            self._learn(message)
        status = message.status
        if status < 200:
            call.run(call.session.provisional_response(status, early_media=bool(message.body)))
        elif status < 300:
            self._answered(call, message)
        else:
            answerable = status in (401, 407) and self._can_answer(message)
            call.run(call.session.failure(status, can_authenticate=answerable), challenged=message)

    def _answered(self, call: Call, response: Response) -> None:
        """Every 2xx is ACKed (a retransmission or another fork's too); the session decides the rest."""
        dialog = call.dialog
        if dialog is None or dialog.id.remote_tag != response.to.tag:
            try:
                dialog = Dialog.from_response(call.invite, response)
            except SipError:
                return
            call.dialog = dialog
        dialog.confirm(response)
        self.stack.send_raw(self._with_via(dialog.ack(), call.address), call.address)
        if call.session.ringing:
            call.remote_sdp = response.body
        call.run(call.session.success(response.status))

    def _can_answer(self, response: Response) -> bool:
        if self.credentials is None:
            return False
        try:
            _challenge_in(response)
        except AuthError:
            return False
        return True

    def _resend_with_auth(self, call: Call, response: Response) -> None:
        invite = Request(call.invite.method, call.invite.uri, call.invite.headers.copy(), call.invite.body)
        invite.headers.set("Via", self.stack.via(destination=call.address))
        invite.headers.set("CSeq", f"{call.invite.cseq.number + 1} INVITE")
        invite.headers.add(*self._answer(response, _challenge_in(response), method="INVITE", uri=invite.uri))
        call.invite = invite
        self._send_invite(call)

    def _answer(self, response: Response, challenge: Challenge, *, method: str, uri: str) -> tuple[str, str]:
        """The (header, value) answering a 401 or 407 ``challenge`` with our credentials."""
        assert self.credentials is not None
        value = authorization(
            challenge,
            username=self.credentials.username,
            password=self.credentials.password,
            method=method,
            uri=uri,
            cnonce=uuid.uuid4().hex[:16],
        )
        return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)

    def _invite_timeout(self, call: Call, timer: str) -> None:
        call.run(call.session.timed_out())

    def _ring_timeout(self, call: Call) -> None:
        call.run(call.session.ring_timeout())

    def _send_cancel(self, call: Call) -> None:
        self.stack.request(cancel_for(call.invite), call.address, _ignore_message, _ignore_timeout)

    def _send_bye(self, call: Call) -> None:
        if call.dialog is None or call.dialog.state is DialogState.TERMINATED:
            return
        bye = self._with_via(call.dialog.request("BYE"), call.address)
        call.dialog.state = DialogState.TERMINATED
        answered = self.stack.final_response(bye, call.address)
        self._byes.add(answered)
        answered.add_done_callback(self._byes.discard)

    async def settle(self, within: float = 5.0) -> None:
        """Wait (``within`` seconds at most) until every BYE sent is answered or has timed out, so
        that a process stopping after hanging up leaves no call up at the far end."""
        if self._byes:
            await asyncio.wait(set(self._byes), timeout=within)

    def _with_via(self, request: Request, destination: Address) -> Request:
        request.headers.prepend("Via", self.stack.via(destination=destination))
        return request

    def _forget(self, call: Call) -> None:
        # keep the call while retransmitted 2xx or BYE may still arrive (64*T1), then let it go
        linger = 64 * self.stack.timers.t1
        asyncio.get_running_loop().call_later(linger, self.calls.pop, call.call_id, None)

    # -- requests from the network ----------------------------------------------------------------

    def _handle_request(self, request: Request, address: Address) -> None:
        if request.method == "ACK":
            return
        call = self.calls.get(request.call_id)
        if request.method == "OPTIONS":
            ok = response_to(request, 200, "OK", to_tag=new_tag())
            ok.headers.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE")
            self.stack.respond(request, ok)
            return
        if call is None or call.dialog is None or not call.dialog.matches(request):
            self.stack.respond(
                request, response_to(request, 481, "Call/Transaction Does Not Exist", to_tag=new_tag())
            )
            return
        refusal = call.dialog.receive(request)
        if refusal is not None:
            self.stack.respond(request, response_to(request, refusal, "Server Internal Error"))
            return
        if request.method == "BYE":
            self.stack.respond(request, response_to(request, 200, "OK"))
            call.run(call.session.ended("remote", 200))
        elif request.method in ("INVITE", "UPDATE"):
            ok = response_to(request, 200, "OK")
            host, port = self.stack.sent_by(address)
            ok.headers.add("Contact", f"<sip:dialer@{host}:{port}>")
            self.stack.respond(request, ok)
        else:
            self.stack.respond(request, response_to(request, 405, "Method Not Allowed"))


def _challenge_in(response: Response) -> Challenge:
    """The digest challenge of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate); AuthError if none."""
    header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
    return parse_challenge(response.headers.get(header) or "")


def _granted(response: Response, asked: int) -> int:
    """Expires the registrar granted: our Contact's ``expires`` parameter, else the Expires header."""
    for contact in response.headers.get_all("Contact"):
        value = NameAddr.parse(contact).params.get("expires")
        if value and value.isdigit():
            return int(value)
    header = response.headers.get("Expires")
    return int(header) if header and header.strip().isdigit() else asked


def _ignore_message(_: Message) -> None:
    return None


def _ignore_timeout(_: str) -> None:
    return None


__all__ = [
    "Call",
    "CallProgress",
    "CallState",
    "Category",
    "Credentials",
    "Registration",
    "RegistrationError",
    "UserAgent",
    "categorise",
]
