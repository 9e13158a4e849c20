"""``dialer project``, ``dialer token`` and ``dialer dnc``: tenants, their API tokens, do-not-call lists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer import workplace_settings as workplace
from dialer.accounts.project_settings import contact_caps, holiday_dates, invalid_settings
from dialer.accounts.projects import ProjectRef, create_project, project_by_slug
from dialer.accounts.tokens import TokenInfo, create_token, list_tokens, revoke
from dialer.calling_window import PRESETS
from dialer.cli_common import run_on_database
from dialer.errors import DialerError
from dialer.leads import dnc
from dialer.leads.phones import PhoneError, normalize
from dialer.storage import reading, writing
from dialer.storage.tables import PROJECT

project_app = typer.Typer(help="Projects (tenants): create and list.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of a project.", no_args_is_help=True)
dnc_app = typer.Typer(help="Do-not-call lists, per project or global.", no_args_is_help=True)
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


async def _project(engine: AsyncEngine, slug: str) -> ProjectRef:
    async with reading(engine) as conn:
        project = await project_by_slug(conn, slug)
    if project is None:
        raise DialerError(f"no project {slug!r}; create it with `dialer project create {slug}`")
    return project


@project_app.command("create")
def project_create(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Identifier used in API paths: a-z, 0-9, '-', '_'.")],
    *,
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).")] = None,
    region: Annotated[str, typer.Option(help="ISO country for numbers written without +.")] = "RU",
    time_zone: Annotated[str, typer.Option(help="IANA zone for unknown-zone numbers.")] = "Europe/Moscow",
    window: Annotated[str, typer.Option(help=f"Calling window: {', '.join(PRESETS)}.")] = "ru-230fz",
    webhook_url: Annotated[str | None, typer.Option(help="Where lead status changes are POSTed.")] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="HMAC-SHA256 key for the webhook.")] = None,
) -> None:
    """Create a project."""
    problems = invalid_settings(region=region, time_zone=time_zone, window=window, webhook_url=webhook_url)
    if not SLUG.match(slug):
        problems.insert(0, f"slug {slug!r}: use 1-64 of a-z, 0-9, '-', '_', starting with a letter or digit")
    if problems:
        raise DialerError("cannot create the project:\n  " + "\n  ".join(problems))

    async def work(engine: AsyncEngine) -> None:
        async with writing(engine) as conn:
            await create_project(conn, slug, name=name, region=region, time_zone=time_zone, window=window,
                                 webhook_url=webhook_url, webhook_secret=webhook_secret)  # fmt: skip

    run_on_database(ctx, work)
    typer.echo(f"project {slug} created (region {region.upper()}, zone {time_zone}, window {window})")


@project_app.command("update")
def project_update(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Project slug.")],
    *,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    region: Annotated[str | None, typer.Option(help="ISO country for numbers written without +.")] = None,
    time_zone: Annotated[str | None, typer.Option(help="IANA zone for unknown-zone numbers.")] = None,
    window: Annotated[str | None, typer.Option(help=f"Calling window: {', '.join(PRESETS)}.")] = None,
    holidays: Annotated[
        str | None,
        typer.Option(help="Local holiday dates, comma-separated ISO (replaces the list; '' clears)."),
    ] = None,
    caps: Annotated[
        str | None, typer.Option(help="Contacts per person: 'day=1,week=2,month=8' ('' clears).")
    ] = None,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where lead status changes are POSTed ('' clears).")
    ] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="HMAC-SHA256 key for the webhook.")] = None,
    vanity_numbers: Annotated[
        bool | None,
        typer.Option(
            "--vanity-numbers/--no-vanity-numbers",
            help="Accept letters in numbers (1-800-FLOWERS); off, letters are refused as typos.",
        ),
    ] = None,
    dial_extensions: Annotated[
        bool | None,
        typer.Option(
            "--dial-extensions/--no-dial-extensions",
            help="Send a number's extension ('доб. 505') as DTMF once the call is answered.",
        ),
    ] = None,
    sms_counts_as_contact: Annotated[
        bool | None,
        typer.Option(
            "--sms-counts-as-contact/--no-sms-counts-as-contact",
            help="An SMS sent counts against the contact caps like an answered call (230-FZ).",
        ),
    ] = None,
) -> None:
    """Change a project's settings; options left out keep their values."""
    problems = invalid_settings(region=region, time_zone=time_zone, window=window, webhook_url=webhook_url)
    given = {
        "name": name,
        "region": region.upper() if region is not None else None,
        "time_zone": time_zone,
        "calling_window": window,
        "webhook_url": webhook_url,
        "webhook_secret": webhook_secret,
        "vanity_numbers": vanity_numbers,
        "dial_extensions": dial_extensions,
        "sms_counts_as_contact": sms_counts_as_contact,
    }
    values: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    for key in ("webhook_url", "webhook_secret"):
        if values.get(key) == "":
            values[key] = None  # '' clears
    if name is not None and not name.strip():
        problems.append("name: must not be empty")
    if holidays is not None:
        values["holidays"] = holiday_dates(holidays, problems)
    if caps is not None:
        values.update(contact_caps(caps, problems))
    if problems:
        raise DialerError("nothing was changed:\n  " + "\n  ".join(problems))
    if not values:
        raise DialerError("nothing to change; give at least one option (see --help)")

    async def work(engine: AsyncEngine) -> None:
        async with writing(engine) as conn:
            result = await conn.execute(update(PROJECT).where(PROJECT.c.slug == slug).values(**values))
            if not result.rowcount:
                raise DialerError(f"no project {slug!r}")

    run_on_database(ctx, work)
    typer.echo(f"project {slug} updated: {', '.join(sorted(values))}")


