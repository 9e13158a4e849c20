"""Signing in and out, invitations, password resets, the page's language.

Wrong passwords are slowed down per account and per address by the shared :class:`~dialer.throttle.
Throttle` (the operator API and the registrar count in it too); the answer never tells whether the
login exists. "Forgot your password?" always answers the same, whether or not the address is known.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from aiohttp import web
from sqlalchemy import func, select

from dialer.accounts import people, web_sessions
from dialer.accounts.people import Purpose
from dialer.errors import Rejected
from dialer.storage import reading, writing
from dialer.storage.tables import OPERATOR
from dialer.web import i18n
from dialer.web.console.guard import (
    COOKIE,
    LANGUAGE_COOKIE,
    person_of,
    render,
    session_in,
    set_session_cookie,
)
from dialer.web.console.mail import send_link
from dialer.web.keys import DATABASE, RUNTIME, THROTTLE

log = structlog.get_logger(__name__)
_ = i18n.gettext


def _next(request: web.Request, given: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if not given:
        return "/"
    parts = urlsplit(given)
    if parts.scheme or parts.netloc or not given.startswith("/") or given.startswith("//"):
        return "/"
    return given


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    if session_in(request) is not None:
        raise web.HTTPSeeOther(_next(request, request.query.get("next")))
    return render(request, "console/sign_in.html", login="", next=request.query.get("next", ""), error=None)


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    login = str(form.get("login", "")).strip().lower()
    password = str(form.get("password", ""))
    target = _next(request, str(form.get("next", "")))
    throttle = request.app[THROTTLE]
    keys = throttle.keys(login, request.remote)
    if throttle.wait(keys) > 0:
        seconds = throttle.retry_after(keys)
        error = _("Too many wrong passwords. Try again in {seconds} s.").format(seconds=seconds)
        return render(request, "console/sign_in.html", status=429, login=login, next=target, error=error)
    async with reading(request.app[DATABASE]) as conn:
        person = await people.check_credentials(conn, login, password) if login and password else None
    if person is None:
        throttle.failed(keys)
        log.info("console sign-in refused", login=login, address=request.remote)
        error = _("Wrong login or password.")
        return render(request, "console/sign_in.html", status=401, login=login, next=target, error=error)
    throttle.succeeded(keys)
    async with writing(request.app[DATABASE]) as conn:
        token, _session = await web_sessions.open_session(conn, person.id, address=request.remote)
    response = web.HTTPSeeOther(target)
    set_session_cookie(request, response, token)
    log.info("console sign-in", login=login, role=str(person.role))
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(COOKIE)
    if token:
        async with writing(request.app[DATABASE]) as conn:
            await web_sessions.close_session(conn, token)
    response = web.HTTPSeeOther("/sign-in")
    response.del_cookie(COOKIE, path="/")
    raise response


async def sign_out_everywhere(request: web.Request) -> web.StreamResponse:
    person = person_of(request)
    async with writing(request.app[DATABASE]) as conn:
        await web_sessions.close_everywhere(conn, person.id)
    response = web.HTTPSeeOther("/sign-in")
    response.del_cookie(COOKIE, path="/")
    raise response


async def set_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    language = str(form.get("language", ""))
    back = _next(request, str(form.get("back", "/")))
    response = web.HTTPSeeOther(back)
    if language in i18n.LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, samesite="Lax", path="/", max_age=365 * 86400)
        session = session_in(request)
        if session is not None:
            async with writing(request.app[DATABASE]) as conn:
                await people.change_person(conn, session.person.id, locale=language)
    raise response


async def forgot_page(request: web.Request) -> web.StreamResponse:
    return render(request, "console/forgot.html", sent=False)


async def forgot(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    address = str(form.get("email", "")).strip().lower()
    if address:
        async with writing(request.app[DATABASE]) as conn:
            row = (
                await conn.execute(
                    select(OPERATOR.c.id).where(
                        func.lower(OPERATOR.c.email) == address, OPERATOR.c.active.is_(True)
                    )
                )
            ).first()
            if row is not None:
                try:
                    await send_link(request, conn, row.id, Purpose.RESET)
                except Rejected as exc:  # no email channel: said in the log, never to the visitor
                    log.error("password reset email not sent", reason=str(exc))
        request.app[RUNTIME].messages_queued()
    return render(request, "console/forgot.html", sent=True)


async def link_page(request: web.Request) -> web.StreamResponse:
    purpose = Purpose.INVITE if request.path.startswith("/invitation/") else Purpose.RESET
    token = request.match_info["token"]
    try:
        async with reading(request.app[DATABASE]) as conn:
            person = await people.link_person(conn, token, purpose)
    except Rejected as exc:
        return render(request, "console/link.html", status=410, purpose=purpose.value, invited=None,
                      invalid=str(exc), error=None)  # fmt: skip
    return render(
        request, "console/link.html", purpose=purpose.value, invited=person, invalid=None, error=None
    )


async def use_link(request: web.Request) -> web.StreamResponse:
    purpose = Purpose.INVITE if request.path.startswith("/invitation/") else Purpose.RESET
    token = request.match_info["token"]
    form = await request.post()
    password, again = str(form.get("password", "")), str(form.get("again", ""))
    try:
        async with writing(request.app[DATABASE]) as conn:
            person = await people.link_person(conn, token, purpose)
            if password != again:
                return render(request, "console/link.html", status=422, purpose=purpose.value, invited=person,
                              invalid=None, error=_("The two passwords differ."))  # fmt: skip
            person = await people.use_link(conn, token, purpose, password)
            session_token, _session = await web_sessions.open_session(conn, person.id, address=request.remote)
    except Rejected as exc:
        async with reading(request.app[DATABASE]) as conn:
            try:
                person = await people.link_person(conn, token, purpose)
            except Rejected:
                return render(request, "console/link.html", status=410, purpose=purpose.value, invited=None,
                              invalid=str(exc), error=None)  # fmt: skip
        return render(request, "console/link.html", status=422, purpose=purpose.value, invited=person,
                      invalid=None, error=_("The password is too short: at least 8 characters."))  # fmt: skip
    await request.app[RUNTIME].credentials_changed()
    response = web.HTTPSeeOther("/")
    set_session_cookie(request, response, session_token)
    raise response


def setup(app: web.Application) -> None:
    app.router.add_get("/sign-in", sign_in_page, name="sign_in")
    app.router.add_post("/sign-in", sign_in)
    app.router.add_post("/sign-out", sign_out, name="sign_out")
    app.router.add_post("/sign-out-everywhere", sign_out_everywhere)
    app.router.add_post("/language", set_language)
    app.router.add_get("/password/forgot", forgot_page)
    app.router.add_post("/password/forgot", forgot)
    app.router.add_get("/password/reset/{token}", link_page)
    app.router.add_post("/password/reset/{token}", use_link)
    app.router.add_get("/invitation/{token}", link_page)
    app.router.add_post("/invitation/{token}", use_link)
