"""What the API and the CLI send and get back about templates, messages and the stop list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Medium = Literal["sms", "email"]
Status = Literal["queued", "sending", "sent", "delivered", "failed", "expired"]
FINAL = ("delivered", "failed", "expired")
TemplateName = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateBody(Strict):
    """A template as written: Jinja2 over ``lead``, ``answers``, ``operator``, ``project``."""

    medium: Medium
    body: str = Field(max_length=100_000, description="the SMS text, or the email's plain-text part")
    subject: str | None = Field(default=None, max_length=300, description="email only")
    html: str | None = Field(default=None, max_length=500_000, description="email only: the HTML part")


class SmsSize(BaseModel):
    encoding: Literal["gsm7", "ucs2"]
    length: int = Field(description="septets (GSM-7) or UTF-16 units (UCS-2)")
    parts: int
    per_part: int
    left: int = Field(description="characters that still fit in the last part")


class TemplateOut(TemplateBody):
    name: str
    updated_at: datetime
    sms: SmsSize | None = Field(default=None, description="SMS: the size of the text as written")


class PreviewIn(Strict):
    lead: str | None = Field(default=None, max_length=128, description="external_id of a lead to fill it")
    answers: dict[str, Any] = Field(default_factory=dict)
    operator: str | None = Field(default=None, max_length=200, description="the operator's name")


class PreviewOut(BaseModel):
    body: str
    subject: str | None = None
    html: str | None = None
    sms: SmsSize | None = None


class AttachmentIn(Strict):
    filename: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")
    content_type: str = Field(default="application/octet-stream", pattern=r"^[\w.+-]+/[\w.+-]+$")
    content: str = Field(max_length=7_000_000, description="base64")


class MessageIn(Strict):
    """Send a template to a lead. ``to`` overrides the lead's first phone (SMS) or ``data.email``."""

    template: str = Field(min_length=1, max_length=64)
    to: str | None = Field(default=None, max_length=320)
    answers: dict[str, Any] = Field(default_factory=dict, description="the call's CRM answers")
    operator: str | None = Field(default=None, max_length=64, description="the operator's login")
    idempotency_key: str | None = Field(
        default=None, max_length=200,
        description="the same key again returns the first message (e.g. lead:call:step:template)",
    )  # fmt: skip
    valid_for: float = Field(
        default=86_400, gt=0, le=30 * 86_400, description="seconds to get it out; then it expires"
    )
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10, description="email only")


class MessageOut(BaseModel):
    id: int
    lead: str | None = Field(description="the lead's external_id")
    medium: Medium
    channel: str
    template: str | None
    recipient: str
    subject: str | None
    body: str
    status: Status
    reason: str | None
    idempotency_key: str | None
    operator: str | None
    gateway_id: str | None
    parts: int | None
    encoding: str | None
    cost: Decimal | None
    tries: int
    created_at: datetime
    next_try_at: datetime | None = Field(description="when it is tried next (null when finished)")
    not_after: datetime
    sent_at: datetime | None
    finished_at: datetime | None


class MessageList(BaseModel):
    messages: list[MessageOut]


class StopIn(Strict):
    medium: Medium
    addresses: list[str] = Field(min_length=1, max_length=10_000, description="phones or email addresses")
    reason: str | None = Field(default=None, max_length=200)


class StopAdded(BaseModel):
    medium: Medium
    added: list[str]
    already: list[str]
