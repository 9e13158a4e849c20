"""``dialer messages``: templates, sending a template to a lead, the project's messages, the stop
list, and ``test CHANNEL`` (one real message straight through a channel, the gateway's answer shown)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.cli_common import run_on_database, state_of
from dialer.errors import DialerError, Rejected
from dialer.storage import reading, writing
from sms_email import store
from sms_email.channels import open_gateways
from sms_email.gateway import Outgoing
from sms_email.schema import MessageIn, MessageOut, StopIn, TemplateBody
from sms_email.smtp import new_message_id

messages_app = typer.Typer(
    help="SMS and email to clients: templates, sending, the stop list.", no_args_is_help=True
)
templates_app = typer.Typer(help="Message templates (Jinja2 over lead, answers, operator, project).")
messages_app.add_typer(templates_app, name="template")


def _run(ctx: typer.Context, work: Any) -> Any:
    try:
        return run_on_database(ctx, work)
    except Rejected as exc:
        details = "".join(f"\n  {e.field}: {e.problem}" + (f" (expected {e.expected})" if e.expected else "")
                          for e in exc.errors)  # fmt: skip
        raise DialerError(f"{exc}{details}") from None


def _text(value: str | None, file: Path | None, what: str) -> str | None:
    if value is not None and file is not None:
        raise DialerError(f"give --{what} or --{what}-file, not both")
    if file is None:
        return value
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DialerError(f"{file}: cannot be read as UTF-8 text: {exc}") from None


@templates_app.command("set")
def template_set(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project slug.")],
    name: Annotated[str, typer.Argument(help="Template name (a-z, 0-9, - and _).")],
    *,
    medium: Annotated[str, typer.Option(help="sms or email.")],
    body: Annotated[str | None, typer.Option(help="The text (SMS) or the plain-text part (email).")] = None,
    body_file: Annotated[Path | None, typer.Option(help="Read the text from this UTF-8 file.")] = None,
    subject: Annotated[str | None, typer.Option(help="Email subject.")] = None,
    html_file: Annotated[Path | None, typer.Option(help="Email HTML part from this UTF-8 file.")] = None,
) -> None:
    """Create or replace a template; refused, with every problem listed, when it is wrong."""
    if medium not in ("sms", "email"):
        raise DialerError(f"--medium: {medium!r}; give sms or email")
    text = _text(body, body_file, "body")
    if not text:
        raise DialerError("give the text with --body or --body-file")
    html = _text(None, html_file, "html")
    template = TemplateBody(medium=medium, body=text, subject=subject, html=html)

    async def work(engine: AsyncEngine) -> tuple[Any, bool]:
        async with writing(engine) as conn:
            row = await store.project_row(conn, project)
            return await store.save_template(conn, row["id"], name, template)

    out, created = _run(ctx, work)
    size = f" ({out.sms.encoding}, {out.sms.length} characters, {out.sms.parts} SMS)" if out.sms else ""
    typer.echo(f"template {name} {'created' if created else 'updated'}{size}")


@templates_app.command("list")
def template_list(ctx: typer.Context, project: Annotated[str, typer.Argument(help="Project slug.")]) -> None:
    """The project's templates."""

    async def work(engine: AsyncEngine) -> list[Any]:
        async with reading(engine) as conn:
            row = await store.project_row(conn, project)
            return await store.list_templates(conn, row["id"])

    for t in _run(ctx, work):
        first = t.body.splitlines()[0] if t.body else ""
        typer.echo(f"{t.name:<24} {t.medium:<6} {first[:60]}")


