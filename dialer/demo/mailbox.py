"""The demo's local mailbox: an SMTP server on loopback (aiosmtpd) that keeps what the dialer sends,
and a page (``/``) listing it, newest first, so a person can read the emails the demo sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

KEEP = 200


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    sender: str
    text: str
    has_html: bool
    attachments: tuple[str, ...]


class Mailbox:
    """Keeps the last :data:`KEEP` letters; :meth:`start` listens for SMTP on ``host:port``."""

    def __init__(self) -> None:
        self.letters: deque[Letter] = deque(maxlen=KEEP)
        self._server: asyncio.base_events.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(("plain", "html"))
        text = body.get_content() if body is not None else ""
        self.letters.appendleft(
            Letter(
                to=", ".join(envelope.rcpt_tos),
                subject=str(parsed.get("Subject", "")),
                sender=str(parsed.get("From", "")),
                text=text,
                has_html=parsed.get_body(("html",)) is not None,
                attachments=tuple(str(p.get_filename() or "") for p in parsed.iter_attachments()),
            )
        )
        return "250 OK"

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="demo-mailbox"), host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.page)
        return app

    async def page(self, request: web.Request) -> web.Response:
        rows = "\n".join(_row(letter) for letter in self.letters) or _EMPTY
        return web.Response(text=_PAGE.format(count=len(self.letters), rows=rows), content_type="text/html")


def _row(letter: Letter) -> str:
    extra: list[Any] = []
    if letter.has_html:
        extra.append("+ HTML")
    if letter.attachments:
        extra.append("📎 " + ", ".join(html.escape(a) for a in letter.attachments))
    return (
        f"<article><h2>{html.escape(letter.subject)}</h2>"
        f"<p class=meta>To / Кому: {html.escape(letter.to)} · From / От: {html.escape(letter.sender)} "
        f"{' · '.join(extra)}</p><pre>{html.escape(letter.text)}</pre></article>"
    )


_EMPTY = "<p>Nothing yet / Пока ничего.</p>"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo mailbox / Демо-почта</title>
<style>body{{font:15px system-ui,sans-serif;margin:1.5rem;max-width:60rem}}
article{{border-bottom:1px solid #ddd;padding:.5rem 0}}h2{{font-size:1.05rem;margin:.2rem 0}}
.meta{{color:#555;margin:.2rem 0}}pre{{white-space:pre-wrap;font:inherit}}</style></head>
<body><h1>Demo mailbox / Демо-почта</h1>
<p>The emails the dialer sent through its SMTP channel: {count}. Reload to see new ones.</p>
{rows}
</body></html>"""
