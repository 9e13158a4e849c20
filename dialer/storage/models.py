"""The tables. Every change here needs a migration under ``migrations/versions``.

Constraint names follow one convention so that migrations can name what they drop on every backend
(SQLite alters tables by copying them; it needs names to find constraints).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Numeric, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel

from dialer.storage.types import UtcDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Project(SQLModel, table=True):
    """A tenant: one client's line of work, with its own leads, campaigns, tokens and reports."""

    __tablename__ = "project"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, description="identifier used in API paths")
    name: str = Field(max_length=200)
    region: str = Field(default="RU", max_length=2, description="ISO 3166 region for parsing phones")
    time_zone: str = Field(default="Europe/Moscow", max_length=64, description="IANA zone")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    calling_window: str = Field(
        default="ru-230fz", max_length=32, description="calling window preset (dialer.calling_window)"
    )
    holidays: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="local dates, ISO"
    )
    caps_per_day: int | None = Field(default=None, description="contacts per person per day, all campaigns")
    caps_per_week: int | None = Field(default=None)
    caps_per_month: int | None = Field(default=None)
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, max_length=200, description="HMAC-SHA256 key")
    vanity_numbers: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa_false()},
        description="accept letters in numbers (1-800-FLOWERS); off: letters are refused as typos",
    )
    dial_extensions: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa_false()},
        description="send a number's extension as DTMF once the call is answered",
    )
    sms_counts_as_contact: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa_false()},
        description="an SMS sent counts against the contact caps like an answered call (and is capped)",
    )
    demo: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa_false()},
        description="made by `dialer demo`: left out of real reports, removed by `dialer demo reset`",
    )
    # the operators' workplace (dialer.workplace_settings reads these, with their defaults)
    dispositions: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="the outcomes operators choose from"
    )
    pause_reasons: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="the reasons operators pause with"
    )
    wrap_up_extension: int = Field(
        default=30, sa_column_kwargs={"server_default": "30"}, description="seconds one press adds"
    )
    disposition_limit: int = Field(
        default=120,
        sa_column_kwargs={"server_default": "120"},
        description="seconds after the wrap-up until a call without an outcome is closed as such",
    )
    away_limit: int = Field(
        default=60,
        sa_column_kwargs={"server_default": "60"},
        description="seconds a ready operator may be away from the workplace before being paused",
    )
    mask_phones: bool = Field(
        default=True,
        sa_column_kwargs={"server_default": sa_true()},
        description="operators see only the last digits of the client's number",
    )
    manual_calls: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa_false()},
        description="operators may call a lead of the project by hand",
    )
    portal_url: str | None = Field(
        default=None, max_length=2000, description="the lender's portal, {placeholders} from the lead"
    )


