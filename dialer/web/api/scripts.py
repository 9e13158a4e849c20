"""Operator scripts and CRM fields: ``/api/v1/projects/{project}/scripts`` and ``.../fields``, the
format's JSON Schema at ``/api/v1/script.schema.json``. Thin handlers over :mod:`scripts_crm.store`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import DialerError, FieldError, Rejected
from dialer.storage import reading, writing
from dialer.web.api.leads import EXTERNAL_ID, PROJECT
from dialer.web.api.openapi import Operation, Param
from dialer.web.api.problems import problem_of
from dialer.web.api.requests import authorize_project, read_json, validated
from dialer.web.keys import DATABASE
from scripts_crm import store
from scripts_crm.fields import checked
from scripts_crm.model import FieldSet, Script
from scripts_crm.schema import schema

BASE = "/api/v1/projects/{project}/scripts"
ONE = BASE + "/{name:(?!validate$)[a-z0-9][a-z0-9_-]{0,63}}"  # so that /scripts/validate is only that
LEAD_ANSWERS = "/api/v1/projects/{project}/leads/{external_id}/answers"
LIMIT = 4 * 1024 * 1024
NAME = Param("name", "path", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}, "script name")
VERSION = Param("version", "path", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "version")
AT = Param("version", "query", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "a version", False)
FROM = Param("from", "query", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "older version")
TO = Param("to", "query", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "newer version")


class Saved(BaseModel):
    name: str
    version: int


class Validation(BaseModel):
    valid: bool
    problems: list[FieldError]


class ScriptSummary(BaseModel):
    name: str
    version: int
    updated_at: datetime


class ScriptList(BaseModel):
    scripts: list[ScriptSummary]


class VersionOut(BaseModel):
    version: int
    created_at: datetime
    author: str | None
    note: str | None


class Versions(BaseModel):
    versions: list[VersionOut]


class Diff(BaseModel):
    changes: list[str] = Field(description="step by step: + added, - removed, ~ changed with its lines")


class AnswersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="field name -> value (null clears an optional field)")
    author: str | None = Field(default=None, max_length=64, description="who gave them (an operator's login)")


class AnswerLineOut(BaseModel):
    field: str
    value: Any
    previous: Any
    author: str | None
    call_id: str | None
    at: datetime


class Answers(BaseModel):
    answers: dict[str, Any]
    history: list[AnswerLineOut]


Work = Callable[[AsyncConnection, int], Awaitable[tuple[int, BaseModel]]]


async def _run(request: web.Request, work: Work, *, write: bool) -> web.Response:
    ref = await authorize_project(request)
    transaction = writing if write else reading
    try:
        async with transaction(request.app[DATABASE]) as conn:
            status, out = await work(conn, ref.id)
    except DialerError as exc:
        raise problem_of(exc, kind="invalid-script") from None
    return web.json_response(text=out.model_dump_json(), status=status)


async def _body(request: web.Request) -> Any:
    return (await read_json(request, LIMIT))[1]


async def put_script(request: web.Request) -> web.Response:
    """Save the script as its next version (and the fields it carries); 422 listing every problem."""
    payload = await _body(request)

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        script = store.parse_script(payload)
        if script.name != request.match_info["name"]:
            script = script.model_copy(update={"name": request.match_info["name"]})
        version = await store.save_script(conn, project_id, script, author="api")
        return (201 if version == 1 else 200), Saved(name=script.name, version=version)

    return await _run(request, work, write=True)


async def get_script(request: web.Request) -> web.Response:
    """The script (a version, default the current one) with the project's fields: what PUT reads back."""
    version = int(request.query["version"]) if "version" in request.query else None

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        script, _ = await store.get_script(conn, project_id, request.match_info["name"], version)
        return 200, script.model_copy(update={"fields": await store.get_fields(conn, project_id)})

    return await _run(request, work, write=False)


async def list_scripts(request: web.Request) -> web.Response:
    """The project's scripts and their current versions."""

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        found = await store.list_scripts(conn, project_id)
        return 200, ScriptList(scripts=[ScriptSummary(name=n, version=v, updated_at=u) for n, v, u in found])

    return await _run(request, work, write=False)


async def validate_script(request: web.Request) -> web.Response:
    """Every problem of a script against the project, without saving it."""
    payload = await _body(request)

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        found = await store.check(conn, project_id, store.parse_script(payload))
        return 200, Validation(valid=not found, problems=found)

    return await _run(request, work, write=False)


async def script_versions(request: web.Request) -> web.Response:
    """Every version, newest first, with who saved it and why."""

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        found = await store.versions(conn, project_id, request.match_info["name"])
        return 200, Versions(versions=[VersionOut(**v.__dict__) for v in found])

    return await _run(request, work, write=False)


async def script_diff(request: web.Request) -> web.Response:
    """What changed between two versions."""

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        name = request.match_info["name"]
        older, _ = await store.get_script(conn, project_id, name, int(request.query["from"]))
        newer, _ = await store.get_script(conn, project_id, name, int(request.query["to"]))
        return 200, Diff(changes=store.diff(older, newer))

    return await _run(request, work, write=False)


