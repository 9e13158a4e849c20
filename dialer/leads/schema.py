"""API payloads for leads, validated with pydantic.

Incoming models reject unknown fields and say, per field, what was wrong and what is expected
(:func:`dialer.errors.field_errors`). Phones are normalised to E.164 with the project's region, passed as
validation context ``{"region": "RU"}``.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dialer.calling_window import CallingRuleError, zone
from dialer.errors import FieldError
from dialer.leads.phones import PhoneError, parse

MAX_PHONES = 5
MAX_DATA_BYTES = 16_384
MAX_DATA_DEPTH = 8
MAX_BULK = 10_000

# Any printable text but "/" (it would split the URL path /leads/{external_id}); not "bulk" (the bulk
# endpoint's path), "." or ".." (clients normalise them away in paths).
EXTERNAL_ID_PATTERN = r"^(?!bulk$)(?!\.\.?$)[^/\x00-\x1f\x7f]+$"
EXTERNAL_ID_RULE = (
    "1-128 printable characters in any script, without '/' (it would split the URL of the lead: "
    "write 2026/1042 as 2026-1042), and not 'bulk', '.' or '..'"
)


def _external_id(value: str) -> str:
    if "/" in value:
        raise ValueError(f"contains '/'; allowed: {EXTERNAL_ID_RULE}")
    if not value.isprintable():
        raise ValueError(f"contains a control or invisible character; allowed: {EXTERNAL_ID_RULE}")
    if value in ("bulk", ".", ".."):
        raise ValueError(f"{value!r} is reserved; allowed: {EXTERNAL_ID_RULE}")
    return value


ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_external_id)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class LeadStatus(StrEnum):
    """Where a lead is in its life. ``new``, ``retry`` and ``callback`` are waiting to be dialled."""

    NEW = "new"
    RETRY = "retry"
    CALLBACK = "callback"
    DIALING = "dialing"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"
    DNC = "dnc"
    CANCELLED = "cancelled"


QUEUE_RANK = {LeadStatus.CALLBACK: 0, LeadStatus.NEW: 1, LeadStatus.RETRY: 2}
NOT_QUEUED = 9


def queue_rank(status: LeadStatus) -> int:
    """Hopper order of a status: callbacks, then fresh leads, then retries; others are not queued."""
    return QUEUE_RANK.get(status, NOT_QUEUED)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, regex_engine="python-re")


EXTENSION_MARK = ";ext="


def _phone(value: str, info: ValidationInfo) -> str:
    """E.164, with ``;ext=DIGITS`` (RFC 3966) when the number came with an extension; the model
    then splits the extensions out (:meth:`_WithPhones.extensions`)."""
    context = info.context or {}
    try:
        number = parse(value, context.get("region", "RU"), vanity=bool(context.get("vanity", False)))
    except PhoneError as exc:
        raise PydanticCustomError("phone", "{message}", {"message": f"{value!r}: {exc}"}) from None
    return number.e164 if number.extension is None else f"{number.e164}{EXTENSION_MARK}{number.extension}"


Phone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_phone)]


def _unique(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))


class _WithPhones(BaseModel):
    """Splits ``+79123456793;ext=505`` into the number dialled and its extension."""

    _extensions: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def extensions(self) -> dict[str, str]:
        """Extension digits by E.164 number, for the numbers that came with one."""
        return self._extensions

    @model_validator(mode="after")
    def _split_extensions(self) -> Any:
        phones: list[str] | None = getattr(self, "phones", None)
        if phones:
            plain = []
            for phone in phones:
                number, _, extension = phone.partition(EXTENSION_MARK)
                plain.append(number)
                if extension:
                    self._extensions[number] = extension
            self.phones = _unique(plain)
        return self


def _check_data(value: dict[str, Any]) -> dict[str, Any]:
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if len(encoded) > MAX_DATA_BYTES:
        raise ValueError(f"{len(encoded)} bytes as JSON; at most {MAX_DATA_BYTES}")
    if _depth(value) > MAX_DATA_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DATA_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _check_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        zone(value)
    except CallingRuleError as exc:
        raise ValueError(str(exc)) from None
    return value


class LeadIn(_In, _WithPhones):
    """A lead as the lender sends it. ``external_id`` is the lender's id (the application number)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_id": "APP-1042",
                    "phones": ["8 (912) 345-67-89", "+7 495 123-45-67"],
                    "name": "Ivan Petrov",
                    "data": {"application": "A-1042", "date": "2026-11-20", "amount": 50000},
                    "priority": 10,
                    "expires_at": "2026-12-31T21:00:00+03:00",
                }
            ]
        }
    )

    external_id: ExternalId = Field(description="the sender's id, unique within the project")
    phones: list[Phone] = Field(
        min_length=1, max_length=MAX_PHONES, description="1-5 numbers in any common notation"
    )
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    data: dict[str, Any] = Field(
        default_factory=dict, description=f"anything the operator needs; at most {MAX_DATA_BYTES} bytes"
    )
    campaign: Slug | None = Field(default=None, description="campaign name; none: not dialled yet")
    priority: StrictInt = Field(default=0, ge=-1000, le=1000)
    time_zone: str | None = Field(default=None, max_length=64, description="IANA zone of the person")
    expires_at: AwareDatetime | None = Field(default=None, description="do not call after this instant")

    _phones = field_validator("phones")(_unique)
    _data = field_validator("data")(_check_data)
    _zone = field_validator("time_zone")(_check_zone)


