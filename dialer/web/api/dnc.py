"""``/api/v1/projects/{project}/dnc``: the project's do-not-call list (add, check, remove)."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from dialer.errors import FieldError, field_errors
from dialer.leads import dnc
from dialer.leads.phones import PhoneError, normalize
from dialer.storage import reading, writing
from dialer.web.api.leads import PROJECT
from dialer.web.api.openapi import Operation, Param
from dialer.web.api.problems import ProblemError
from dialer.web.api.requests import authorize_project, read_json
from dialer.web.keys import DATABASE

BASE = "/api/v1/projects/{project}/dnc"
PHONE = Param("phone", "path", {"type": "string", "minLength": 1, "maxLength": 64}, "number, any notation")


def _phone(request: web.Request, region: str) -> str:
    raw = request.match_info["phone"]
    try:
        return normalize(raw, region)
    except PhoneError as exc:
        error = FieldError(field="phone", problem=f"{raw!r}: {exc}", expected="a dialable number")
        raise ProblemError(422, "not a dialable number", errors=[error], kind="invalid-phone") from None


async def add_dnc(request: web.Request) -> web.Response:
    """List numbers so that no campaign of the project calls them."""
    project = await authorize_project(request)
    _, payload = await read_json(request, 1024 * 1024)
    try:
        entry = dnc.DncIn.model_validate(payload, context={"region": project.region})
    except ValidationError as exc:
        raise ProblemError(
            422, "the numbers were rejected", errors=field_errors(exc), kind="invalid-phone"
        ) from None
    async with writing(request.app[DATABASE]) as conn:
        out = await dnc.add(conn, project.id, entry.phones, entry.reason)
    return web.json_response(text=out.model_dump_json())


async def check_dnc(request: web.Request) -> web.Response:
    """Whether the number is listed for the project or globally."""
    project = await authorize_project(request)
    phone = _phone(request, project.region)
    async with reading(request.app[DATABASE]) as conn:
        scopes = (await dnc.listed(conn, project.id, [phone])).get(phone, [])
    return web.json_response(
        text=dnc.DncCheck(phone=phone, listed=bool(scopes), scopes=scopes).model_dump_json()
    )


async def remove_dnc(request: web.Request) -> web.Response:
    """Unlist the number for the project (global entries are removed with the CLI only)."""
    project = await authorize_project(request)
    phone = _phone(request, project.region)
    async with writing(request.app[DATABASE]) as conn:
        removed = await dnc.remove(conn, project.id, phone)
        scopes = (await dnc.listed(conn, project.id, [phone])).get(phone, [])
    if not removed:
        raise ProblemError(404, f"{phone} is not on the project's list")
    return web.json_response(
        text=dnc.DncCheck(phone=phone, listed=bool(scopes), scopes=scopes).model_dump_json()
    )


OPERATIONS = [
    Operation(
        "POST",
        BASE,
        add_dnc,
        "Add numbers to the do-not-call list",
        "dnc",
        {200: dnc.DncAdded},
        body=dnc.DncIn,
        params=(PROJECT,),
        errors=(401, 403),
    ),
    Operation(
        "GET",
        BASE + "/{phone}",
        check_dnc,
        "Check a number",
        "dnc",
        {200: dnc.DncCheck},
        params=(PROJECT, PHONE),
        errors=(401, 403, 422),
    ),
    Operation(
        "DELETE",
        BASE + "/{phone}",
        remove_dnc,
        "Remove a number from the project's list",
        "dnc",
        {200: dnc.DncCheck},
        params=(PROJECT, PHONE),
        errors=(401, 403, 404, 422),
    ),
]
