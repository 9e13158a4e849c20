"""The ``dialer`` command.

Every command reads the configuration (``--config``, ``DIALER_CONFIG``, default ``./config.toml``).
Errors the user can fix (bad config, unmigrated or unreachable database, port in use) are printed as
one clear message per problem with exit code 2 and no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer import campaigns
from dialer.accounts.projects import project_by_slug
from dialer.cli_common import CliState, run_on_database, state_of, with_database
from dialer.cli_demo import demo_app_cli
from dialer.cli_leads import leads_app
from dialer.cli_messages import messages_app
from dialer.cli_operators import operator_app
from dialer.cli_projects import dnc_app, project_app, token_app
from dialer.cli_scripts import scripts_app
from dialer.cli_users import users_app
from dialer.config import DEFAULT_CONFIG_PATH, Settings, SipSettings, TrunkSettings
from dialer.errors import DialerError, NotFound
from dialer.logs import AccessLog, configure_logging
from dialer.runtime import create_app
from dialer.storage import create_engine, current_revision, downgrade, upgrade, writing
from dialer.voice import manual_call
from dialer.voice.trunks import open_trunk
from sip.errors import SipError
from sip.routing import NoRoute, choose_trunks
from sip.streams.recorder import purge
from sip.useragent import CallProgress, CallState

T = TypeVar("T")

app = typer.Typer(
    name="dialer",
    help="Predictive auto-dialer for outbound call centres.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
trunk_app = typer.Typer(help="Check the carriers' trunks.", no_args_is_help=True)
app.add_typer(trunk_app, name="trunk")
app.add_typer(project_app, name="project")
app.add_typer(token_app, name="token")
app.add_typer(dnc_app, name="dnc")
app.add_typer(leads_app, name="leads")
app.add_typer(messages_app, name="messages")
app.add_typer(users_app, name="user")
app.add_typer(scripts_app, name="script")
app.add_typer(operator_app, name="operator")
recordings_app = typer.Typer(help="Call recordings.", no_args_is_help=True)
app.add_typer(recordings_app, name="recordings")
app.add_typer(demo_app_cli, name="demo")


@recordings_app.command("purge")
def recordings_purge(ctx: typer.Context) -> None:
    """Delete recordings older than recordings.retention_days."""
    settings = state_of(ctx).settings.recordings
    if not settings.directory.exists():
        typer.echo(f"{settings.directory}: no recordings yet")
        return
    removed = purge(settings.directory, keep_days=settings.retention_days)
    typer.echo(
        f"{settings.directory}: deleted {removed} recording(s) older than {settings.retention_days:g} days"
    )


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option("--config", "-c", envvar="DIALER_CONFIG", help="Configuration file (TOML)."),
    ] = DEFAULT_CONFIG_PATH,
) -> None:
    ctx.obj = CliState(config_path=config)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default: server.port).")] = None,
) -> None:
    """Run the dialer: HTTP API, health at /healthz, metrics at /metrics. Ctrl-C stops it."""
    settings = state_of(ctx).settings
    configure_logging(settings.logging)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the schema check is not news
    host = host or settings.server.host
    port = port or settings.server.port
    try:
        web.run_app(create_app(settings), host=host, port=port, shutdown_timeout=10.0,
                    access_log_class=AccessLog)  # fmt: skip
    except OSError as exc:
        raise DialerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@app.command("run-campaign")
def run_campaign(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project slug.")],
    campaign: Annotated[str, typer.Argument(help="Campaign name.")],
    host: Annotated[str | None, typer.Option(help="Listen address (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default: server.port).")] = None,
) -> None:
    """Start a campaign and run the dialer as `serve` does; Ctrl-C or SIGTERM stops launching, lets
    the calls in progress end, and exits (the campaign stays running for the next start)."""
    settings = state_of(ctx).settings
    if not settings.sip.enabled:
        raise DialerError("sip.enabled is false in the configuration: this process would not dial")

    async def start(engine: AsyncEngine) -> None:
        async with writing(engine) as conn:
            ref = await project_by_slug(conn, project)
            if ref is None:
                raise DialerError(f"no project {project!r} (see `dialer project list`)")
            try:
                await campaigns.act(conn, ref, campaign, "start")
            except NotFound as exc:
                raise DialerError(str(exc)) from None

    run_on_database(ctx, start)
    typer.echo(f"campaign {project}/{campaign} is running", err=True)
    serve(ctx, host=host, port=port)


@app.command()
def migrate(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Revision to upgrade to.")] = "head",
    down: Annotated[
        str | None, typer.Option("--down", help="Downgrade to this revision instead ('base': empty).")
    ] = None,
) -> None:
    """Create or upgrade the database schema (SQLite file or PostgreSQL)."""
    settings = state_of(ctx).settings
    configure_logging(settings.logging)
    db = settings.database

    async def run() -> tuple[str | None, str | None]:
        engine = create_engine(db)
        try:
            before = await current_revision(engine)
            if down is not None:
                await downgrade(engine, down)
            else:
                await upgrade(engine, revision)
            return before, await current_revision(engine)
        finally:
            await engine.dispose()

    before, after = with_database(db, run)
    typer.echo(f"database {db.display_url}: {before or 'empty'} -> {after or 'empty'}")


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the configuration and print what is in effect, secrets masked."""
    state = state_of(ctx)
    settings = state.settings
    typer.echo(f"{state.config_path}: OK")
    typer.echo(json.dumps(settings.masked(), indent=2, ensure_ascii=False))


@trunk_app.command("check")
def trunk_check(ctx: typer.Context) -> None:
    """Register to (or OPTIONS-ping) every SIP trunk; print state and round trip; exit 1 if any fails."""
    settings = state_of(ctx).settings
    failures = asyncio.run(_check_trunks(settings))
    if failures:
        raise typer.Exit(1)