@project_app.command("workplace")
def project_workplace(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Project slug.")],
    *,
    portal_url: Annotated[
        str | None, typer.Option(help="The lender's portal: https://.../{external_id} ('' clears).")
    ] = None,
    mask_phones: Annotated[
        bool | None,
        typer.Option("--mask-phones/--no-mask-phones", help="Operators see the last digits only."),
    ] = None,
    manual_calls: Annotated[
        bool | None,
        typer.Option("--manual-calls/--no-manual-calls", help="Operators may call a lead by hand."),
    ] = None,
    wrap_up_extension: Annotated[int | None, typer.Option(help="Seconds one 'more time' press adds.")] = None,
    outcome_limit: Annotated[
        int | None, typer.Option(help="Seconds after the wrap-up before a call without an outcome is closed.")
    ] = None,
    away_limit: Annotated[int | None, typer.Option(help="Seconds a ready operator may be away.")] = None,
    outcomes: Annotated[
        Path | None, typer.Option(help="The outcomes as JSON (see docs/workplace.md).")
    ] = None,
    pause_reasons: Annotated[Path | None, typer.Option(help="The pause reasons as JSON.")] = None,
) -> None:
    """Change what a project's operators see and may do on the workplace; options left out keep their
    values."""

    async def work(engine: AsyncEngine) -> list[str]:
        async with writing(engine) as conn:
            row = (await conn.execute(select(PROJECT).where(PROJECT.c.slug == slug))).mappings().first()
            if row is None:
                raise DialerError(f"no project {slug!r}")
            form: dict[str, Any] = {
                "portal_url": row["portal_url"] or "", "mask_phones": "on" if row["mask_phones"] else "",
                "manual_calls": "on" if row["manual_calls"] else "",
                "wrap_up_extension": str(row["wrap_up_extension"]),
                "disposition_limit": str(row["disposition_limit"]), "away_limit": str(row["away_limit"]),
                "dispositions": json.dumps(row["dispositions"]) if row["dispositions"] else "",
                "pause_reasons": json.dumps(row["pause_reasons"]) if row["pause_reasons"] else "",
            }  # fmt: skip
            given = {"portal_url": portal_url, "wrap_up_extension": wrap_up_extension,
                     "disposition_limit": outcome_limit, "away_limit": away_limit}  # fmt: skip
            form |= {key: str(value) for key, value in given.items() if value is not None}
            for key, switch in (("mask_phones", mask_phones), ("manual_calls", manual_calls)):
                if switch is not None:
                    form[key] = "on" if switch else ""
            for key, path in (("dispositions", outcomes), ("pause_reasons", pause_reasons)):
                if path is not None:
                    form[key] = path.read_text(encoding="utf-8")
            values, problems = workplace.parse_settings(form)
            if problems:
                lines = [
                    f"{p.field}: {p.problem}" + (f" ({p.expected})" if p.expected else "") for p in problems
                ]
                raise DialerError("nothing was changed:\n  " + "\n  ".join(lines))
            await conn.execute(update(PROJECT).where(PROJECT.c.id == row["id"]).values(**values))
            return sorted(values)

    run_on_database(ctx, work)
    typer.echo(f"project {slug}: workplace settings saved")


