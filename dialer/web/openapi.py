"""The API's routes and their OpenAPI 3.1 description, from one list of :class:`Operation`.

Each operation names its handler, request model and response models (pydantic); the same list adds
the routes to aiohttp and builds ``/api/openapi.json``, so the document cannot drift from the code.
Error responses are RFC 9457 problem documents (:mod:`dialer.web.problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dialer import __version__
from dialer.web.problems import PROBLEM_JSON, Problem

REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "the body is not valid JSON",
    401: "no token, or an unknown or revoked one",
    403: "the token belongs to another project",
    404: "no such resource",
    409: "another request with the same Idempotency-Key is in progress",
    413: "the body is too large",
    415: "the body is not application/json",
    422: "the input was understood but is wrong; `errors` lists each field",
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

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


def add_routes(app: web.Application, operations: Sequence[Operation]) -> None:
    for op in operations:
        app.router.add_route(op.method, op.path, op.handler, name=op.operation_id)


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
        if model is not None:
            response["content"] = {"application/json": {"schema": keys[(model, "serialization")]}}
        out["responses"][str(status)] = response
    errors = set(op.errors) | ({400, 413, 415, 422} if op.body is not None else set())
    if not op.authenticated:
        errors -= {401, 403}
    problem = {PROBLEM_JSON: {"schema": keys[(Problem, "serialization")]}}
    for status in sorted(errors):
        out["responses"][str(status)] = {"description": _ERROR_TEXT[status], "content": problem}
    if op.authenticated:
        out["security"] = [{"bearer": []}]
    out.update(op.extra)
    return out
