"""Email over SMTP to a real aiosmtpd on loopback with STARTTLS (a throwaway CA made by the test)
and AUTH: text + HTML arrive, a 4xx is retried, a 5xx fails, a refused login parks the channel."""

from __future__ import annotations

import base64
import email
import email.policy
import ssl
from collections import deque
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dialer.config_channels import SmtpSettings
from dialer.errors import Rejected
from sms_email.schema import AttachmentIn
from tests.integration.messaging import make_world
from tests.integration.servers import free_port

pytestmark = pytest.mark.integration


class Mailbox:
    """An aiosmtpd handler that keeps what arrives; ``answers`` overrides the reply to DATA."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.answers: deque[str] = deque()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.answers:
            return self.answers.popleft()
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"dialer",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


@pytest.fixture
def relay(tmp_path: Path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=_authenticator, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    try:
        yield mailbox, port, ca_file
    finally:
        controller.stop()


def _channel(port: int, ca_file: Path, password: str = "s3cret") -> SmtpSettings:
    return SmtpSettings(
        kind="smtp", host="127.0.0.1", port=port, security="starttls", username="dialer", password=password,
        from_address="zaimy@example.net", from_name="Займы", reply_to="help@example.net", ca_file=ca_file,
        timeout=5,
    )  # fmt: skip


@pytest.fixture
async def world(tmp_path, relay):
    _, port, ca_file = relay
    async with aiohttp.ClientSession() as session:
        world = await make_world(tmp_path, {"mail": _channel(port, ca_file)}, session)
        yield world
        await world.engine.dispose()


async def test_text_and_html_arrive_over_starttls_with_auth(world, relay) -> None:
    mailbox, _, _ = relay
    attachment = AttachmentIn(filename="условия.pdf", content_type="application/pdf",
                              content=base64.b64encode(b"%PDF-1.4 fake").decode())  # fmt: skip
    queued = await world.queue(template="details", attachments=[attachment])
    assert queued.recipient == "ivan@example.net" and queued.subject == "Заявка Z-100"
    await world.sender().send_due()
    sent = await world.message(queued.id)
    assert sent.status == "sent" and sent.finished_at is not None
    (received,) = mailbox.messages
    assert received["Subject"] == "Заявка Z-100"
    assert received["Reply-To"] == "help@example.net"
    assert "Займы" in received["From"] and "zaimy@example.net" in received["From"]
    assert received["Message-ID"] == sent.gateway_id
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "Здравствуйте, Иван Петров! Сумма 15000 ₽." in text
    assert "<b>Иван Петров</b>" in html
    (part,) = list(received.iter_attachments())
    assert part.get_filename() == "условия.pdf" and part.get_content() == b"%PDF-1.4 fake"


async def test_a_4xx_is_retried_with_the_same_message_id(world, relay) -> None:
    mailbox, _, _ = relay
    mailbox.answers.append("451 4.3.0 try again later")
    queued = await world.queue(template="details")
    sender = world.sender()
    await sender.send_due()
    waiting = await world.message(queued.id)
    assert waiting.status == "queued" and waiting.reason.startswith("the mail server deferred")
    world.clock.now += timedelta(minutes=1)
    await sender.send_due()
    assert (await world.message(queued.id)).status == "sent"
    (received,) = mailbox.messages
    assert received["Message-ID"] == (await world.message(queued.id)).gateway_id


async def test_a_5xx_fails_the_message(world, relay) -> None:
    mailbox, _, _ = relay
    mailbox.answers.append("554 5.7.1 message refused")
    queued = await world.queue(template="details")
    await world.sender().send_due()
    failed = await world.message(queued.id)
    assert failed.status == "failed" and "554" in failed.reason and not mailbox.messages


async def test_a_refused_login_parks_the_channel(tmp_path, relay) -> None:
    _, port, ca_file = relay
    async with aiohttp.ClientSession() as session:
        world = await make_world(tmp_path, {"mail": _channel(port, ca_file, password="wrong")}, session)
        queued = await world.queue(template="details")
        sender = world.sender()
        await sender.send_due()
        waiting = await world.message(queued.id)
        assert waiting.status == "queued" and "login" in waiting.reason
        assert "mail" in sender.parked
        await world.engine.dispose()


async def test_a_bad_address_is_refused_when_queued(world) -> None:
    with pytest.raises(Rejected) as refused:
        await world.queue(template="details", to="ivan@@example")
    assert refused.value.errors[0].field == "to"
