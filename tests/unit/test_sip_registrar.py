"""The registrar driven by hand: challenge, digest check, bindings, expiry, stale nonces, refusals."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sip.digest import authorization, parse_challenge
from sip.message import Request, Response, parse_message
from sip.registrar import Binding, Registrar
from sip.stack import Address

PHONE: Address = ("192.0.2.10", 5062)


@dataclass
class FakeStack:
    """What the registrar uses of a SipStack: route() and respond()."""

    sent: list[Response] = field(default_factory=list)
    routes: dict[str, object] = field(default_factory=dict)

    def route(self, method: str, handler: object) -> None:
        self.routes[method] = handler

    def respond(self, request: Request, response: Response) -> None:
        self.sent.append(response)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def register(
    *, cseq: int = 1, auth: str | None = None, expires: int = 600, contact: str | None = None
) -> Request:
    lines = [
        "REGISTER sip:dialer.local SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-1",
        "Max-Forwards: 70",
        "From: <sip:100@dialer.local>;tag=a1",
        "To: <sip:100@dialer.local>",
        "Call-ID: reg-1",
        f"CSeq: {cseq} REGISTER",
        f"Contact: {contact or '<sip:100-abc@192.0.2.10:5062>'}",
        f"Expires: {expires}",
        "User-Agent: softphone/1.0",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    message = parse_message(("\r\n".join([*lines, "Content-Length: 0", "", ""])).encode())
    assert isinstance(message, Request)
    return message


def setup(password: str = "s3cret") -> tuple[Registrar, FakeStack, Clock, list]:
    stack, clock, changes = FakeStack(), Clock(), []
    registrar = Registrar(
        stack,
        realm="dialer",
        password_of={"100": password}.get,
        clock=clock,  # type: ignore[arg-type]
        on_change=lambda user, binding: changes.append((user, binding)),
    )
    registrar.install()
    return registrar, stack, clock, changes


def answer(stack: FakeStack, password: str, **kwargs) -> Request:
    """A REGISTER answering the newest challenge the registrar sent."""
    last = next(r for r in reversed(stack.sent) if r.status == 401)
    challenge = parse_challenge(last.headers.get("WWW-Authenticate") or "")
    auth = authorization(
        challenge,
        username="100",
        password=password,
        method="REGISTER",
        uri="sip:dialer.local",
        cnonce="c0ffee",
    )
    return register(cseq=2, auth=auth, **kwargs)


def test_challenge_then_binding_with_the_source_address() -> None:
    registrar, stack, _, changes = setup()
    registrar.handle(register(), PHONE)
    assert stack.sent[-1].status == 401
    assert 'realm="dialer"' in (stack.sent[-1].headers.get("WWW-Authenticate") or "")
    registrar.handle(answer(stack, "s3cret"), PHONE)
    ok = stack.sent[-1]
    assert ok.status == 200 and "expires=600" in (ok.headers.get("Contact") or "")
    binding = registrar.binding("100")
    assert binding is not None
    assert (binding.contact, binding.address, binding.user_agent) == (
        "sip:100-abc@192.0.2.10:5062",
        PHONE,
        "softphone/1.0",
    )
    assert changes == [("100", binding)]


def test_wrong_password_and_unknown_user_are_forbidden() -> None:
    registrar, stack, _, changes = setup()
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "guess"), PHONE)
    assert stack.sent[-1].status == 403
    assert registrar.binding("100") is None and changes == []


def test_binding_expires_and_unregister_removes_it() -> None:
    registrar, stack, clock, changes = setup()
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "s3cret", expires=120), PHONE)
    clock.now += 119
    assert registrar.binding("100") is not None
    clock.now += 2
    assert registrar.binding("100") is None
    assert changes[-1] == ("100", None)
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "s3cret"), PHONE)
    registrar.handle(answer(stack, "s3cret", expires=0), PHONE)
    assert registrar.binding("100") is None and stack.sent[-1].status == 200


def test_too_brief_interval_and_stale_nonce() -> None:
    registrar, stack, clock, _ = setup()
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "s3cret", expires=10), PHONE)
    assert stack.sent[-1].status == 423 and stack.sent[-1].headers.get("Min-Expires") == "60"
    registrar.handle(register(), PHONE)
    late = answer(stack, "s3cret")
    clock.now += 400
    registrar.handle(late, PHONE)
    assert stack.sent[-1].status == 401
    assert "stale=true" in (stack.sent[-1].headers.get("WWW-Authenticate") or "")


def test_the_registrar_takes_only_register_and_garbage_gets_400() -> None:
    registrar, stack, _, _ = setup()
    assert stack.routes == {"REGISTER": registrar.handle}  # the stack sends it REGISTER, nothing else
    invite = register()
    invite.method = "INVITE"  # type: ignore[misc]
    registrar.handle(invite, PHONE)
    assert stack.sent[-1].status == 405
    registrar.handle(register(auth="Digest nonsense"), PHONE)
    assert stack.sent[-1].status in (400, 403)


def test_a_registrar_that_stores_only_ha1_accepts_the_right_password() -> None:
    from sip.digest import ha1_md5

    stack, clock = FakeStack(), Clock()
    stored = {"100": ha1_md5("100", "dialer", "s3cret")}
    registrar = Registrar(stack, realm="dialer", ha1_of=stored.get, clock=clock)  # type: ignore[arg-type]
    registrar.install()
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "wrong"), PHONE)
    assert stack.sent[-1].status == 403
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "s3cret"), PHONE)
    assert stack.sent[-1].status == 200 and registrar.binding("100") is not None
    with pytest.raises(ValueError, match="not both"):
        Registrar(stack, realm="dialer")  # type: ignore[arg-type]


def test_restored_bindings_are_served_until_they_expire() -> None:
    registrar, _, clock, changes = setup()
    registrar.restore(Binding("100", "sip:100-abc@192.0.2.10:5062", PHONE, clock.now + 300))
    registrar.restore(Binding("200", "sip:200@192.0.2.11", ("192.0.2.11", 5060), clock.now - 1))
    assert changes == []  # what was remembered is not news
    restored = registrar.binding("100")
    assert restored is not None and restored.address == PHONE
    assert registrar.binding("200") is None  # expired while the registrar was down
    clock.now += 301
    assert registrar.binding("100") is None
    assert changes == [("100", None)]  # its expiry is


def test_a_guard_slows_digest_guessing_per_account_and_address() -> None:
    """With the dialer's throttle as guard: five wrong digests, then even the right one is refused
    (403, not checked) until the wait is over; then it registers."""
    from dialer.throttle import Throttle

    stack, clock = FakeStack(), Clock()
    throttle = Throttle(free=5, base=30.0, clock=clock)
    registrar = Registrar(stack, realm="dialer", password_of={"100": "s3cret"}.get, clock=clock,  # type: ignore[arg-type]
                          guard=throttle)  # fmt: skip
    registrar.install()
    for _ in range(5):
        registrar.handle(register(), PHONE)
        registrar.handle(answer(stack, "guess"), PHONE)
        assert stack.sent[-1].status == 403
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "s3cret"), PHONE)
    assert stack.sent[-1].status == 403 and "too many" in stack.sent[-1].reason
    assert registrar.binding("100") is None
    clock.now += 31.0
    registrar.handle(register(), PHONE)
    registrar.handle(answer(stack, "s3cret"), PHONE)
    assert stack.sent[-1].status == 200
    assert registrar.binding("100") is not None
