"""What every API handler does first: authenticate the token and read a bounded JSON body."""

from __future__ import annotations

import codecs
import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from dialer.accounts.projects import ProjectRef
from dialer.accounts.tokens import owner_of
from dialer.errors import field_errors
from dialer.storage import reading
from dialer.web.api import strict_json
from dialer.web.api.problems import ProblemError
from dialer.web.keys import DATABASE

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dialer"'}


async def authorize_project(request: web.Request) -> ProjectRef:
    """The project in the path, when the request's bearer token belongs to it.

    401 without a valid token; 403 when the token is another project's (whether or not the project
    in the path exists, so tokens cannot be used to probe for other tenants).
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError(401, "send Authorization: Bearer <token>", headers=_CHALLENGE)
    async with reading(request.app[DATABASE]) as conn:
        owner = await owner_of(conn, token.strip())
    if owner is None:
        raise ProblemError(401, "unknown or revoked token", headers=_CHALLENGE)
    if owner.project_slug != request.match_info.get("project"):
        raise ProblemError(403, "this token is not valid for that project")
    return ProjectRef(
        owner.project_id, owner.project_slug, owner.region, owner.webhook_url, owner.vanity_numbers
    )


async def read_json(request: web.Request, limit: int, *, why: str = "") -> tuple[bytes, Any]:
    """The body as sent and decoded; 415, 413 or 400 problems when it is not JSON, too large or broken.

    ``why`` explains the limit in the 413 answer (e.g. what a lead's data may hold). A ``charset``
    label other than UTF-8 is honoured when Python knows it (``windows-1251`` from older portals).
    Only standard JSON is accepted (:mod:`dialer.web.api.strict_json`).
    """
    if request.content_type != "application/json":
        raise ProblemError(415, f"send Content-Type: application/json, not {request.content_type!r}")
    too_large = f"the body is larger than {limit} bytes{why}"
    if request.content_length is not None and request.content_length > limit:
        raise ProblemError(413, f"the body has {request.content_length} bytes; the limit is {limit}{why}")
    chunks, size = [], 0
    while chunk := await request.content.read(min(limit + 1 - size, 1 << 20)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ProblemError(413, too_large)
    raw = b"".join(chunks)
    return raw, decode_json(raw, request.charset)


def decode_json(raw: bytes, charset: str | None) -> Any:
    """``raw`` decoded as ``charset`` (UTF-8 when unlabelled) and parsed as standard JSON; 415 for an
    unknown charset, 400 naming what was wrong otherwise."""
    label = (charset or "utf-8").strip().lower()
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        raise ProblemError(415, f"unknown charset {charset!r}: send UTF-8") from None
    try:
        text = raw.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        raise ProblemError(
            400,
            f"the body is not valid {codec} (byte {exc.start}): send UTF-8, or label the charset "
            "in Content-Type, e.g. application/json; charset=windows-1251",
        ) from None
    try:
        return strict_json.loads(text)
    except strict_json.JsonRefused as exc:
        raise ProblemError(400, f"the body is not accepted: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ProblemError(400, f"the body is not valid JSON: {exc}") from None


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], payload: Any, *, kind: str = "invalid-input") -> M:
    """``payload`` as ``model``; a 422 naming every wrong field otherwise."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ProblemError(422, "the request was rejected", errors=field_errors(exc), kind=kind) from None