@messages_app.command("send")
def send(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project slug.")],
    lead: Annotated[str, typer.Argument(help="The lead's external_id.")],
    template: Annotated[str, typer.Argument(help="Template name.")],
    *,
    to: Annotated[str | None, typer.Option(help="Phone or address instead of the lead's.")] = None,
    key: Annotated[str | None, typer.Option(help="Idempotency key: the same key never sends twice.")] = None,
) -> None:
    """Queue a template for a lead (the running server's sender sends it)."""
    request = MessageIn(template=template, to=to, idempotency_key=key)
    channels = state_of(ctx).settings.channels

    async def work(engine: AsyncEngine) -> tuple[MessageOut, bool]:
        async with writing(engine) as conn:
            row = await store.project_row(conn, project)
            return await store.queue_message(conn, channels, row, lead, request)

    out, created = _run(ctx, work)
    verb = "queued" if created else "already queued under this key"
    typer.echo(f"message {out.id} {verb}: {out.medium} to {out.recipient} via {out.channel}, {out.status}")


@messages_app.command("list")
def list_messages(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project slug.")],
    *,
    lead: Annotated[str | None, typer.Option(help="Only this lead's (external_id).")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """The project's messages, newest first."""

    async def work(engine: AsyncEngine) -> list[MessageOut]:
        async with reading(engine) as conn:
            row = await store.project_row(conn, project)
            return await store.list_messages(conn, row["id"], lead=lead, status=status or (), limit=limit)

    for m in _run(ctx, work):
        cost = f"{m.cost:.2f}" if m.cost is not None else "-"
        why = f"  ({m.reason})" if m.reason else ""
        typer.echo(f"{m.id:>6} {m.created_at:%Y-%m-%d %H:%M} {m.medium:<5} {m.recipient:<28} {m.status:<9} "
                   f"{cost:>7}{why}")  # fmt: skip


@messages_app.command("stop")
def stop(
    ctx: typer.Context,
    addresses: Annotated[list[str], typer.Argument(help="Phones (SMS) or email addresses.")],
    *,
    medium: Annotated[str, typer.Option(help="sms or email.")],
    project: Annotated[str | None, typer.Option(help="Project slug (default: every project).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept with the entry).")] = None,
) -> None:
    """Record that these clients get no more messages of the medium."""
    if medium not in ("sms", "email"):
        raise DialerError(f"--medium: {medium!r}; give sms or email")
    request = StopIn(medium=medium, addresses=addresses, reason=reason)

    async def work(engine: AsyncEngine) -> Any:
        async with writing(engine) as conn:
            row = await store.project_row(conn, project) if project else None
            return await store.add_stops(conn, row, request)

    out = _run(ctx, work)
    typer.echo(f"stopped {len(out.added)}, already stopped {len(out.already)}")


@messages_app.command("test")
def test_channel(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="A [channels.NAME] of the configuration.")],
    *,
    to: Annotated[str, typer.Option(help="Your own phone (SMS) or address (email).")],
    text: Annotated[str, typer.Option(help="What to send.")] = "Dialer: channel test",
) -> None:
    """Send one real message straight through a channel (no database) and print the gateway's answer:
    to check credentials, sender name and reachability. Exit 1 when it was not sent."""
    channels = state_of(ctx).settings.channels
    if channel not in channels:
        raise DialerError(f"no channel {channel!r}; configured: {', '.join(channels) or 'none'}")
    settings = channels[channel]
    message_id = int(time.time())  # SMSC's id for this one message
    outgoing = Outgoing(
        id=message_id, recipient=to, body=text, subject=text if settings.medium == "email" else None,
        message_id=new_message_id(settings) if settings.kind == "smtp" else None,
    )  # fmt: skip

    async def work() -> Any:
        async with aiohttp.ClientSession() as session:
            gateway = open_gateways({channel: settings}, session)[channel]
            return await gateway.send(outgoing)

    outcome = _sync(work())
    typer.echo(f"{channel}: {outcome.state}")
    for name in ("reason", "gateway_id", "parts", "cost"):
        value = getattr(outcome, name)
        if value is not None:
            typer.echo(f"  {name}: {value}")
    if outcome.state not in ("sent", "delivered"):
        raise typer.Exit(1)


def _sync(work: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(work)
