# ruff: noqa: RUF001  (the emails speak Russian)
"""The console's own emails: an invitation or a password-reset link, in the person's language,
queued through :mod:`sms_email` in the caller's transaction."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.accounts import people
from dialer.accounts.people import Purpose
from dialer.errors import Rejected
from dialer.web import i18n
from dialer.web.keys import SETTINGS
from sms_email.store import queue_system_email

SUBJECT = {
    ("ru", Purpose.INVITE): "Приглашение в консоль автодозвона",
    ("en", Purpose.INVITE): "Your invitation to the dialer console",
    ("ru", Purpose.RESET): "Новый пароль для консоли автодозвона",
    ("en", Purpose.RESET): "A new password for the dialer console",
}
BODY = {
    "ru": "Здравствуйте, {name}!\n\n{what}\n\n{link}\n\nСсылка действует {hours} часа и только один раз. "
    "Ваш логин: {login}.\nЕсли вы не ждали этого письма, просто удалите его.\n",
    "en": "Hello {name},\n\n{what}\n\n{link}\n\nThe link works once, for {hours} hours. "
    "Your login: {login}.\nIf you did not expect this email, delete it.\n",
}
WHAT = {
    ("ru", Purpose.INVITE): "Вас пригласили в консоль автодозвона. Чтобы войти, задайте пароль по ссылке:",
    ("en", Purpose.INVITE): "You are invited to the dialer console. Choose your password to sign in:",
    ("ru", Purpose.RESET): "Чтобы задать новый пароль, откройте ссылку:",
    ("en", Purpose.RESET): "To choose a new password, open this link:",
}


def base_url(request: web.Request) -> str:
    configured = request.app[SETTINGS].server.public_url
    return (configured or f"{request.scheme}://{request.host}").rstrip("/")


async def send_link(request: web.Request, conn: AsyncConnection, person_id: int, purpose: Purpose) -> int:
    """Issue a new link for the person and queue the email carrying it; returns the message id.
    :class:`Rejected` when the person has no email address or no channel can send it."""
    person = await people.person_by(conn, person_id=person_id)
    if not person.email:
        raise Rejected(f"{person.login} has no email address to send the link to")
    token = await people.issue_link(conn, person.id, purpose)
    path = "invitation" if purpose is Purpose.INVITE else "password/reset"
    language = person.locale if person.locale in i18n.LANGUAGES else i18n.current.get()
    body = BODY[language].format(
        name=person.name, what=WHAT[(language, purpose)], link=f"{base_url(request)}/{path}/{token}",
        hours=people.LINK_HOURS, login=person.login,
    )  # fmt: skip
    return await queue_system_email(
        conn, request.app[SETTINGS].channels, to=person.email, subject=SUBJECT[(language, purpose)],
        body=body, key=f"{purpose.value}:{person.id}:{token[:12]}",
    )  # fmt: skip
