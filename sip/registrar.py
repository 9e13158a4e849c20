"""A registrar for operators' phones (RFC 3261 section 10.3) with digest authentication (RFC 8760/2617).

Any softphone (baresip, MicroSIP, Zoiper, Linphone) registers its extension to the dialer; the
dialer then calls the phone at the contact it registered, sending to the address the REGISTER came
from (phones behind NAT are reached that way). Credentials come from a lookup function (the operator
records); a nonce is an HMAC of its issue time, so no state is kept per challenge and a nonce older
than five minutes is answered with ``stale=true``.

:meth:`Registrar.install` has the stack route REGISTER here (:meth:`sip.stack.SipStack.route`);
every other request goes to the stack's handler (the user agent), whichever was set up first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sip.digest import Credentials, expected_response, parse_credentials
from sip.errors import AuthError, ParseError
from sip.message import Request
from sip.stack import Address, SipStack, new_tag, response_to
from sip.uri import NameAddr

NONCE_LIFETIME = 300.0


@dataclass(frozen=True)
class Binding:
    """Where an extension can be called now."""

    user: str
    contact: str  # the Contact URI the phone registered
    address: Address  # where its REGISTER came from
    expires_at: float  # monotonic seconds
    user_agent: str | None = None


class Guard(Protocol):
    """Slows password guessing (the dialer's ``Throttle``): asked before a digest is checked, told of
    every failure and success. Keys name the account and the source address."""

    def keys(self, account: str, address: str | None) -> tuple[str, ...]: ...

    def wait(self, keys: tuple[str, ...]) -> float: ...

    def failed(self, keys: tuple[str, ...]) -> float: ...

    def succeeded(self, keys: tuple[str, ...]) -> None: ...


class Registrar:
    """Answers REGISTER for ``realm``; ``password_of(user)`` gives a user's password or None.

    With a ``guard``, a digest from an account or address that failed too often lately is refused
    with 403 without being checked, and every failure is logged once by the caller's guard.
    """

    def __init__(
        self,
        stack: SipStack,
        *,
        realm: str,
        password_of: Callable[[str], str | None] | None = None,
        ha1_of: Callable[[str], str | None] | None = None,
        min_expires: int = 60,
        max_expires: int = 3600,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, Binding | None], None] | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.stack = stack
        self.guard = guard
        self.realm = realm
        if (password_of is None) == (ha1_of is None):
            raise ValueError("give password_of or ha1_of (stored MD5 HA1), not both")
        self.password_of = password_of
        self.ha1_of = ha1_of
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.clock = clock
        self.on_change = on_change
        self.bindings: dict[str, Binding] = {}
        self._secret = secrets.token_bytes(16)

    def install(self) -> None:
        """Have the stack route REGISTER here (the other requests go where they went: the order in
        which the registrar and a user agent are set up on the stack does not matter)."""
        self.stack.route("REGISTER", self.handle)

    def restore(self, binding: Binding) -> None:
        """Take back a binding remembered from before a restart (no ``on_change``)."""
        if binding.expires_at > self.clock():
            self.bindings[binding.user] = binding

    def binding(self, user: str) -> Binding | None:
        """The user's live binding, or None (expired ones are dropped)."""
        found = self.bindings.get(user)
        if found is not None and found.expires_at <= self.clock():
            del self.bindings[user]
            if self.on_change is not None:
                self.on_change(user, None)
            return None
        return found

    def handle(self, request: Request, address: Address) -> None:
        if request.method != "REGISTER":
            self._respond(request, 405, "Method Not Allowed")
            return
        try:
            self._register(request, address)
        except (ParseError, AuthError, ValueError) as exc:
            self._respond(request, 400, f"Bad Request ({exc})"[:120])

    def _register(self, request: Request, address: Address) -> None:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            self._challenge(request, stale=False)
            return
        credentials = parse_credentials(authorization)
        stale = not self._nonce_fresh(credentials.nonce)
        keys = self.guard.keys(credentials.username, address[0]) if self.guard is not None else ()
        if self.guard is not None and self.guard.wait(keys) > 0:
            self._respond(request, 403, "Forbidden (too many failed attempts; wait)")
            return
        if credentials.realm != self.realm or not self._valid(credentials, request):
            if self.guard is not None:
                self.guard.failed(keys)
            self._respond(request, 403, "Forbidden")
            return
        if self.guard is not None:
            self.guard.succeeded(keys)
        if stale:
            self._challenge(request, stale=True)
            return
        to = NameAddr.parse(request.headers.get("To") or "").sip_uri
        if to.user != credentials.username:
            self._respond(request, 403, "Forbidden (To does not match the authenticated user)")
            return
        self._bind(request, address, credentials.username)

    def _bind(self, request: Request, address: Address, user: str) -> None:
        contact_header = request.headers.get("Contact")
        now = self.clock()
        if contact_header is None:  # a query: answer with the current binding
            self._ok(request, self.binding(user), now)
            return
        expires_text = request.headers.get("Expires", "3600") or "3600"
        if contact_header.strip() == "*":
            expires = 0
            contact = None
        else:
            contact = NameAddr.parse(contact_header.split(",")[0])
            expires_text = contact.params.get("expires") or expires_text
            expires = int(expires_text)
        if 0 < expires < self.min_expires:
            response = response_to(request, 423, "Interval Too Brief", to_tag=new_tag())
            response.headers.add("Min-Expires", str(self.min_expires))
            self.stack.respond(request, response)
            return
        if expires == 0 or contact is None:
            removed = self.bindings.pop(user, None)
            if removed is not None and self.on_change is not None:
                self.on_change(user, None)
            self._ok(request, None, now)
            return
        binding = Binding(
            user,
            str(contact.uri),
            address,
            now + min(expires, self.max_expires),
            request.headers.get("User-Agent"),
        )
        self.bindings[user] = binding
        if self.on_change is not None:
            self.on_change(user, binding)
        self._ok(request, binding, now)

    def _ok(self, request: Request, binding: Binding | None, now: float) -> None:
        response = response_to(request, 200, "OK", to_tag=new_tag())
        if binding is not None:
            response.headers.add("Contact", f"<{binding.contact}>;expires={int(binding.expires_at - now)}")
        self.stack.respond(request, response)

    def _challenge(self, request: Request, *, stale: bool) -> None:
        response = response_to(request, 401, "Unauthorized", to_tag=new_tag())
        value = f'Digest realm="{self.realm}", nonce="{self._nonce()}", algorithm=MD5, qop="auth"'
        response.headers.add("WWW-Authenticate", value + (", stale=true" if stale else ""))
        self.stack.respond(request, response)

    def _respond(self, request: Request, status: int, reason: str) -> None:
        self.stack.respond(request, response_to(request, status, reason, to_tag=new_tag()))

    def _nonce(self) -> str:
        issued = f"{self.clock():.3f}"
        mac = hmac.new(self._secret, issued.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{issued}-{mac}"

    def _nonce_fresh(self, nonce: str) -> bool:
        issued, _, mac = nonce.partition("-")
        expected = hmac.new(self._secret, issued.encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(mac, expected):
            return False
        try:
            return self.clock() - float(issued) < NONCE_LIFETIME
        except ValueError:
            return False

    def _valid(self, credentials: Credentials, request: Request) -> bool:
        if self.password_of is not None:
            password = self.password_of(credentials.username)
            if password is None:
                return False
            expected = expected_response(
                credentials, password=password, method=request.method, body=request.body
            )
        else:
            assert self.ha1_of is not None
            if credentials.algorithm.upper() != "MD5":
                return False
            ha1 = self.ha1_of(credentials.username)
            if ha1 is None:
                return False
            expected = expected_response(credentials, ha1=ha1, method=request.method, body=request.body)
        return hmac.compare_digest(expected, credentials.response)