class LeadPatch(_In, _WithPhones):
    """A partial change; ``data`` is merged (a key set to null is removed)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    # Not nullable (null is refused), but may be left out: the default None means "not sent".
    phones: list[Phone] = Field(default=None, min_length=1, max_length=MAX_PHONES)  # type: ignore[arg-type]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    data: dict[str, Any] = None  # type: ignore[assignment]
    campaign: Slug | None = None
    priority: StrictInt = Field(default=None, ge=-1000, le=1000)  # type: ignore[assignment]
    time_zone: str | None = Field(default=None, max_length=64)
    expires_at: AwareDatetime | None = None

    @field_validator("phones")
    @classmethod
    def _patch_phones(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique(value)

    @field_validator("data")
    @classmethod
    def _patch_data(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _check_data(value)

    _zone = field_validator("time_zone")(_check_zone)

    @model_validator(mode="after")
    def _something(self) -> LeadPatch:
        if not self.model_fields_set:
            raise ValueError("nothing to change; give at least one field")
        return self


class BulkIn(_In):
    """Up to 10,000 leads; each row is validated and stored on its own."""

    leads: list[Any] = Field(min_length=1, max_length=MAX_BULK, description="lead objects (see LeadIn)")


class LeadOut(BaseModel):
    """A lead as the API shows it."""

    external_id: str
    campaign: str | None
    phones: list[str]
    extensions: dict[str, str] = Field(
        default_factory=dict, description="extension by number, for numbers sent with one ('доб. 505')"
    )
    name: str | None
    data: dict[str, Any]
    priority: int
    time_zone: str | None
    expires_at: datetime | None
    status: LeadStatus
    attempts: int
    next_attempt_at: datetime | None
    pinned_operator: str | None
    callback_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UpsertResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class LeadWritten(BaseModel):
    """What a single-lead POST did."""

    result: UpsertResult
    lead: LeadOut


class RowResult(BaseModel):
    """One row of a bulk request: its index, what happened, and the problems when it was rejected."""

    index: int
    external_id: str | None
    result: UpsertResult | None = None
    errors: list[FieldError] = Field(default_factory=list)


class BulkOut(BaseModel):
    """Totals and one result per row, in the order sent."""

    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[RowResult]


RowResult.model_rebuild()
