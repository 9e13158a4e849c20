"""The API's routes and their OpenAPI 3.1 description, from one list of :class:`Operation`.

Each operation names its handler, request model and response models (pydantic); the same list adds
the routes to aiohttp and builds ``/api/openapi.json``, so the document cannot drift from the code.
Error responses are RFC 9457 problem documents (:mod:`dialer.web.api.problems`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dialer import __version__
from dialer.errors import FieldError
from dialer.web.api.problems import PROBLEM_JSON, Problem, ProblemError

REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "the body is not standard JSON (or nested too deep, or has duplicate keys)",
    401: "no token, or an unknown or revoked one",
    403: "the token belongs to another project",
    404: "no such resource",
    409: "a conflict: the same Idempotency-Key in progress, or a state that cannot change now",
    413: "the body is too large",
    415: "the body is not application/json",
    422: "the input was understood but is wrong; `errors` lists each field",
    429: "too many wrong passwords lately; wait the seconds Retry-After gives",
    503: "this server runs without the dialing engine",
}


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter with its JSON schema."""

    name: str
    where: Literal["path", "query", "header"]
    schema: dict[str, Any]
    description: str
    required: bool = True


@dataclass(frozen=True)
class Operation:
    """One API operation: route, handler, documentation."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    responses: dict[int, type[BaseModel] | None]
    body: type[BaseModel] | None = None
    params: Sequence[Param] = ()
    errors: Sequence[int] = (401, 403, 404)
    description: str = ""
    authenticated: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    route: str | None = None  # aiohttp path with regexes, when it differs from the documented one
    links: dict[int, dict[str, Any]] = field(default_factory=dict)  # OpenAPI links per response status
    stream: str | None = None  # media type of a streamed success (the model: each event's data)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


def add_routes(app: web.Application, operations: Sequence[Operation]) -> None:
    """Route every operation; path parameters are checked against their documented schema first."""
    for op in operations:
        app.router.add_route(op.method, op.route or op.path, _checking_path(op), name=op.operation_id)


def _checking_path(op: Operation) -> Handler:
    """The handler behind a check of the documented path and query parameters (422 naming each)."""
    checked = [p for p in op.params if p.where in ("path", "query")]
    if not checked:
        return op.handler

    @functools.wraps(op.handler)
    async def handler(request: web.Request) -> web.StreamResponse:
        errors = []
        for param in checked:
            if param.where == "path":
                values = [request.match_info.get(param.name, "")]
            else:
                values = request.query.getall(param.name, [])
                if not values and param.required:
                    errors.append(
                        FieldError(
                            field=f"query.{param.name}", problem="required", expected=param.description
                        )
                    )
                    continue
                if len(values) > 1:
                    errors.append(FieldError(field=f"query.{param.name}", problem="given more than once"))
                    continue
            for value in values:
                problem = _schema_problem(value, param.schema)
                if problem is not None:
                    field = f"{param.where}.{param.name}"
                    errors.append(FieldError(field=field, problem=problem[0], expected=problem[1]))
        if errors:
            raise ProblemError(422, "a parameter is malformed", errors=errors, kind="invalid-path")
        return await op.handler(request)

    return handler


def _schema_problem(value: str, schema: dict[str, Any]) -> tuple[str, str] | None:
    """What is wrong with a path segment or query value under its schema, and what is expected."""
    if schema.get("type") == "integer":
        return _integer_problem(value, schema)
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not allowed", "one of: " + ", ".join(schema["enum"])
    if len(value) < schema.get("minLength", 0):
        return "too short", f"at least {schema['minLength']} characters"
    if len(value) > schema.get("maxLength", len(value)):
        return "too long", f"at most {schema['maxLength']} characters"
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        return "malformed", f"matching {schema['pattern']}"
    return None


def _integer_problem(value: str, schema: dict[str, Any]) -> tuple[str, str] | None:
    low, high = schema.get("minimum"), schema.get("maximum")
    expected = (
        f"an integer from {low if low is not None else '-inf'} to {high if high is not None else 'inf'}"
    )
    if re.fullmatch(r"-?[0-9]{1,18}", value) is None:
        return "not an integer", expected
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        return "out of range", expected
    return None


def document(operations: Sequence[Operation], *, title: str, description: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``operations``."""
    models: set[tuple[type[BaseModel], Literal["validation", "serialization"]]] = {(Problem, "serialization")}
    for op in operations:
        if op.body is not None:
            models.add((op.body, "validation"))
        models.update((m, "serialization") for m in op.responses.values() if m is not None)
    keys, defs = models_json_schema(sorted(models, key=lambda m: (m[0].__name__, m[1])), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, keys)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__, "description": description},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a project token from `dialer token create --project SLUG`",
                }
            },
        },
    }


def _operation(op: Operation, keys: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {},
    }
    if op.description:
        out["description"] = op.description
    if op.params:
        out["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "description": p.description,
                "schema": p.schema,
            }
            for p in op.params
        ]
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": keys[(op.body, "validation")]}},
        }
    for status, model in op.responses.items():
        response: dict[str, Any] = {"description": "success"}
        if model is not None and op.stream is not None:
            event = {"schema": {"type": "string"}, "x-event-data": keys[(model, "serialization")]}
            response["content"] = {op.stream: event}
        elif model is not None:
            response["content"] = {"application/json": {"schema": keys[(model, "serialization")]}}
        if status in op.links:
            response["links"] = op.links[status]
        out["responses"][str(status)] = response
    errors = set(op.errors) | ({400, 413, 415, 422} if op.body is not None else set())
    if any(p.where == "path" for p in op.params):
        errors.add(422)
    problem = {PROBLEM_JSON: {"schema": keys[(Problem, "serialization")]}}
    for status in sorted(errors):
        out["responses"][str(status)] = {"description": _ERROR_TEXT[status], "content": problem}
    if op.authenticated:
        out["security"] = [{"bearer": []}]
    out.update(op.extra)
    return out
