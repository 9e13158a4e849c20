"""SMS and email: ``/api/v1/projects/{project}/message-templates``, a lead's ``messages``, the
project's message list and its stop list. Thin handlers over :mod:`sms_email.store`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import DialerError
from dialer.storage import reading, writing
from dialer.web.api.idempotency import once
from dialer.web.api.leads import EXTERNAL_ID, IDEMPOTENCY_KEY, PROJECT
from dialer.web.api.openapi import Operation, Param
from dialer.web.api.problems import problem_of
from dialer.web.api.requests import authorize_project, read_json, validated
from dialer.web.keys import DATABASE, RUNTIME, SETTINGS
from sms_email import store
from sms_email.schema import (
    MessageIn,
    MessageList,
    MessageOut,
    PreviewIn,
    PreviewOut,
    StopAdded,
    StopIn,
    TemplateBody,
    TemplateOut,
)

LIMIT = 8 * 1024 * 1024
KIND = "invalid-message"  # a message with attachments (base64) fits
TEMPLATES = "/api/v1/projects/{project}/message-templates"
MESSAGES = "/api/v1/projects/{project}/messages"
LEAD_MESSAGES = "/api/v1/projects/{project}/leads/{external_id}/messages"
NAME = Param("name", "path", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}, "template name")
MESSAGE_ID = Param("id", "path", {"type": "integer", "minimum": 1}, "message id")
STATUS = Param(
    "status",
    "query",
    {"type": "string", "pattern": "^(queued|sending|sent|delivered|failed|expired)(,(queued|sending|sent|"
     "delivered|failed|expired))*$"},
    "only messages in these statuses (comma-separated)",
    required=False,
)  # fmt: skip
LIMIT_PARAM = Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "at most", False)


READ_MESSAGE = {
    "ReadMessage": {
        "operationId": "get_message",
        "parameters": {"project": "$request.path.project", "id": "$response.body#/id"},
    }
}


class ChannelOut(BaseModel):
    name: str
    medium: str
    kind: str
    serves_every_project: bool
    parked_until: datetime | None = Field(description="nothing goes through it until then (no funds, login)")
    reason: str | None


class ChannelList(BaseModel):
    channels: list[ChannelOut]


class TemplateList(BaseModel):
    templates: list[TemplateOut]


Work = Callable[[AsyncConnection, Any], Awaitable[tuple[int, BaseModel | None]]]


async def _run(request: web.Request, work: Work, *, write: bool) -> web.Response:
    """Authorize, run ``work(conn, project_row)`` in one transaction, map domain errors to problems."""
    ref = await authorize_project(request)
    transaction = writing if write else reading
    try:
        async with transaction(request.app[DATABASE]) as conn:
            project = await store.project_row(conn, ref.slug)
            status, out = await work(conn, project)
    except DialerError as exc:
        raise problem_of(exc, kind="invalid-message") from None
    if out is None:
        return web.Response(status=status)
    return web.json_response(text=out.model_dump_json(), status=status)


async def list_message_templates(request: web.Request) -> web.Response:
    """The project's SMS and email templates."""

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        return 200, TemplateList(templates=await store.list_templates(conn, project["id"]))

    return await _run(request, work, write=False)


async def put_message_template(request: web.Request) -> web.Response:
    """Create or replace a template; refused, with every problem, when it names unknown variables."""
    body = validated(TemplateBody, (await read_json(request, LIMIT))[1], kind=KIND)
    name = request.match_info["name"]

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        out, created = await store.save_template(conn, project["id"], name, body)
        return (201 if created else 200), out

    return await _run(request, work, write=True)


async def get_message_template(request: web.Request) -> web.Response:
    """One template, with the size of an SMS as written."""

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        return 200, await store.get_template(conn, project["id"], request.match_info["name"])

    return await _run(request, work, write=False)


async def delete_message_template(request: web.Request) -> web.Response:
    """Delete a template (messages already queued keep their text)."""

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, None]:
        await store.delete_template(conn, project["id"], request.match_info["name"])
        return 204, None

    return await _run(request, work, write=True)


async def preview_message_template(request: web.Request) -> web.Response:
    """The template filled for a lead (or with placeholders), with the SMS's encoding and parts."""
    body = validated(PreviewIn, (await read_json(request, LIMIT))[1], kind=KIND)

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        return 200, await store.preview(conn, project, request.match_info["name"], body)

    return await _run(request, work, write=False)


async def send_lead_message(request: web.Request) -> web.Response:
    """Queue a template for the lead; the same ``idempotency_key`` again returns the first message."""
    ref = await authorize_project(request)
    raw, payload = await read_json(request, LIMIT)
    body = validated(MessageIn, payload, kind=KIND)
    channels = request.app[SETTINGS].channels
    external_id = request.match_info["external_id"]

    async def work(conn: AsyncConnection) -> tuple[int, str]:
        try:
            project = await store.project_row(conn, ref.slug)
            out, created = await store.queue_message(conn, channels, project, external_id, body)
        except DialerError as exc:
            raise problem_of(exc, kind="invalid-message") from None
        return (201 if created else 200), out.model_dump_json()

    response = await once(request, request.app[DATABASE], ref, raw, work)
    request.app[RUNTIME].messages_queued()
    return response