class ApiToken(SQLModel, table=True):
    """A bearer token for one project's API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16, description="first characters, to tell tokens apart in lists")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class Campaign(SQLModel, table=True):
    """A dialer within a project: how and when its leads are called."""

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_campaign_project_id_name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    mode: str = Field(default="predictive", max_length=16)
    status: str = Field(default="paused", max_length=16)
    trunk: str | None = Field(default=None, max_length=32, description="preferred trunk name")
    caller_id: str | None = Field(default=None, max_length=32)
    script: str | None = Field(default=None, max_length=64)
    calling_window: str | None = Field(default=None, max_length=32, description="overrides the project's")
    ring_timeout: float = Field(default=25.0)
    abandon_target: float = Field(default=0.03)
    abandon_window: str = Field(default="30d", max_length=8, description="'30d' (FTC) or '24h' (Ofcom)")
    max_attempts: int = Field(default=5)
    retry_delays: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="outcome -> seconds"
    )
    priority: int = Field(default=0)
    wrap_up: float = Field(default=15.0, sa_column_kwargs={"server_default": "15"})
    callback_grace: int = Field(
        default=600, sa_column_kwargs={"server_default": "600"}, description="seconds a callback waits"
    )
    callback_policy: str = Field(
        default="then_anyone", max_length=16, sa_column_kwargs={"server_default": "then_anyone"}
    )
    amd: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    amd_action: str = Field(default="hangup", max_length=16, sa_column_kwargs={"server_default": "hangup"})
    amd_sample: float = Field(
        default=0.0,
        sa_column_kwargs={"server_default": "0"},
        description="share of machine verdicts let through to an operator, who marks person or machine",
    )
    budget: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(12, 2), nullable=True), description="calls' cost cap"
    )
    status_reason: str | None = Field(
        default=None, max_length=200, description="why the dialer paused it by itself (budget spent)"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class Lead(SQLModel, table=True):
    """A person to call (a loan application), with its own data, state and schedule."""

    __tablename__ = "lead"
    __table_args__ = (UniqueConstraint("project_id", "external_id", name="uq_lead_project_id_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="SET NULL")
    external_id: str = Field(max_length=128)
    phones: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    phone_extensions: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False, server_default="{}"),
        description="extension (digits) by E.164 number, as the application gave it",
    )
    name: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    priority: int = Field(default=0)
    time_zone: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    status: str = Field(default="new", max_length=16)
    queue_rank: int = Field(default=1, description="0 due callback, 1 fresh, 2 retry (hopper order)")
    attempts: int = Field(default=0)
    next_phone: int = Field(default=0, description="index into phones of the next number to try")
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    pinned_operator: str | None = Field(default=None, max_length=64)
    bad_contacts: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False, server_default="{}"),
        description="phones and addresses a message could never reach, with the gateway's reason",
    )
    callback_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


# The console lists a project's leads newest first, a page at a time (keyset on id).
Index("ix_lead_project_id_id", Lead.project_id, Lead.id)  # type: ignore[arg-type]

# The hopper reads a campaign's queue in this order (rank, priority high first, age): the index lets
# the database walk it instead of sorting every waiting lead.
Index(
    "ix_lead_hopper",
    Lead.campaign_id,  # type: ignore[arg-type]
    Lead.queue_rank,  # type: ignore[arg-type]
    Lead.priority.desc(),  # type: ignore[attr-defined]
    Lead.created_at,  # type: ignore[arg-type]
    Lead.id,  # type: ignore[arg-type]
)


class LeadEvent(SQLModel, table=True):
    """One line of a lead's history: created, updated, status changed, attempt, deleted."""

    __tablename__ = "lead_event"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    kind: str = Field(max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Attempt(SQLModel, table=True):
    """One call placed to a lead."""

    __tablename__ = "attempt"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="SET NULL")
    phone: str = Field(max_length=32, index=True)
    trunk: str | None = Field(default=None, max_length=32)
    call_id: str | None = Field(default=None, max_length=200)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    connected_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    sip_status: int | None = Field(default=None)
    outcome: str | None = Field(default=None, max_length=16)
    cost: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 4), nullable=True))
    operator: str | None = Field(default=None, max_length=64)
    wait_to_operator: float | None = Field(default=None, description="seconds the answered person waited")
    abandoned: bool = Field(default=False)
    amd_result: str | None = Field(default=None, max_length=16)
    amd_confidence: float | None = Field(default=None)
    amd_sampled: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa_false()},
        description="judged a machine, let through to an operator to check the detector",
    )
    amd_review: str | None = Field(
        default=None, max_length=16, description="the operator's mark: person/machine"
    )
    recording: str | None = Field(default=None, max_length=500)
    script_version: int | None = Field(
        default=None, description="the version of the campaign's script the call started with"
    )
    disposition: str | None = Field(default=None, max_length=32, description="the project's outcome code")
    disposition_reason: str | None = Field(default=None, max_length=64)
    success: bool | None = Field(default=None, description="the outcome counts as a successful application")
    disposed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    billed_seconds: int | None = Field(default=None, description="seconds billed by the tariff's increments")
    tariff_prefix: str | None = Field(
        default=None, max_length=32, description="the prefix of the tariff that billed the call (direction)"
    )
    connection_fee: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 4), nullable=True))
    callback_for: str | None = Field(
        default=None, max_length=64, description="a callback call: the operator who asked for it"
    )


