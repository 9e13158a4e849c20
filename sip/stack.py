"""The asyncio shell around the sans-IO core: a UDP transport and the transaction layer on the loop.

Theory of operation
-------------------
:class:`SipStack` owns one UDP socket. Outgoing requests start a client transaction
(:mod:`sip.transaction`); its actions are carried out here: ``Send`` goes to the socket, timers become
``loop.call_later`` handles keyed by transaction and timer name, ``Deliver``/``TimedOut`` call the
callbacks the caller gave. Incoming responses are matched to client transactions by the top Via's
branch and the CSeq method (RFC 3261 sec. 17.1.3); incoming requests to server transactions by branch
and method (ACK matches its INVITE), and requests that match none go to the request handler, which
answers through :meth:`SipStack.respond`. ACKs for 2xx match nothing and are handed to the handler.

Malformed datagrams are counted and dropped; a malformed request whose Via and Call-ID could still be
read gets a 400 with the parser's reason. Nothing here blocks, and :meth:`close` cancels every timer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sip.errors import ParseError
from sip.message import Headers, Message, Request, Response, parse_message
from sip.transaction import (
    Action,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    Deliver,
    Send,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    StartTimer,
    StopTimer,
    Terminated,
    TimedOut,
    Timers,
)

log = logging.getLogger(__name__)

Address = tuple[str, int]
Transaction = (
    ClientInviteTransaction
    | ClientNonInviteTransaction
    | ServerInviteTransaction
    | ServerNonInviteTransaction
)


UNSPECIFIED = ("0.0.0.0", "::", "")


def route_address(remote: Address) -> str:
    """Our IP address on the route to ``remote`` (the kernel's choice; no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(remote)
        return str(probe.getsockname()[0])


def new_branch() -> str:
    """A globally unique RFC 3261 branch (magic cookie + uuid4)."""
    return f"z9hG4bK{uuid.uuid4().hex}"


def new_tag() -> str:
    return uuid.uuid4().hex[:16]


class NoiseLog:
    """Malformed datagrams summed up instead of logged one by one: a public SIP port hears scanners
    all day. The first one from a source in a minute is logged with its reason (a sample); the rest
    of that minute are counted, and the count is logged when the minute is over (at the next
    datagram). At most ``sources`` sources are tracked per minute; the others are counted together."""

    def __init__(self, *, period: float = 60.0, sources: int = 1000) -> None:
        self.period = period
        self.sources = sources
        self._started: float | None = None
        self._counts: dict[str, int] = {}
        self._overflow = 0

    def record(self, source: str, reason: str, now: float) -> None:
        if self._started is None or now - self._started >= self.period:
            self.flush()
            self._started = now
        if source in self._counts:
            self._counts[source] += 1
        elif len(self._counts) < self.sources:
            self._counts[source] = 1
            log.warning("dropped malformed SIP from %s: %s (more from it this minute are counted)",
                        source, reason[:200])  # fmt: skip
        else:
            self._overflow += 1

    def flush(self) -> None:
        """Log what the current minute counted beyond its samples."""
        repeated = {source: n - 1 for source, n in self._counts.items() if n > 1}
        if repeated or self._overflow:
            top = sorted(repeated.items(), key=lambda item: -item[1])[:5]
            log.warning("dropped %s more malformed SIP datagram(s) in the last minute; most from %s",
                        sum(repeated.values()) + self._overflow,
                        ", ".join(f"{source} ({n})" for source, n in top) or "many sources")  # fmt: skip
        self._counts.clear()
        self._overflow = 0


@dataclass
class _Entry:
    transaction: Transaction
    address: Address
    on_message: Callable[[Message], None]
    on_timeout: Callable[[str], None]
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, stack: SipStack) -> None:
        self.stack = stack

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.stack._datagram(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.warning("SIP socket error: %s", exc)


def response_to(request: Request, status: int, reason: str, *, to_tag: str | None = None) -> Response:
    """A response to ``request`` copying Via, From, To (with ``to_tag`` added), Call-ID, CSeq."""
    headers = Headers()
    for via in request.headers.get_all("Via"):
        headers.add("Via", via)
    headers.add("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    if to_tag and ";tag=" not in to:
        to = f"{to};tag={to_tag}"
    headers.add("To", to)
    headers.add("Call-ID", request.headers.get("Call-ID") or "")
    headers.add("CSeq", request.headers.get("CSeq") or "")
    return Response(status, reason, headers)


class SipStack:
    """One UDP socket, its transactions and their timers."""

    def __init__(self, timers: Timers | None = None) -> None:
        self.timers = timers or Timers()
        self._transport: asyncio.DatagramTransport | None = None
        self._clients: dict[tuple[str, str], _Entry] = {}
        self._servers: dict[tuple[str, str], _Entry] = {}
        self.request_handler: Callable[[Request, Address], None] = self._default_handler
        """Where requests no :meth:`route` claims go (the user agent sets itself here)."""
        self._routes: dict[str, Callable[[Request, Address], None]] = {}
        self.malformed = 0
        self.noise = NoiseLog()
        self.local: Address = ("0.0.0.0", 0)
        self.advertised: Address | None = None
        """What Via and Contact name instead of the socket's address: a configured public address
        (a dialer behind NAT) or the one the far end saw (``received``/``rport``, RFC 3581)."""
        self._seq = itertools.count()

    def route(self, method: str, handler: Callable[[Request, Address], None]) -> None:
        """Requests of ``method`` (e.g. REGISTER, to a registrar) go to ``handler``; the others to
        :attr:`request_handler`, whichever was set first."""
        self._routes[method.upper()] = handler

    def _handler(self, method: str) -> Callable[[Request, Address], None]:
        return self._routes.get(method, self.request_handler)

    async def open(self, host: str = "127.0.0.1", port: int = 0) -> Address:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), local_addr=(host, port))
        self._transport = transport
        sockname = transport.get_extra_info("sockname")
        self.local = (sockname[0], sockname[1])
        return self.local

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def close(self) -> None:
        self.noise.flush()
        for entry in [*self._clients.values(), *self._servers.values()]:
            for handle in entry.timers.values():
                handle.cancel()
        self._clients.clear()
        self._servers.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def transaction_count(self) -> int:
        return len(self._clients) + len(self._servers)

    def sent_by(self, destination: Address | None = None) -> Address:
        """The address to name in Via and Contact for a message to ``destination``: the advertised
        one, else the socket's; a socket bound to every interface names the interface that routes to
        ``destination`` (never 0.0.0.0, which nobody can reach)."""
        if self.advertised is not None:
            return self.advertised
        host, port = self.local
        if host in UNSPECIFIED and destination is not None:
            host = route_address(destination)
        return (host, port)

    def via(self, branch: str | None = None, destination: Address | None = None) -> str:
        host, port = self.sent_by(destination)
        return f"SIP/2.0/UDP {host}:{port};branch={branch or new_branch()};rport"

    # -- sending ----------------------------------------------------------------------------------

    def send_raw(self, message: Message, address: Address) -> None:
        """Send outside any transaction (ACK for a 2xx, stateless responses)."""
        if self._transport is not None:
            self._transport.sendto(bytes(message), address)

    def request(
        self,
        request: Request,
        address: Address,
        on_message: Callable[[Message], None],
        on_timeout: Callable[[str], None],
    ) -> Transaction:
        """Start a client transaction for ``request`` (its top Via must carry a fresh branch)."""
        cls = ClientInviteTransaction if request.method == "INVITE" else ClientNonInviteTransaction
        transaction = cls(request, timers=self.timers, reliable=False)
        key = (transaction.branch, request.method)
        entry = _Entry(transaction, address, on_message, on_timeout)
        self._clients[key] = entry
        self._apply(self._clients, key, entry, transaction.start())
        return transaction

    def final_response(
        self, request: Request, address: Address, on_message: Callable[[Message], None] | None = None
    ) -> asyncio.Future[Response | None]:
        """Start a non-INVITE client transaction for ``request``; the future holds its final
        response, or None when it timed out. ``on_message`` sees every message as it comes."""
        done: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()

        def answered(message: Message) -> None:
            if on_message is not None:
                on_message(message)
            if isinstance(message, Response) and message.status >= 200 and not done.done():
                done.set_result(message)

        def timed_out(_: str) -> None:
            if not done.done():
                done.set_result(None)

        self.request(request, address, answered, timed_out)
        return done

    def respond(self, request: Request, response: Response) -> None:
        """Answer a request that reached the request handler (through its server transaction)."""
        key = self._server_key(request)
        entry = self._servers.get(key)
        if entry is None:
            return
        transaction = entry.transaction
        assert isinstance(transaction, ServerInviteTransaction | ServerNonInviteTransaction)
        self._apply(self._servers, key, entry, transaction.respond(response))

    # -- receiving --------------------------------------------------------------------------------

    def _datagram(self, data: bytes, address: Address) -> None:
        if not data.strip(b"\r\n"):
            return  # keep-alive
        try:
            message = parse_message(data)
        except ParseError as exc:
            self.malformed += 1
            self.noise.record(address[0], exc.reason, self._now())
            self._reject_malformed(data, exc, address)
            return
        if isinstance(message, Response):
            self._response(message)
        else:
            self._request(message, address)

    def _response(self, response: Response) -> None:
        vias = response.vias
        key = (vias[0].branch or "", response.cseq.method)
        entry = self._clients.get(key)
        if entry is None:
            log.debug("stray %s response for %s", response.status, key)
            return
        transaction = entry.transaction
        assert isinstance(transaction, ClientInviteTransaction | ClientNonInviteTransaction)
        self._apply(self._clients, key, entry, transaction.receive(response))

    def _request(self, request: Request, address: Address) -> None:
        key = self._server_key(request)
        entry = self._servers.get(key)
        if entry is not None:
            transaction = entry.transaction
            assert isinstance(transaction, ServerInviteTransaction | ServerNonInviteTransaction)
            self._apply(self._servers, key, entry, transaction.receive(request))
            return
        if request.method == "ACK":
            self._handler("ACK")(request, address)  # ACK for a 2xx: the dialog's business
            return
        reply_to = self._reply_address(request, address)
        handler = self._handler(request.method)

        def deliver(message: Message) -> None:
            if isinstance(message, Request):
                handler(message, address)

        if request.method == "INVITE":
            invite = ServerInviteTransaction(request, timers=self.timers, reliable=False)
            entry = _Entry(invite, reply_to, deliver, _ignore)
            self._servers[key] = entry
            self._apply(self._servers, key, entry, invite.start(response_to(request, 100, "Trying")))
        else:
            other = ServerNonInviteTransaction(request, timers=self.timers, reliable=False)
            entry = _Entry(other, reply_to, deliver, _ignore)
            self._servers[key] = entry
            self._apply(self._servers, key, entry, other.start())

    @staticmethod
    def _server_key(request: Request) -> tuple[str, str]:
        method = "INVITE" if request.method == "ACK" else request.method
        return (request.vias[0].branch or "", method)

    @staticmethod
    def _reply_address(request: Request, source: Address) -> Address:
        """Where responses go: the source port when rport was asked for (RFC 3581), else the Via's."""
        via = request.vias[0]
        if "rport" in via.params:
            return source
        return (source[0], via.port or 5060)

    def _reject_malformed(self, data: bytes, error: ParseError, address: Address) -> None:
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        if head.upper().startswith("SIP/"):
            return  # never answer a response
        headers = Headers()
        for line in head.splitlines()[1:]:
            name, colon, value = line.partition(":")
            if colon and name.strip().lower() in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"):
                headers.add(name.strip(), value.strip())
        if "Via" in headers and "Call-ID" in headers:
            reason = error.reason.replace("\r", " ").replace("\n", " ")[:100]
            self.send_raw(Response(error.status, f"Bad Request ({reason})", headers), address)

    # -- carrying out actions ---------------------------------------------------------------------

    def _apply(
        self, table: dict[tuple[str, str], _Entry], key: tuple[str, str], entry: _Entry, actions: list[Action]
    ) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.send_raw(action.message, entry.address)
            elif isinstance(action, StartTimer):
                old = entry.timers.pop(action.name, None)
                if old is not None:
                    old.cancel()
                loop = asyncio.get_running_loop()
                entry.timers[action.name] = loop.call_later(
                    action.seconds, self._timer, table, key, action.name
                )
            elif isinstance(action, StopTimer):
                handle = entry.timers.pop(action.name, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(action, Deliver):
                entry.on_message(action.message)
            elif isinstance(action, TimedOut):
                entry.on_timeout(action.timer)
            elif isinstance(action, Terminated):
                for handle in entry.timers.values():
                    handle.cancel()
                entry.timers.clear()
                table.pop(key, None)

    def _timer(self, table: dict[tuple[str, str], _Entry], key: tuple[str, str], name: str) -> None:
        entry = table.get(key)
        if entry is None:
            return
        entry.timers.pop(name, None)
        self._apply(table, key, entry, entry.transaction.timer(name))

    def _default_handler(self, request: Request, address: Address) -> None:
        if request.method != "ACK":
            self.respond(request, response_to(request, 501, "Not Implemented", to_tag=new_tag()))


def _ignore(_: str) -> None:
    return None