async def _check_trunks(settings: Settings) -> int:
    failures = 0
    for name, trunk in settings.trunks.items():
        if trunk.kind != "sip":
            typer.echo(f"{name:<12} {'built-in simulated carrier':<32} skipped")
            continue
        where = f"{trunk.host}:{trunk.port}"
        try:
            async with open_trunk(name, trunk, settings.sip) as agent:
                if agent.credentials is not None:
                    registration = await agent.register()
                    state = f"registered, expires {registration.expires} s"
                    rtt = registration.rtt
                else:
                    status, rtt = await agent.ping()
                    state = f"OPTIONS answered {status}"
            typer.echo(f"{name:<12} {where:<32} {state}, round trip {rtt * 1000:.1f} ms")
        except (SipError, DialerError) as exc:
            failures += 1
            typer.echo(f"{name:<12} {where:<32} FAILED: {exc}")
    return failures


@app.command()
def call(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Number to call, e.g. +79123456789.")],
    *,
    trunk: Annotated[str | None, typer.Option(help="Trunk name (default: the best route).")] = None,
    ring_timeout: Annotated[float, typer.Option(min=1, help="Seconds to ring before giving up.")] = 25.0,
    hold: Annotated[float, typer.Option(min=0, help="Seconds to stay connected once answered.")] = 5.0,
    caller_id: Annotated[str | None, typer.Option(help="Caller id (default: the trunk's).")] = None,
    bridge: Annotated[
        str | None,
        typer.Option(help="Operator phone SIP URI: called first, then bridged to the client."),
    ] = None,
    record: Annotated[Path | None, typer.Option(help="Stereo WAV of the call (needs --bridge).")] = None,
    play: Annotated[Path | None, typer.Option(help="WAV file played to the client when it answers.")] = None,
) -> None:
    """Place one call and print its events; exit 0 when answered, 1 otherwise.

    With --bridge the operator's phone is called first, then the client; when the client answers,
    --play's message plays to them, then both are bridged (and recorded with --record) until one
    hangs up or --hold seconds pass.
    """
    settings = state_of(ctx).settings
    if trunk is not None and trunk not in settings.trunks:
        raise DialerError(f"no trunk named {trunk!r}; configured: {', '.join(settings.trunks) or '(none)'}")
    if trunk is None:
        sip_trunks = {n: t for n, t in settings.trunks.items() if t.kind == "sip"}
        try:
            trunk = choose_trunks(sip_trunks, number)[0].trunk
        except NoRoute as exc:
            raise DialerError(str(exc)) from None
    media = {"bridge": bridge, "record": record, "play": play}
    answered = asyncio.run(
        _call(
            number, trunk, settings.trunks[trunk], ring_timeout=ring_timeout, hold=hold, caller_id=caller_id,
            media=media if any(v is not None for v in media.values()) else None, sip=settings.sip,
        )
    )  # fmt: skip
    if not answered:
        raise typer.Exit(1)


async def _call(
    number: str,
    name: str,
    trunk: TrunkSettings,
    *,
    ring_timeout: float,
    hold: float,
    caller_id: str | None,
    media: dict[str, Any] | None = None,
    sip: SipSettings | None = None,
) -> bool:
    started = time.monotonic()

    def show(event: CallProgress) -> None:
        status = f" {event.status}" if event.status else ""
        detail = f" ({event.detail})" if event.detail else ""
        typer.echo(f"{event.at - started:7.3f}s  {event.kind}{status}{detail}")

    def show_leg(label: str, event: CallProgress) -> None:
        typer.echo(f"{label:<9}", nl=False)
        show(event)

    try:
        async with open_trunk(name, trunk, sip) as agent:
            if agent.credentials is not None:
                registration = await agent.register()
                typer.echo(f"registered on {name}, expires {registration.expires} s")
            started = time.monotonic()
            user = (caller_id or trunk.caller_id or "").lstrip("+")  # the agent presents it as configured
            if media is not None:
                answered = await manual_call.place(
                    agent, number, caller_id=user, ring_timeout=ring_timeout, hold=hold, show=show_leg,
                    bridge_uri=media["bridge"], record=media["record"], play=media["play"],
                )  # fmt: skip
                typer.echo("client answered" if answered else "client did not answer")
                return answered
            placed = await agent.originate(number, caller_id=user, ring_timeout=ring_timeout, listener=show)
            typer.echo(f"{0.0:7.3f}s  INVITE {number} via {name}, Call-ID {placed.call_id}")
            outcome = await placed.wait()
            if outcome is CallState.ANSWERED:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(placed.wait_ended(), hold)
                placed.hangup()
                await asyncio.sleep(0.2)  # let the BYE go out before the socket closes
                return True
            typer.echo(f"failed: {placed.status} ({placed.category.value if placed.category else 'unknown'})")
            return False
    except SipError as exc:
        raise DialerError(f"trunk {name}: {exc}") from None


def config_first(argv: list[str]) -> list[str]:
    """``--config FILE`` (or ``-c FILE``, ``--config=FILE``) moved before the command, wherever it was
    typed: ``dialer call +7912... --config prod.toml`` means what ``dialer --config prod.toml call ...``
    does."""
    moved: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg.startswith("--config="):
            moved.append(arg)
        elif arg in ("--config", "-c") and i + 1 < len(argv):
            moved += [arg, argv[i + 1]]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return moved + rest


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (2 for any error the user can fix)."""
    try:
        app(args=config_first(sys.argv[1:] if argv is None else argv), prog_name="dialer")
    except DialerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0


def main() -> None:
    """Console entry point."""
    sys.exit(run())