@project_app.command("list")
def project_list(ctx: typer.Context) -> None:
    """List projects."""

    async def work(engine: AsyncEngine) -> list[tuple[str, str, str, str]]:
        async with reading(engine) as conn:
            rows = await conn.execute(
                select(PROJECT.c.slug, PROJECT.c.name, PROJECT.c.region, PROJECT.c.time_zone).order_by(
                    PROJECT.c.slug
                )
            )
            return [tuple(r) for r in rows.all()]

    for slug, name, region, tz in run_on_database(ctx, work):
        typer.echo(f"{slug:<24} {region:<3} {tz:<24} {name}")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    project: Annotated[str, typer.Option(help="Project slug the token opens.")],
    name: Annotated[str, typer.Option(help="What the token is for (shown in lists).")] = "api",
) -> None:
    """Create an API token for a project and print it once (only its hash is stored)."""

    async def work(engine: AsyncEngine) -> str:
        ref = await _project(engine, project)
        async with writing(engine) as conn:
            return await create_token(conn, ref.id, name)

    token = run_on_database(ctx, work)
    typer.echo(token)
    typer.echo(f"(token for project {project}; store it now, it cannot be shown again)", err=True)


@token_app.command("list")
def token_list(ctx: typer.Context, project: Annotated[str, typer.Option(help="Project slug.")]) -> None:
    """List a project's tokens (first characters only) with their state."""

    async def work(engine: AsyncEngine) -> list[TokenInfo]:
        ref = await _project(engine, project)
        async with reading(engine) as conn:
            return await list_tokens(conn, ref.id)

    for info in run_on_database(ctx, work):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        typer.echo(f"{info.prefix}...  {info.name:<20} created {info.created_at:%Y-%m-%d %H:%M}  {state}")


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token: Annotated[str, typer.Argument(help="The token, or its first characters as `token list` shows.")],
    *,
    project: Annotated[str, typer.Option(help="Project slug.")],
) -> None:
    """Revoke a token at once; exit 1 when no live token matched."""

    async def work(engine: AsyncEngine) -> int:
        ref = await _project(engine, project)
        async with writing(engine) as conn:
            return await revoke(conn, ref.id, token)

    revoked = run_on_database(ctx, work)
    typer.echo(f"revoked {revoked} token(s)")
    if not revoked:
        raise typer.Exit(1)


def _scope(ctx: typer.Context, project: str | None, everywhere: bool) -> tuple[int | None, str]:
    if (project is None) == (not everywhere):
        raise DialerError("give exactly one of --project SLUG or --global")
    if project is None:
        return None, "RU"
    ref = run_on_database(ctx, lambda engine: _project(engine, project))
    return ref.id, ref.region


@dnc_app.command("add")
def dnc_add(
    ctx: typer.Context,
    phones: Annotated[list[str], typer.Argument(help="Numbers in any notation.")],
    *,
    project: Annotated[str | None, typer.Option(help="Project slug.")] = None,
    everywhere: Annotated[bool, typer.Option("--global", help="For every project.")] = False,
    region: Annotated[str | None, typer.Option(help="Region for numbers without +.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept with the entry).")] = None,
) -> None:
    """Add numbers to a do-not-call list."""
    project_id, default_region = _scope(ctx, project, everywhere)
    normalized, problems = [], []
    for raw in phones:
        try:
            normalized.append(normalize(raw, region or default_region))
        except PhoneError as exc:
            problems.append(f"{raw!r}: {exc}")
    if problems:
        raise DialerError("nothing was added; not dialable:\n  " + "\n  ".join(problems))

    async def work(engine: AsyncEngine) -> dnc.DncAdded:
        async with writing(engine) as conn:
            return await dnc.add(conn, project_id, normalized, reason)

    out = run_on_database(ctx, work)
    typer.echo(f"added {out.added}, already listed {out.already_listed}")


@dnc_app.command("remove")
def dnc_remove(
    ctx: typer.Context,
    phone: Annotated[str, typer.Argument(help="Number in any notation.")],
    *,
    project: Annotated[str | None, typer.Option(help="Project slug.")] = None,
    everywhere: Annotated[bool, typer.Option("--global", help="From the global list.")] = False,
    region: Annotated[str | None, typer.Option(help="Region for numbers without +.")] = None,
) -> None:
    """Remove a number from a do-not-call list; exit 1 when it was not there."""
    project_id, default_region = _scope(ctx, project, everywhere)
    try:
        e164 = normalize(phone, region or default_region)
    except PhoneError as exc:
        raise DialerError(f"{phone!r}: {exc}") from None

    async def work(engine: AsyncEngine) -> bool:
        async with writing(engine) as conn:
            return await dnc.remove(conn, project_id, e164)

    if not run_on_database(ctx, work):
        typer.echo(f"{e164} was not listed there")
        raise typer.Exit(1)
    typer.echo(f"{e164} removed")
