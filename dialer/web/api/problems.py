"""RFC 9457 problem details: every API error is ``application/problem+json`` with a field list.

Handlers raise :class:`ProblemError` (:func:`problem_of` makes one from a domain error: the only
place where ``Rejected``, ``NotFound`` and ``Conflict`` become HTTP statuses); the middleware turns
it, aiohttp's own HTTP errors (unknown route, wrong method, body too large) and unexpected exceptions
into problem documents, so a client never sees an HTML error page or a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from dialer.errors import Conflict, DialerError, FieldError, NotFound, Rejected

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem document, with ``errors`` naming each wrong field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] = []


class ProblemError(Exception):
    """Raised by handlers to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.kind = kind
        self.headers = dict(headers or {})

    def response(self, instance: str) -> web.Response:
        problem = Problem(
            type=f"/api/problems/{self.kind}" if self.kind else "about:blank",
            title=HTTPStatus(self.status).phrase,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )
        return problem_response(problem, self.headers)


_STATUS_OF: tuple[tuple[type[DialerError], int], ...] = ((NotFound, 404), (Rejected, 422), (Conflict, 409))


def problem_of(exc: DialerError, *, kind: str | None = None, default: int = 409) -> ProblemError:
    """The problem answering the domain error ``exc`` (``default`` for an error with no status of its
    own); the field errors of a :class:`Rejected` go with it."""
    status = next((code for cls, code in _STATUS_OF if isinstance(exc, cls)), default)
    errors = exc.errors if isinstance(exc, Rejected) else ()
    return ProblemError(status, str(exc), errors=errors, kind=kind)


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> web.Response:
    body = problem.model_dump(mode="json", exclude_none=True)
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=problem.status,
        content_type=PROBLEM_JSON,
        headers=headers,
    )


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error under ``/api/`` with a problem document."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except ProblemError as exc:
        return exc.response(request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = {404: f"no such resource: {request.path}", 405: f"{request.method} is not allowed here"}
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        text = exc.text if exc.status == 413 else None
        return ProblemError(exc.status, detail.get(exc.status, text), headers=headers).response(request.path)
    except ConnectionResetError:
        raise  # the client went away; nobody to answer
    except Exception:
        log.exception("unexpected error answering an API request", path=request.path)
        return ProblemError(500, "the server failed; nothing was stored for this request").response(
            request.path
        )
