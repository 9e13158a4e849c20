"""Who is asking, and may they: the console's session cookie, CSRF on every state-changing form,
the language of the page, the security headers, and the one check of role and project that every
page, form and stream goes through.

The cookie (``dialer_session``) is HttpOnly, SameSite=Lax, Secure when the request came over HTTPS,
and holds a random token whose SHA-256 the database keeps (:mod:`dialer.accounts.web_sessions`).
A POST without the session's CSRF token (the form's ``csrf`` field) is refused with 403 before its
handler runs; the sign-in form, which has no session yet, carries a token that must match its own
cookie (double submit). Pages are served with a Content-Security-Policy that allows no inline script
or style and no framing.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import select

from dialer.accounts.people import Person, Role, sees
from dialer.accounts.web_sessions import WebSession, session_of
from dialer.storage import reading
from dialer.storage.tables import PROJECT
from dialer.web import i18n
from dialer.web.keys import DATABASE
from dialer.web.render import TEMPLATES

COOKIE = "dialer_session"
PRE_COOKIE = "dialer_form"  # the sign-in form's double-submit token
LANGUAGE_COOKIE = "dialer_lang"
SESSION: web.RequestKey[object] = web.RequestKey("console_session", object)  # a WebSession, or None
PRE_TOKEN: web.RequestKey[str] = web.RequestKey("console_pre_token", str)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def console_path(path: str) -> bool:
    return not path.startswith(("/api/", "/healthz", "/metrics", "/demo/"))


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the session, check CSRF on POST, choose the language, add the security headers."""
    if not console_path(request.path):
        return await handler(request)
    session = None
    token = request.cookies.get(COOKIE)
    if token:
        async with reading(request.app[DATABASE]) as conn:
            session = await session_of(conn, token)
    request[SESSION] = session
    person = session.person if session else None
    language = i18n.choose(
        request.cookies.get(LANGUAGE_COOKIE) or (person.locale if person else None),
        None,
        request.headers.get("Accept-Language"),
    )
    i18n.current.set(language)
    if request.method == "POST" and not await _csrf_ok(request, session):
        response: web.StreamResponse = error_page(
            request,
            403,
            i18n.gettext(
                "This form has expired or did not come from this site. Reload the page and try again."
            ),
        )
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400 and exc.content_type != "text/html":
                response = error_page(request, exc.status, exc.text or exc.reason)
            else:
                raise
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.method == "GET" and not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _csrf_ok(request: web.Request, session: WebSession | None) -> bool:
    form = await request.post()
    given = form.get("csrf")
    given = given if isinstance(given, str) else None
    if session is not None:
        return session.csrf_ok(given)
    expected = request.cookies.get(PRE_COOKIE)
    return bool(expected and given and secrets.compare_digest(expected, given))


def session_in(request: web.Request) -> WebSession | None:
    session = request.get(SESSION)
    return session if isinstance(session, WebSession) else None  # mypy: narrowed from object


def form_token(request: web.Request) -> str:
    """The CSRF value for a form on this page (the session's, or a double-submit one before sign-in)."""
    session = session_in(request)
    if session is not None:
        return session.csrf
    token = request.get(PRE_TOKEN) or request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    request[PRE_TOKEN] = token
    return token


def person_of(request: web.Request) -> Person:
    """The signed-in person, or a redirect to the sign-in page."""
    session = session_in(request)
    if session is None:
        raise web.HTTPSeeOther("/sign-in?next=" + request.path_qs if request.method == "GET" else "/sign-in")
    return session.person


def require(request: web.Request, *roles: Role) -> Person:
    """The signed-in person if their role is one of ``roles``; else 403."""
    person = person_of(request)
    if roles and person.role not in roles:
        raise web.HTTPForbidden(text=i18n.gettext("Your role does not give access to this page."))
    return person


async def project_for(request: web.Request, slug: str, *roles: Role) -> Mapping[Any, Any]:
    """The project ``slug`` if the person may see it (with one of ``roles``); 404 otherwise, exactly as
    for a project that does not exist, so that nothing tells one from the other."""
    person = require(request, *roles)
    async with reading(request.app[DATABASE]) as conn:
        row = (await conn.execute(select(PROJECT).where(PROJECT.c.slug == slug))).mappings().first()
    if row is None or not sees(person, row["id"]):
        raise web.HTTPNotFound(text=i18n.gettext("There is no such page, or it is not yours to see."))
    return row


def render_part(request: web.Request, template: str, **context: Any) -> str:
    """A template as HTML text, with what every console template may use: the person, the form token,
    the language and ``context`` (pages, and the parts a stream pushes)."""
    session = session_in(request)
    return TEMPLATES.get_template(template).render(
        person=session.person if session else None, csrf=form_token(request), language=i18n.current.get(),
        path=request.path, Role=Role, **context,
    )  # fmt: skip


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A console page: the template with the person, the form token, the language and ``context``."""
    session = session_in(request)
    token = form_token(request)
    html = render_part(request, template, **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    if session is None and PRE_TOKEN in request and request.cookies.get(PRE_COOKIE) != token:
        response.set_cookie(
            PRE_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/"
        )
    return response


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    titles = {
        400: "Bad request",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        429: "Too many attempts",
    }
    title = i18n.gettext(titles.get(status, "Something went wrong"))
    return render(request, "console/error.html", status=status, title=title, message=message)


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=request.secure, path="/",
                        max_age=12 * 3600)  # fmt: skip
    response.del_cookie(PRE_COOKIE, path="/")