def _statuses(request: web.Request) -> list[str]:
    raw = request.query.get("status", "")
    return [s for s in raw.split(",") if s]


def _limit(request: web.Request) -> int:
    return int(request.query.get("limit", "100"))


async def list_lead_messages(request: web.Request) -> web.Response:
    """The lead's messages, newest first, with their status, parts and cost."""

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        found = await store.list_messages(
            conn, project["id"], lead=request.match_info["external_id"], status=_statuses(request),
            limit=_limit(request),
        )  # fmt: skip
        return 200, MessageList(messages=found)

    return await _run(request, work, write=False)


async def list_messages(request: web.Request) -> web.Response:
    """The project's messages, newest first."""

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        found = await store.list_messages(
            conn, project["id"], status=_statuses(request), limit=_limit(request)
        )
        return 200, MessageList(messages=found)

    return await _run(request, work, write=False)


async def get_message(request: web.Request) -> web.Response:
    """One message."""

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        return 200, await store.get_message(conn, project["id"], int(request.match_info["id"]))

    return await _run(request, work, write=False)


async def add_message_stops(request: web.Request) -> web.Response:
    """Record clients' "stop": these phones (SMS) or addresses (email) get no more messages."""
    body = validated(StopIn, (await read_json(request, LIMIT))[1], kind=KIND)

    async def work(conn: AsyncConnection, project: Any) -> tuple[int, BaseModel]:
        return 200, await store.add_stops(conn, project, body)

    return await _run(request, work, write=True)


async def list_message_channels(request: web.Request) -> web.Response:
    """The channels this project's messages go through, and whether one is parked (and why)."""
    ref = await authorize_project(request)
    states = request.app[RUNTIME].channels()
    out = [
        ChannelOut(name=c.name, medium=c.medium, kind=c.kind, serves_every_project=not c.projects,
                   parked_until=c.parked_until, reason=c.reason)
        for c in states
        if not c.projects or ref.slug in c.projects
    ]  # fmt: skip
    return web.json_response(text=ChannelList(channels=out).model_dump_json())


OPERATIONS = [
    Operation("GET", TEMPLATES, list_message_templates, "List message templates", "messages",
              {200: TemplateList}, params=(PROJECT,)),
    Operation("PUT", TEMPLATES + "/{name}", put_message_template, "Create or replace a message template",
              "messages", {200: TemplateOut, 201: TemplateOut}, body=TemplateBody, params=(PROJECT, NAME),
              errors=(401, 403, 404, 422),
              description="Jinja2 over `lead` (external_id, name, phone, phones, email, status, data), "
              "`answers`, `operator` (login, name) and `project` (slug, name). A template naming anything "
              "else is refused with every problem listed. 201 when created."),
    Operation("GET", TEMPLATES + "/{name}", get_message_template, "Read a message template", "messages",
              {200: TemplateOut}, params=(PROJECT, NAME)),
    Operation("DELETE", TEMPLATES + "/{name}", delete_message_template, "Delete a message template",
              "messages", {204: None}, params=(PROJECT, NAME)),
    Operation("POST", TEMPLATES + "/{name}/preview", preview_message_template, "Preview a message template",
              "messages", {200: PreviewOut}, body=PreviewIn, params=(PROJECT, NAME),
              errors=(401, 403, 404, 422),
              description="Filled for `lead` (its external_id) or with placeholders; an SMS shows its "
              "encoding (GSM-7 or UCS-2) and parts."),
    Operation("POST", LEAD_MESSAGES, send_lead_message, "Send a template to a lead", "messages",
              {200: MessageOut, 201: MessageOut}, body=MessageIn,
              params=(PROJECT, EXTERNAL_ID, IDEMPOTENCY_KEY),
              errors=(401, 403, 404, 409, 422), links={200: READ_MESSAGE, 201: READ_MESSAGE},
              description="Rendered and queued in one transaction (201); the same `idempotency_key` "
              "returns the first message (200) and sends nothing. An SMS waits for the project's calling "
              "window in the client's zone; messages that cannot go out within `valid_for` expire."),
    Operation("GET", LEAD_MESSAGES, list_lead_messages, "List a lead's messages", "messages",
              {200: MessageList}, params=(PROJECT, EXTERNAL_ID, STATUS, LIMIT_PARAM)),
    Operation("GET", MESSAGES, list_messages, "List the project's messages", "messages",
              {200: MessageList}, params=(PROJECT, STATUS, LIMIT_PARAM)),
    Operation("GET", MESSAGES + "/{id}", get_message, "Read a message", "messages", {200: MessageOut},
              params=(PROJECT, MESSAGE_ID), route=MESSAGES + "/{id:[0-9]{1,18}}"),
    Operation("POST", "/api/v1/projects/{project}/message-stops", add_message_stops,
              "Stop messages to phones or addresses", "messages", {200: StopAdded}, body=StopIn,
              params=(PROJECT,), errors=(401, 403, 404, 422)),
    Operation("GET", "/api/v1/projects/{project}/message-channels", list_message_channels,
              "List the project's message channels", "messages", {200: ChannelList}, params=(PROJECT,),
              description="A channel is parked when its gateway has no funds or refuses our login: "
              "messages wait (and expire at their deadline) until it is fixed."),
]  # fmt: skip
