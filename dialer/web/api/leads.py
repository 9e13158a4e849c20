"""``/api/v1/projects/{project}/leads``: push, read, change and cancel leads (loan applications)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.accounts.projects import ProjectRef
from dialer.errors import NotFound, Rejected, field_errors
from dialer.leads import store
from dialer.leads.schema import (
    EXTERNAL_ID_PATTERN,
    MAX_BULK,
    MAX_DATA_BYTES,
    BulkIn,
    BulkOut,
    LeadIn,
    LeadOut,
    LeadPatch,
    LeadWritten,
    UpsertResult,
)
from dialer.storage import reading, writing
from dialer.web.api.idempotency import once
from dialer.web.api.openapi import Operation, Param
from dialer.web.api.problems import ProblemError, problem_of
from dialer.web.api.requests import authorize_project, read_json
from dialer.web.keys import DATABASE

ONE_LIMIT = 64 * 1024
BULK_LIMIT = 32 * 1024 * 1024
DATA_LIMIT = f" (a lead's data may hold at most {MAX_DATA_BYTES} bytes as JSON)"
BASE = "/api/v1/projects/{project}/leads"
ONE_LEAD = BASE + "/{external_id:(?!bulk$)[^/]+}"  # so that /leads/bulk is only the bulk endpoint

PROJECT = Param(
    "project", "path", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 64}, "project slug"
)
EXTERNAL_ID = Param(
    "external_id",
    "path",
    {"type": "string", "pattern": EXTERNAL_ID_PATTERN, "maxLength": 128},
    "the lead's id in the sender's system",
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": 200},
    "a retry with the same key returns the first answer instead of acting again (kept 24 h)",
    required=False,
)


def _follow_lead(pointer: str) -> dict[str, Any]:
    """OpenAPI links from a response naming a lead to the operations on that lead."""
    parameters = {"project": "$request.path.project", "external_id": pointer}
    return {
        name: {"operationId": operation, "parameters": parameters}
        for name, operation in (
            ("ReadLead", "get_lead"),
            ("ChangeLead", "patch_lead"),
            ("CancelLead", "delete_lead"),
            ("LeadAttempts", "lead_attempts"),
            ("LeadHistory", "lead_history"),
        )
    }


WRITTEN_LINKS = _follow_lead("$response.body#/lead/external_id")


class AttemptOut(BaseModel):
    phone: str
    trunk: str | None
    call_id: str | None
    started_at: datetime
    answered_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime | None
    sip_status: int | None
    outcome: str | None
    cost: Decimal | None
    operator: str | None
    wait_to_operator: float | None
    abandoned: bool
    amd_result: str | None
    amd_confidence: float | None
    script_version: int | None = Field(default=None, description="the campaign's script version of the call")


class AttemptList(BaseModel):
    attempts: list[AttemptOut]


class HistoryLine(BaseModel):
    at: datetime
    kind: str
    detail: dict[str, Any]


class History(BaseModel):
    history: list[HistoryLine]


def _problem(exc: Rejected | NotFound) -> ProblemError:
    return problem_of(exc, kind="invalid-lead" if isinstance(exc, Rejected) else None)


async def create_lead(request: web.Request) -> web.Response:
    """Create the lead, or update the one with the same ``external_id``."""
    project = await authorize_project(request)
    raw, payload = await read_json(request, ONE_LIMIT, why=DATA_LIMIT)

    async def work(conn: AsyncConnection) -> tuple[int, str]:
        try:
            result, lead = await store.upsert_one(conn, project, payload)
        except (Rejected, NotFound) as exc:
            raise _problem(exc) from None
        status = 201 if result is UpsertResult.CREATED else 200
        return status, LeadWritten(result=result, lead=lead).model_dump_json()

    return await once(request, request.app[DATABASE], project, raw, work)


def _bulk_title(payload: Any) -> str:
    leads = payload.get("leads") if isinstance(payload, dict) else None
    if isinstance(leads, list) and len(leads) > MAX_BULK:
        return f"{len(leads)} leads in one request; at most {MAX_BULK}: split them into several requests"
    if isinstance(leads, list) and not leads:
        return "the list of leads is empty; send at least one"
    return 'expected {"leads": [...]}'


async def bulk_leads(request: web.Request) -> web.Response:
    """Upsert up to 10,000 leads; each row gets its own result, rejected rows never stop the rest."""
    project = await authorize_project(request)
    raw, payload = await read_json(request, BULK_LIMIT, why=f" ({MAX_BULK} leads at most per request)")
    try:
        rows = BulkIn.model_validate(payload).leads
    except ValidationError as exc:
        raise ProblemError(422, _bulk_title(payload), errors=field_errors(exc), kind="invalid-lead") from None

    async def work(conn: AsyncConnection) -> tuple[int, str]:
        return 200, (await store.upsert_many(conn, project, rows)).model_dump_json()

    return await once(request, request.app[DATABASE], project, raw, work)


LeadWork = Callable[[AsyncConnection, ProjectRef, str, Any], Awaitable[BaseModel]]


async def _on_lead(
    request: web.Request, work: LeadWork, *, write: bool = False, body: bool = False
) -> web.Response:
    """Authorize, read the body when there is one, run ``work(conn, project, external_id, payload)``
    in one transaction, answer with the model it returns."""
    project = await authorize_project(request)
    payload = (await read_json(request, ONE_LIMIT, why=DATA_LIMIT))[1] if body else None
    transaction = writing if write else reading
    try:
        async with transaction(request.app[DATABASE]) as conn:
            out = await work(conn, project, request.match_info["external_id"], payload)
    except (Rejected, NotFound) as exc:
        raise _problem(exc) from None
    return web.json_response(text=out.model_dump_json())


async def _get(conn: AsyncConnection, project: ProjectRef, external_id: str, _: Any) -> BaseModel:
    return await store.get(conn, project, external_id)


async def _patch(conn: AsyncConnection, project: ProjectRef, external_id: str, payload: Any) -> BaseModel:
    return await store.patch(conn, project, external_id, payload)


async def _cancel(conn: AsyncConnection, project: ProjectRef, external_id: str, _: Any) -> BaseModel:
    return await store.cancel(conn, project, external_id)


async def _attempts(conn: AsyncConnection, project: ProjectRef, external_id: str, _: Any) -> BaseModel:
    rows = await store.attempts(conn, project, external_id)
    return AttemptList(attempts=[AttemptOut.model_validate(r) for r in rows])


async def _history(conn: AsyncConnection, project: ProjectRef, external_id: str, _: Any) -> BaseModel:
    rows = await store.history(conn, project, external_id)
    return History(history=[HistoryLine.model_validate(r) for r in rows])


async def get_lead(request: web.Request) -> web.Response:
    """The lead with its status and schedule."""
    return await _on_lead(request, _get)


async def patch_lead(request: web.Request) -> web.Response:
    """Change some fields; ``data`` is merged key by key, a key set to null is removed."""
    return await _on_lead(request, _patch, write=True, body=True)


async def delete_lead(request: web.Request) -> web.Response:
    """Cancel dialling; the lead and its history stay (status ``cancelled``)."""
    return await _on_lead(request, _cancel, write=True)


async def lead_attempts(request: web.Request) -> web.Response:
    """Every call placed to the lead, oldest first."""
    return await _on_lead(request, _attempts)


async def lead_history(request: web.Request) -> web.Response:
    """The lead's history: created, updated, status changes, oldest first."""
    return await _on_lead(request, _history)


