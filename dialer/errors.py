"""Errors of the dialer application layer, and the field errors that explain a rejection.

Tree::

    DialerError                 base of everything raised on purpose by ``dialer``
    ├── ConfigError             the configuration is wrong (user's fault); carries one problem per key
    ├── StorageError            the database cannot be used as it is
    │   └── DatabaseNotMigrated the schema is older than this code (run ``dialer migrate``)
    ├── Rejected                what was sent cannot be used; ``errors`` says which field and why
    ├── NotFound                the named thing (project, campaign, lead, ...) does not exist
    ├── Conflict                the thing cannot be done in its current state (operator state, ...)
    └── CallNotPlaced           telephony could not place a call now; ``retry_after`` seconds, if known
        └── PhoneUnavailable    an operator's phone cannot be called (not registered, did not answer)

Nothing here knows HTTP: the web edge maps ``Rejected`` to 422, ``NotFound`` to 404 and ``Conflict``
to 409 (:mod:`dialer.web.api.problems`); the CLI turns every ``DialerError`` into a message on stderr
and exit code 2, without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError


class DialerError(Exception):
    """Base of the errors the dialer raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One wrong thing in the configuration: where, what is wrong, what would be accepted."""

    source: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.problem}"


class ConfigError(DialerError):
    """The configuration cannot be used; ``problems`` lists every wrong key, one each."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


class StorageError(DialerError):
    """The database cannot be used as it is."""


class DatabaseNotMigrated(StorageError):
    """The database schema is not at the revision this code needs."""

    def __init__(self, where: str, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        state = "has no schema yet" if current is None else f"is at revision {current}"
        super().__init__(
            f"database {where} {state}, this version needs revision {head}; run `dialer migrate` first"
        )


class FieldError(BaseModel):
    """One wrong field: where it is, what was wrong, what is expected."""

    field: str
    problem: str
    expected: str | None = None

    def described(self) -> str:
        """One line for a person: ``field: problem (expected)``."""
        return f"{self.field}: {self.problem}" + (f" ({self.expected})" if self.expected else "")


class Rejected(DialerError):
    """What was sent cannot be used; ``errors`` names each wrong field."""

    def __init__(self, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class NotFound(DialerError):
    """The named thing does not exist (or belongs to another project)."""


class Conflict(DialerError):
    """The thing cannot be done in its current state."""


class CallNotPlaced(DialerError):
    """Telephony could not place a call now; try again after ``retry_after`` seconds (None: unknown)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PhoneUnavailable(CallNotPlaced):
    """An operator's phone cannot be called: not registered, or it did not answer."""


_EXPECTED = {
    "missing": "this field",
    "extra_forbidden": "no such field",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "list_type": "a list",
    "dict_type": "a JSON object",
    "timezone_aware": "an ISO 8601 instant with its offset, e.g. 2026-11-22T10:00:00+03:00",
    "datetime_type": "an ISO 8601 instant with its offset, e.g. 2026-11-22T10:00:00+03:00",
    "datetime_parsing": "an ISO 8601 instant with its offset, e.g. 2026-11-22T10:00:00+03:00",
    "datetime_from_date_parsing": "an ISO 8601 instant with its offset, e.g. 2026-11-22T10:00:00+03:00",
    "model_type": "a JSON object",
    "phone": "a dialable number, e.g. +79123456789 or 8 (912) 345-67-89",
}


def field_errors(exc: ValidationError) -> list[FieldError]:
    """One :class:`FieldError` per problem pydantic found, with a JSON-path-like field name."""
    out = []
    for err in exc.errors(include_url=False):
        field = ""
        for part in err["loc"]:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        expected = _EXPECTED.get(err["type"])
        ctx = err.get("ctx") or {}
        if "pattern" in ctx:
            expected = f"matching {ctx['pattern']}"
        elif "max_length" in ctx:
            unit = "items" if err["type"].startswith("too") else "characters"
            expected = f"at most {ctx['max_length']} {unit}"
        elif "min_length" in ctx:
            expected = f"at least {ctx['min_length']}"
        elif "le" in ctx:
            expected = f"at most {ctx['le']}"
        elif "ge" in ctx:
            expected = f"at least {ctx['ge']}"
        problem = err["msg"].removeprefix("Value error, ")
        out.append(FieldError(field=field or "(body)", problem=problem, expected=expected))
    return out
