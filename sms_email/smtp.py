"""Email over SMTP with aiosmtplib: STARTTLS or implicit TLS, AUTH, text + HTML, attachments.

The Message-ID is chosen and stored before the first try and sent with every retry, so a message
whose 250 was lost (a timeout, a crash) and that is sent again is recognisable as the same message
to the receiving system and the person's mail client. Replies: 4xx (and a dropped connection) are
retried with backoff; 5xx fails the message; a recipient refused with 5xx also marks the address on
the lead; an authentication failure (530, 534, 535) parks the channel, since every message would fail
the same way until someone fixes the credentials.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

import aiosmtplib

from dialer.config_channels import SmtpSettings
from dialer.storage.types import utcnow
from sms_email.gateway import Outcome, Outgoing

AUTH_FAILURES = {530, 534, 535}
PARK = 600.0


def new_message_id(settings: SmtpSettings) -> str:
    """A Message-ID in the sender's domain (chosen once, before the first try)."""
    domain = settings.from_address.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


class SmtpGateway:
    """One ``kind = "smtp"`` channel."""

    reports_delivery = False

    def __init__(self, name: str, settings: SmtpSettings) -> None:
        self.name = name
        self._settings = settings
        self._tls: ssl.SSLContext | None = None
        if settings.ca_file is not None:
            self._tls = ssl.create_default_context(cafile=str(settings.ca_file))

    def compose(self, message: Outgoing) -> EmailMessage:
        s = self._settings
        email = EmailMessage()
        email["From"] = formataddr((s.from_name or "", s.from_address))
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = format_datetime(utcnow())
        email["Message-ID"] = message.message_id or new_message_id(s)
        if s.reply_to:
            email["Reply-To"] = s.reply_to
        email.set_content(message.body)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        for item in message.attachments:
            maintype, _, subtype = item.content_type.partition("/")
            email.add_attachment(
                item.data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                filename=item.filename,
            )  # fmt: skip
        return email

    async def send(self, message: Outgoing) -> Outcome:
        s = self._settings
        password = s.password.get_secret_value() if s.password is not None else None
        try:
            await aiosmtplib.send(
                self.compose(message),
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=password,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                tls_context=self._tls,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            said = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)[:300]
            if all(r.code >= 500 for r in exc.recipients):
                return Outcome("failed", reason=f"the server refused the address: {said}", bad_address=True)
            return Outcome("retry", reason=f"the server deferred the address: {said}")
        except aiosmtplib.SMTPResponseException as exc:
            return _refused(exc.code, f"{exc.code} {exc.message}"[:300])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome("retry", reason=f"{type(exc).__name__}: {exc}".strip()[:300])
        return Outcome("sent", gateway_id=message.message_id)

    async def status(self, message: Outgoing, gateway_id: str | None) -> Outcome:
        return Outcome("unknown", reason="SMTP reports no delivery")


def _refused(code: int, said: str) -> Outcome:
    if code in AUTH_FAILURES:
        return Outcome("parked", reason=f"the mail server refused our login: {said}", retry_after=PARK)
    if code >= 500:
        return Outcome("failed", reason=f"the mail server refused the message: {said}")
    return Outcome("retry", reason=f"the mail server deferred the message: {said}")