async def restore_script(request: web.Request) -> web.Response:
    """Bring an older version back (as a new version; the history keeps everything)."""

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        name = request.match_info["name"]
        version = await store.restore(
            conn, project_id, name, int(request.match_info["version"]), author="api"
        )
        return 200, Saved(name=name, version=version)

    return await _run(request, work, write=True)


async def get_fields(request: web.Request) -> web.Response:
    """The project's CRM fields."""

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        return 200, await store.get_fields(conn, project_id)

    return await _run(request, work, write=False)


async def put_fields(request: web.Request) -> web.Response:
    """Replace the project's CRM fields; 409 when a type would change under answers leads hold."""
    payload = await _body(request)

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        return 200, await store.save_fields(conn, project_id, store.parse_fields(payload))

    return await _run(request, work, write=True)


async def _answers(conn: AsyncConnection, lead_id: int) -> Answers:
    history = await store.answer_history(conn, lead_id)
    return Answers(answers=await store.current_answers(conn, lead_id),
                   history=[AnswerLineOut(**line.__dict__) for line in history])  # fmt: skip


async def lead_answers(request: web.Request) -> web.Response:
    """The lead's CRM answers and their history (who, when, the value each replaced)."""

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        return 200, await _answers(
            conn, await store.lead_id_of(conn, project_id, request.match_info["external_id"])
        )

    return await _run(request, work, write=False)


async def put_lead_answers(request: web.Request) -> web.Response:
    """Record answers for the lead; every value is checked against the project's fields first (422
    naming each wrong one; nothing kept then)."""
    ref = await authorize_project(request)
    body = validated(AnswersIn, await _body(request), kind="invalid-answers")

    async def work(conn: AsyncConnection, project_id: int) -> tuple[int, BaseModel]:
        lead_id = await store.lead_id_of(conn, project_id, request.match_info["external_id"])
        clean, problems = checked(await store.get_fields(conn, project_id), body.answers, region=ref.region)
        if problems:
            raise Rejected("the answers were rejected; nothing was kept", problems)
        await store.record_answers(conn, lead_id, clean, author=body.author)
        return 200, await _answers(conn, lead_id)

    return await _run(request, work, write=True)


async def script_schema(request: web.Request) -> web.Response:
    """The JSON Schema of the script format (``docs/script.schema.json``)."""
    return web.json_response(schema())


OPERATIONS = [
    Operation("GET", BASE, list_scripts, "List scripts", "scripts", {200: ScriptList}, params=(PROJECT,)),
    Operation("PUT", BASE + "/{name}", put_script, "Save a script as its next version", "scripts",
              {200: Saved, 201: Saved}, body=Script, params=(PROJECT, NAME), route=ONE,
              errors=(401, 403, 404, 409, 422),
              description="Every problem is listed with its step (`steps.ID`) in a 422; nothing is saved."),
    Operation("GET", BASE + "/{name}", get_script, "Read a script", "scripts", {200: Script},
              params=(PROJECT, NAME, AT), route=ONE),
    Operation("POST", BASE + "/validate", validate_script, "Check a script without saving it", "scripts",
              {200: Validation}, body=Script, params=(PROJECT,), errors=(401, 403, 422)),
    Operation("GET", BASE + "/{name}/versions", script_versions, "List a script's versions", "scripts",
              {200: Versions}, params=(PROJECT, NAME)),
    Operation("GET", BASE + "/{name}/diff", script_diff, "Compare two versions", "scripts", {200: Diff},
              params=(PROJECT, NAME, FROM, TO)),
    Operation("POST", BASE + "/{name}/restore/{version}", restore_script, "Bring an older version back",
              "scripts", {200: Saved}, params=(PROJECT, NAME, VERSION),
              route=BASE + "/{name}/restore/{version:[0-9]{1,7}}"),
    Operation("GET", "/api/v1/projects/{project}/fields", get_fields, "Read the CRM fields", "scripts",
              {200: FieldSet}, params=(PROJECT,)),
    Operation("PUT", "/api/v1/projects/{project}/fields", put_fields, "Replace the CRM fields", "scripts",
              {200: FieldSet}, body=FieldSet, params=(PROJECT,), errors=(401, 403, 409, 422)),
    Operation("GET", LEAD_ANSWERS, lead_answers, "Read a lead's CRM answers", "scripts", {200: Answers},
              params=(PROJECT, EXTERNAL_ID)),
    Operation("POST", LEAD_ANSWERS, put_lead_answers, "Record a lead's CRM answers", "scripts",
              {200: Answers}, body=AnswersIn, params=(PROJECT, EXTERNAL_ID), errors=(401, 403, 404, 422)),
    Operation("GET", "/api/v1/script.schema.json", script_schema, "The script format's JSON Schema",
              "scripts", {200: None}, errors=(), authenticated=False),
]  # fmt: skip
