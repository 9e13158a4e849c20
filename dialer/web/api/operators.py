"""``/api/v1/operators/{login}``: the operator's workplace API (session, state, the call on screen,
ending a call) and a campaign's live view for supervisors.

An operator opens a session with their password and gets a bearer token for their own login only
(12 hours, kept in the database so a restart logs nobody out); the same scheme as the leads API, per
user.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dialer.accounts import sessions as operator_sessions
from dialer.accounts.operators import check_password
from dialer.engine.attempts import AmdReview, Disposition, DispositionOutcome
from dialer.engine.service import EngineService, lead_card
from dialer.errors import DialerError, Rejected
from dialer.storage import reading, writing
from dialer.storage.types import utcnow
from dialer.web.api.openapi import Operation, Param
from dialer.web.api.problems import ProblemError, problem_of
from dialer.web.api.requests import read_json, validated
from dialer.web.keys import DATABASE, RUNTIME, THROTTLE

log = structlog.get_logger(__name__)

BASE = "/api/v1/operators/{login}"
SESSION_SECONDS = 12 * 3600
SESSION_RECHECK = 60.0  # seconds a session seen in the database is trusted from memory


@dataclass(frozen=True)
class Session:
    login: str
    expires_at: datetime
    checked_until: float  # monotonic: look in the database again after this


SESSIONS = web.AppKey("operator_sessions", dict[str, Session])
LOGIN = Param(
    "login",
    "path",
    {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$", "maxLength": 64},
    "operator login",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dialer-operators"'}


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=200)


class SessionOut(BaseModel):
    token: str
    expires_in: int


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["ready", "paused", "offline"]
    reason: str | None = Field(default=None, min_length=1, max_length=64, description="pause reason code")


class StateOut(BaseModel):
    login: str
    state: str
    pause_reason: str | None = None


class CurrentOut(BaseModel):
    state: str = Field(default="offline", description="the operator's state")
    call_id: str | None = None
    campaign: int | None = None
    phone: str | None = None
    lead: dict[str, Any] | None = None
    preview: bool = Field(default=False, description="the lead is shown before the call (preview mode)")
    amd_check: bool = Field(
        default=False,
        description="the detector judged this answer a machine and let it through for checking: say "
        "whether a person or a machine answered (amd_review in the disposition)",
    )
    ended: bool = Field(
        default=False, description="the client's call is over: the operator records its outcome (wrap-up)"
    )


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["dial", "skip"]


class PreviewOut(BaseModel):
    call_id: str | None = Field(description="the call placed (dial), null when skipped")


class DispositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: DispositionOutcome = "completed"
    notes: str | None = Field(default=None, max_length=2000)
    callback_at: AwareDatetime | None = Field(
        default=None, description="required for a callback; in the future"
    )
    amd_review: AmdReview | None = Field(
        default=None,
        description="for a call shown with amd_check: who answered, as the operator heard it (the share "
        "of people among machine verdicts counts against the abandon limit)",
    )
    call_id: str | None = Field(
        default=None, max_length=200,
        description="the call this outcome is for, as /current showed it: a repeated request is applied "
        "once, never to the next call",
    )  # fmt: skip


class EndedOut(BaseModel):
    ended: bool = Field(description="an outcome was recorded by this request")
    already: bool = Field(default=False, description="this call's outcome had been recorded before")


def service_of(request: web.Request) -> EngineService:
    runtime = request.app.get(RUNTIME)
    service = runtime.engine if runtime is not None else None
    if service is None:
        raise ProblemError(503, "this server runs without the dialing engine ([sip] enabled = false)")
    return service


async def authorize_operator(request: web.Request) -> str:
    """The login of the request's operator session, which must be the path's ``login``."""
    login = request.match_info["login"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    session = await _session(request.app, token) if scheme.lower() == "bearer" and token else None
    if session is None:
        raise ProblemError(401, "open a session: POST /api/v1/operators/{login}/session", headers=_CHALLENGE)
    if session.login != login:
        raise ProblemError(403, "this session belongs to another operator")
    return login


async def _session(app: web.Application, token: str) -> Session | None:
    """The live session of ``token``: from memory when checked within a minute, else the database."""
    known = app[SESSIONS].get(token)
    now = time.monotonic()
    if known is None or known.checked_until < now:
        async with reading(app[DATABASE]) as conn:
            found = await operator_sessions.session_login(conn, token)
        if found is None:
            app[SESSIONS].pop(token, None)
            return None
        known = Session(found[0], found[1], now + SESSION_RECHECK)
        app[SESSIONS][token] = known
    if known.expires_at <= utcnow():
        del app[SESSIONS][token]
        return None
    return known


async def open_session(request: web.Request) -> web.Response:
    """Check the operator's password and give a bearer token for their own endpoints."""
    login = request.match_info["login"]
    _, payload = await read_json(request, 4096)
    body = validated(SessionIn, payload)
    throttle = request.app[THROTTLE]
    keys = throttle.keys(login, request.remote)
    if throttle.wait(keys) > 0:
        seconds = throttle.retry_after(keys)
        raise ProblemError(
            429,
            f"too many wrong passwords lately; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    async with reading(request.app[DATABASE]) as conn:
        valid = await check_password(conn, login, body.password)
    if not valid:
        throttle.failed(keys)
        log.info("operator sign-in refused", operator=login, address=request.remote)
        raise ProblemError(401, "wrong login or password", headers=_CHALLENGE)
    throttle.succeeded(keys)
    async with writing(request.app[DATABASE]) as conn:
        token, expires_at = await operator_sessions.open_session(conn, login, seconds=SESSION_SECONDS)
    sessions = request.app[SESSIONS]
    now = utcnow()
    for stale in [key for key, known in sessions.items() if known.expires_at <= now]:
        del sessions[stale]  # tokens that expired without being presented again
    sessions[token] = Session(login, expires_at, time.monotonic() + SESSION_RECHECK)
    out = SessionOut(token=token, expires_in=SESSION_SECONDS)
    return web.json_response(text=out.model_dump_json(), status=201)


async def set_state(request: web.Request) -> web.Response:
    """Go ready (the phone is called once for the shift), pause with a reason, or go offline."""
    login = await authorize_operator(request)
    service = service_of(request)
    _, payload = await read_json(request, 4096)
    body = validated(StateIn, payload)
    try:
        if body.state == "ready":
            await service.ready(login)
        elif body.state == "paused":
            service.pause(login, body.reason or "")
        else:
            service.offline(login)
    except DialerError as exc:  # the phone did not answer, a move the state does not allow, ...
        raise ProblemError(409, str(exc), kind="operator-state") from None
    operator = service.operator(login)
    assert operator is not None  # it just moved
    out = StateOut(login=login, state=operator.state, pause_reason=operator.pause_reason)
    return web.json_response(text=out.model_dump_json())


async def on_screen(request: web.Request, service: EngineService, login: str) -> CurrentOut:
    """What the operator's screen shows now: their state, and the call or preview with its card."""
    screen = service.screen(login)
    shown, state = screen.shown, screen.state
    if shown is None:
        return CurrentOut(state=state)
    card = await lead_card(request.app[DATABASE], shown.lead_id)
    return CurrentOut(state=state, call_id=shown.call_id, campaign=shown.campaign, phone=shown.phone,
                      lead=card, preview=shown.preview, amd_check=shown.amd_check,
                      ended=shown.ended)  # fmt: skip


async def current_call(request: web.Request) -> web.Response:
    """The call connected to the operator now and its lead's card (all null when none)."""
    login = await authorize_operator(request)
    out = await on_screen(request, service_of(request), login)
    return web.json_response(text=out.model_dump_json())


async def preview(request: web.Request) -> web.Response:
    """Preview mode: dial the lead on the operator's screen, or skip it (it goes back to the queue)."""
    login = await authorize_operator(request)
    service = service_of(request)
    _, payload = await read_json(request, 4096)
    body = validated(PreviewIn, payload)
    try:
        call_id = await service.preview(login, body.action)
    except DialerError as exc:
        raise ProblemError(409, str(exc), kind="operator-state") from None
    return web.json_response(text=PreviewOut(call_id=call_id).model_dump_json())


async def dispose(request: web.Request) -> web.Response:
    """Record the outcome of the operator's current call (a callback is pinned to them) and end it."""
    login = await authorize_operator(request)
    service = service_of(request)
    _, payload = await read_json(request, 16 * 1024)
    body = validated(DispositionIn, payload)
    disposition = Disposition(login, body.outcome, body.notes, body.callback_at, body.amd_review)
    try:
        disposition.check(utcnow())
    except Rejected as exc:
        raise problem_of(exc, kind="invalid-input") from None
    try:
        result = await service.dispose(login, disposition, body.call_id)
    except DialerError as exc:
        raise ProblemError(409, str(exc), kind="operator-state") from None
    out = EndedOut(ended=result == "recorded", already=result == "already")
    return web.json_response(text=out.model_dump_json())


OPERATIONS = [
    Operation("POST", BASE + "/session", open_session, "Open an operator session", "operators",
              {201: SessionOut}, body=SessionIn, params=(LOGIN,), errors=(401, 429), authenticated=False),
    Operation("PUT", BASE + "/state", set_state, "Set the operator's state", "operators", {200: StateOut},
              body=StateIn, params=(LOGIN,), errors=(401, 403, 409, 503)),
    Operation("GET", BASE + "/current", current_call, "The call on the operator's screen", "operators",
              {200: CurrentOut}, params=(LOGIN,), errors=(401, 403, 503)),
    Operation("POST", BASE + "/preview", preview, "Dial or skip the lead in preview", "operators",
              {200: PreviewOut}, body=PreviewIn, params=(LOGIN,), errors=(401, 403, 409, 503)),
    Operation("POST", BASE + "/disposition", dispose, "Record the call's outcome and end it", "operators",
              {200: EndedOut}, body=DispositionIn, params=(LOGIN,), errors=(401, 403, 409, 503)),
]  # fmt: skip
