"""``/api/v1/projects/{project}/reports/{report}``: the four reports as JSON (what the console's
pages show, with every row), filtered like the pages: ``from``, ``to`` (local dates of the project),
``campaign``, ``operator``, ``trunk``."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from dialer.errors import FieldError, Rejected
from dialer.storage import reading
from dialer.storage.tables import PROJECT
from dialer.web.api.leads import PROJECT as PROJECT_PARAM
from dialer.web.api.openapi import Operation, Param
from dialer.web.api.problems import problem_of
from dialer.web.api.requests import authorize_project
from dialer.web.keys import DATABASE
from reports.catalog import NAMES, build
from reports.export import to_json
from reports.scope import scope_of

REPORT = Param("report", "path", {"type": "string", "enum": list(NAMES)}, "which report")
DAY = {"type": "string", "format": "date", "minLength": 10, "maxLength": 10}
FILTERS = (
    Param("from", "query", DAY, "first local day (YYYY-MM-DD); default today", required=False),
    Param("to", "query", DAY, "last local day, included; default: the first", required=False),
    Param("campaign", "query", {"type": "string", "maxLength": 64}, "one campaign's calls", required=False),
    Param("operator", "query", {"type": "string", "maxLength": 64}, "one operator's", required=False),
    Param("trunk", "query", {"type": "string", "maxLength": 32}, "calls of one trunk", required=False),
)


class ColumnOut(BaseModel):
    key: str
    label: str
    kind: str


class FigureOut(BaseModel):
    key: str
    label: str
    value: Any
    kind: str


class TableOut(BaseModel):
    key: str
    title: str
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None
    more: int


class SeriesOut(BaseModel):
    label: str
    points: list[tuple[str, float]]


class ChartOut(BaseModel):
    key: str
    title: str
    kind: str
    series: list[SeriesOut]
    unit: str


class ReportOut(BaseModel):
    """A report: figures, tables (durations in seconds, money as decimal strings, shares as
    fractions) and charts' series."""

    name: str
    title: str
    counts: str
    first: date
    last: date
    figures: list[FigureOut]
    tables: list[TableOut]
    charts: list[ChartOut]


async def get_report(request: web.Request) -> web.Response:
    """One report of the project for a period of its local days."""
    ref = await authorize_project(request)
    name = request.match_info["report"]
    empty = [key for key in ("from", "to") if key in request.query and not request.query[key].strip()]
    if empty:
        errors = [
            FieldError(field=key, problem="empty", expected="YYYY-MM-DD, or leave it out") for key in empty
        ]
        raise problem_of(Rejected("the report's filters are wrong", errors), kind="invalid-filters")
    try:
        async with reading(request.app[DATABASE]) as conn:
            project = (await conn.execute(select(PROJECT).where(PROJECT.c.id == ref.id))).mappings().one()
            scope = await scope_of(conn, project, request.query)
            report = await build(conn, name, scope, whole=True)
    except Rejected as exc:
        raise problem_of(exc, kind="invalid-filters") from None
    return web.json_response(text=to_json(report))


OPERATIONS = [
    Operation(
        "GET",
        "/api/v1/projects/{project}/reports/{report}",
        get_report,
        "Read a report",
        "reports",
        {200: ReportOut},
        params=(PROJECT_PARAM, REPORT, *FILTERS),
        errors=(401, 403, 404, 422),
    ),
]
