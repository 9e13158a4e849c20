"""The HTTP API: every operation, its OpenAPI document at ``/api/openapi.json`` and a docs page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dialer.web.api import campaigns, dnc, leads, messages, operator_events, operators, reports, scripts
from dialer.web.api.openapi import Operation, add_routes, document
from dialer.web.render import TEMPLATES

OPERATIONS: list[Operation] = [
    *leads.OPERATIONS,
    *campaigns.OPERATIONS,
    *dnc.OPERATIONS,
    *messages.OPERATIONS,
    *scripts.OPERATIONS,
    *operators.OPERATIONS,
    *operator_events.OPERATIONS,
    *reports.OPERATIONS,
]
SPEC = web.AppKey("openapi", dict[str, Any])
DESCRIPTION = (
    "Push loan applications (leads) to be called, follow their calls, manage campaigns and the "
    "do-not-call list, send clients SMS and email from templates. Every path is scoped to a project; "
    "authenticate with a project token: `Authorization: Bearer dlr_...`."
)


def setup(app: web.Application) -> None:
    add_routes(app, OPERATIONS)
    app[operators.SESSIONS] = {}
    operator_events.setup(app)
    app[SPEC] = document(OPERATIONS, title="Dialer API", description=DESCRIPTION)
    app.router.add_get("/api/openapi.json", openapi_json, name="openapi")
    app.router.add_get("/api/docs", api_docs, name="api_docs")


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[SPEC])


async def api_docs(request: web.Request) -> web.Response:
    spec = request.app[SPEC]
    operations: list[dict[str, Any]] = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = []
            for status, response in op["responses"].items():
                contents: list[dict[str, Any]] = list(response.get("content", {}).values())
                schema = contents[0].get("schema") if contents else None
                responses.append((status, _ref_name(schema)))
            operations.append(
                {
                    "id": op["operationId"],
                    "tag": op["tags"][0],
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": op.get("description", ""),
                    "params": op.get("parameters", []),
                    "body": _ref_name(body),
                    "responses": responses,
                }
            )
    html = TEMPLATES.get_template("api_docs.html").render(spec=spec, operations=operations)
    return web.Response(text=html, content_type="text/html")


def _ref_name(schema: dict[str, Any] | None) -> str | None:
    if not schema or "$ref" not in schema:
        return None
    return str(schema["$ref"]).rsplit("/", 1)[-1]