OPERATIONS = [
    Operation(
        "POST",
        BASE,
        create_lead,
        "Create or update one lead",
        "leads",
        {200: LeadWritten, 201: LeadWritten},
        body=LeadIn,
        params=(PROJECT, IDEMPOTENCY_KEY),
        errors=(401, 403, 409),
        links={200: WRITTEN_LINKS, 201: WRITTEN_LINKS},
        description="Upsert by `external_id`: fields sent replace the stored ones, fields left out are kept; "
        "the same payload twice changes nothing (`unchanged`). Phones are normalised to E.164 with the "
        "project's region. 201 when created, 200 otherwise.",
    ),
    Operation(
        "POST",
        BASE + "/bulk",
        bulk_leads,
        "Create or update up to 10,000 leads",
        "leads",
        {200: BulkOut},
        body=BulkIn,
        params=(PROJECT, IDEMPOTENCY_KEY),
        errors=(401, 403, 409),
        description="Each row is validated and stored on its own; `rows` gives, in the order sent, "
        "`created`/`updated`/`unchanged` or the row's field errors. Valid rows are kept even when others "
        "are rejected.",
    ),
    Operation(
        "GET",
        BASE + "/{external_id}",
        get_lead,
        "Read a lead",
        "leads",
        {200: LeadOut},
        params=(PROJECT, EXTERNAL_ID),
        route=ONE_LEAD,
    ),
    Operation(
        "PATCH",
        BASE + "/{external_id}",
        patch_lead,
        "Change some fields of a lead",
        "leads",
        {200: LeadOut},
        body=LeadPatch,
        params=(PROJECT, EXTERNAL_ID),
        route=ONE_LEAD,
    ),
    Operation(
        "DELETE",
        BASE + "/{external_id}",
        delete_lead,
        "Cancel a lead (history is kept)",
        "leads",
        {200: LeadOut},
        params=(PROJECT, EXTERNAL_ID),
        route=ONE_LEAD,
    ),
    Operation(
        "GET",
        BASE + "/{external_id}/attempts",
        lead_attempts,
        "Calls placed to a lead",
        "leads",
        {200: AttemptList},
        params=(PROJECT, EXTERNAL_ID),
    ),
    Operation(
        "GET",
        BASE + "/{external_id}/history",
        lead_history,
        "A lead's history",
        "leads",
        {200: History},
        params=(PROJECT, EXTERNAL_ID),
    ),
]