# Reports read a campaign's attempts of a period.
Index("ix_attempt_campaign_id_started_at", Attempt.campaign_id, Attempt.started_at)  # type: ignore[arg-type]
# The successes of a period without reading every call of it; the leads called, reached and won from
# the index alone (the funnel).
Index("ix_attempt_success", Attempt.success, Attempt.campaign_id, Attempt.started_at)  # type: ignore[arg-type]
Index("ix_attempt_operator_started_at", Attempt.operator, Attempt.started_at)  # type: ignore[arg-type]
Index(
    "ix_attempt_funnel",
    Attempt.campaign_id,  # type: ignore[arg-type]
    Attempt.started_at,  # type: ignore[arg-type]
    Attempt.lead_id,  # type: ignore[arg-type]
    Attempt.outcome,  # type: ignore[arg-type]
    Attempt.success,  # type: ignore[arg-type]
)


class DncEntry(SQLModel, table=True):
    """A number never to call: for one project, or for every project when ``project_id`` is null."""

    __tablename__ = "dnc_entry"
    __table_args__ = (UniqueConstraint("project_id", "phone", name="uq_dnc_entry_project_id_phone"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", ondelete="CASCADE")
    phone: str = Field(max_length=32, index=True)
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class IdempotentRequest(SQLModel, table=True):
    """The stored answer to a request sent with an ``Idempotency-Key``, replayed on a retry."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("project_id", "key", name="uq_idempotent_request_project_id_key"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64, description="SHA-256 of method, path and body")
    status: int
    body: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class WebhookDelivery(SQLModel, table=True):
    """An event waiting to be POSTed to the project's webhook (the outbox: survives restarts)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "delivered_at", "next_try_at"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tries: int = Field(default=0)
    next_try_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class MessageTemplate(SQLModel, table=True):
    """A project's SMS or email text: Jinja2 (sandboxed, strict) over the lead, answers and operator."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    name: str = Field(max_length=64)
    medium: str = Field(max_length=8, description="sms or email")
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class Message(SQLModel, table=True):
    """An SMS or email to a client: a row before anything leaves (the outbox), then its fate.

    ``status``: queued -> sending -> sent -> delivered | failed | expired. The sender claims rows with
    ``finished_at`` unset and ``next_try_at`` due: queued and sending ones are sent, sent ones are asked
    for their delivery status (gateways that report it)."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("project_id", "idempotency_key"),
        Index("ix_message_due", "finished_at", "next_try_at"),
        Index("ix_message_recipient", "recipient", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(
        default=None, foreign_key="project.id", ondelete="CASCADE", description="None: the console's own"
    )
    lead_id: int | None = Field(default=None, foreign_key="lead.id", index=True, ondelete="CASCADE")
    medium: str = Field(max_length=8)
    channel: str = Field(max_length=32, description="the configured channel it goes through")
    template: str | None = Field(default=None, max_length=64)
    recipient: str = Field(max_length=320)
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attachments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="queued", max_length=16)
    idempotency_key: str | None = Field(default=None, max_length=200)
    operator: str | None = Field(default=None, max_length=64)
    gateway_id: str | None = Field(default=None, max_length=200)
    message_id: str | None = Field(default=None, max_length=200, description="SMTP Message-ID, set first")
    parts: int | None = Field(default=None)
    encoding: str | None = Field(default=None, max_length=8)
    cost: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 4), nullable=True))
    reason: str | None = Field(default=None, max_length=500, description="why it failed, expired or waits")
    tries: int = Field(default=0)
    next_try_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    not_after: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class MessageStop(SQLModel, table=True):
    """A phone or address that must get no more messages of a medium (the client said stop), for one
    project or, with no project, for all."""

    __tablename__ = "message_stop"
    __table_args__ = (UniqueConstraint("project_id", "medium", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", ondelete="CASCADE")
    medium: str = Field(max_length=8)
    address: str = Field(max_length=320, index=True)
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class OperatorRow(SQLModel, table=True):
    """A person: an admin, a supervisor or an operator (``role``). Signs in with an argon2 password;
    an operator also registers a softphone (SIP digest: only HA1 is kept). An invited person who has
    not chosen a password yet has empty ``password_hash`` and ``sip_ha1`` (nothing matches them)."""

    __tablename__ = "operator"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    sip_ha1: str = Field(max_length=64, description="MD5(login:realm:password) for the phone's digest")
    active: bool = Field(default=True)
    role: str = Field(default="operator", max_length=16, sa_column_kwargs={"server_default": "operator"})
    email: str | None = Field(default=None, max_length=320, index=True)
    email_confirmed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    locale: str | None = Field(default=None, max_length=8, description="ru or en; None: by the project")
    demo: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class OperatorProject(SQLModel, table=True):
    """Which projects an operator works (an operator may work several)."""

    __tablename__ = "operator_project"

    operator_id: int = Field(foreign_key="operator.id", primary_key=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")


class OperatorSession(SQLModel, table=True):
    """An operator's open workplace session (bearer token; only its SHA-256 is stored), kept so that
    a restart of the server does not log everyone out."""

    __tablename__ = "operator_session"

    token_hash: str = Field(max_length=64, primary_key=True)
    operator_id: int = Field(foreign_key="operator.id", index=True, ondelete="CASCADE")
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class PhoneBinding(SQLModel, table=True):
    """Where an operator's softphone registered with an engine instance (kept so that after a restart
    the phone can be called before it registers again, which many phones do only hourly)."""

    __tablename__ = "phone_binding"

    instance: str = Field(max_length=200, primary_key=True)
    login: str = Field(max_length=64, primary_key=True)
    contact: str = Field(max_length=1000)
    host: str = Field(max_length=255)
    port: int
    user_agent: str | None = Field(default=None, max_length=200)
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class WebSession(SQLModel, table=True):
    """A person signed in to the web console (cookie; only its SHA-256 is stored), with the token
    every form must carry (CSRF). Kept in the database so that a restart signs nobody out."""

    __tablename__ = "web_session"

    token_hash: str = Field(max_length=64, primary_key=True)
    operator_id: int = Field(foreign_key="operator.id", index=True, ondelete="CASCADE")
    csrf: str = Field(max_length=64)
    address: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Invitation(SQLModel, table=True):
    """A one-time link by email: ``invite`` (choose a password, confirm the address) or ``reset``."""

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    operator_id: int = Field(foreign_key="operator.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=8)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class FieldSetRow(SQLModel, table=True):
    """A project's CRM fields (the exchange format's ``FieldSet``, as JSON)."""

    __tablename__ = "field_set"

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class ScriptRow(SQLModel, table=True):
    """A project's operator script; its text lives in immutable versions."""

    __tablename__ = "script"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    name: str = Field(max_length=64)
    current_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class ScriptVersion(SQLModel, table=True):
    """One saved version of a script, never changed (a call keeps the version it started with)."""

    __tablename__ = "script_version"
    __table_args__ = (UniqueConstraint("script_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    script_id: int = Field(foreign_key="script.id", ondelete="CASCADE")
    version: int
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    author: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class LeadAnswer(SQLModel, table=True):
    """One CRM answer given for a lead, with who gave it, when, and the value it replaced."""

    __tablename__ = "lead_answer"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    field: str = Field(max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    previous: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    author: str | None = Field(default=None, max_length=64)
    call_id: str | None = Field(default=None, max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class WorkplaceDraft(SQLModel, table=True):
    """What an operator has typed for a call so far (script inputs, CRM fields, notes, the outcome
    chosen): saved every few seconds, so a reload or a restart loses nothing."""

    __tablename__ = "workplace_draft"

    call_id: str = Field(primary_key=True, max_length=200)
    operator: str = Field(max_length=64, index=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class OperatorStateRow(SQLModel, table=True):
    """One span of an operator's state: from ``started_at`` until ``ended_at`` (None: still in it).

    ``campaign_id`` and ``project_id`` name the call's campaign while reserved, talking or in wrap-up.
    Spans are kept whole (never counters), so a day's figures are sums of clipped spans.
    """

    __tablename__ = "operator_state"

    id: int | None = Field(default=None, primary_key=True)
    operator: str = Field(max_length=64)
    state: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=64, description="the pause's reason code")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="SET NULL")
    project_id: int | None = Field(default=None, foreign_key="project.id", ondelete="CASCADE")
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


Index("ix_operator_state_started_at", OperatorStateRow.started_at)  # type: ignore[arg-type]
Index(
    "ix_operator_state_operator_started_at",
    OperatorStateRow.operator,
    OperatorStateRow.started_at,  # type: ignore[arg-type]
)


class OperatorTarget(SQLModel, table=True):
    """An operator's monthly target in a project: productive calls, and how many of them long."""

    __tablename__ = "operator_target"

    operator_id: int = Field(foreign_key="operator.id", primary_key=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    month: str = Field(primary_key=True, max_length=7, description="YYYY-MM in the project's zone")
    calls: int = Field(description="productive calls (talked to a person)")
    long_calls: int = Field(default=0, description="of them, calls longer than five minutes")


class CallReview(SQLModel, table=True):
    """A supervisor's mark on a call they listened to."""

    __tablename__ = "call_review"

    attempt_id: int = Field(foreign_key="attempt.id", primary_key=True, ondelete="CASCADE")
    verdict: str = Field(max_length=8, description="good or bad")
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewer: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class SummarySubscription(SQLModel, table=True):
    """A supervisor's daily summary of a project by email, at a local time of the project's zone."""

    __tablename__ = "summary_subscription"

    operator_id: int = Field(foreign_key="operator.id", primary_key=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    at_local: str = Field(default="08:00", max_length=5, description="HH:MM in the project's zone")
    last_sent_on: str | None = Field(default=None, max_length=10, description="the local day last sent")


class DialSample(SQLModel, table=True):
    """A campaign's dial level at an instant and the pacer's reason then (sampled, not every tick)."""

    __tablename__ = "dial_sample"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    level: float | None = Field(default=None, description="calls in progress per operator at work")
    calls: int = Field(default=0, description="calls in progress")
    operators: int = Field(default=0, description="operators at work (not offline or paused)")
    reason: str = Field(max_length=300)


Index("ix_dial_sample_campaign_id_at", DialSample.campaign_id, DialSample.at)  # type: ignore[arg-type]


class CallHour(SQLModel, table=True):
    """Calls of a campaign that started in one UTC hour, summed (see :mod:`reports.rollup`)."""

    __tablename__ = "call_hour"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    hour: str = Field(max_length=13, description="YYYY-MM-DD HH in UTC")
    trunk: str | None = Field(default=None, max_length=32)
    tariff_prefix: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=16)
    time_zone: str | None = Field(default=None, max_length=64, description="the leads' zone")
    calls: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    successes: int = 0
    billed_seconds: int = 0
    connection_fee: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(14, 4), nullable=False))
    cost: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(14, 4), nullable=False))


Index("ix_call_hour_campaign_id_hour", CallHour.campaign_id, CallHour.hour)  # type: ignore[arg-type]


class OperatorHour(SQLModel, table=True):
    """Talked calls of an operator in a campaign that started in one UTC hour, summed."""

    __tablename__ = "operator_hour"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    hour: str = Field(max_length=13)
    operator: str = Field(max_length=64)
    calls: int = 0
    talk: float = 0.0
    wrap: float = 0.0
    long_calls: int = 0
    successes: int = 0
    callbacks: int = Field(default=0, description="outcomes that asked for a callback")
    kept: int = Field(default=0, description="callback calls of their own callbacks")


Index("ix_operator_hour_campaign_id_hour", OperatorHour.campaign_id, OperatorHour.hour)  # type: ignore[arg-type]


class WaitHour(SQLModel, table=True):
    """How many answered people of a campaign's hour waited so long for an operator (tenths of a second)."""

    __tablename__ = "wait_hour"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    hour: str = Field(max_length=13)
    tenths: int
    calls: int = 0


Index("ix_wait_hour_campaign_id_hour", WaitHour.campaign_id, WaitHour.hour)  # type: ignore[arg-type]


class RollupMark(SQLModel, table=True):
    """Up to which UTC hour (excluded) the hourly sums are made; later calls are read as they are."""

    __tablename__ = "rollup_mark"

    name: str = Field(primary_key=True, max_length=32)
    until: str = Field(max_length=13)
