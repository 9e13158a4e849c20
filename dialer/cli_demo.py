"""``dialer demo`` (run the demo call centre) and ``dialer demo reset`` (remove its rows)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.cli_common import run_on_database, state_of
from dialer.demo import seed
from dialer.demo.run import demo_app
from dialer.errors import DialerError
from dialer.logs import AccessLog, configure_logging

demo_app_cli = typer.Typer(
    help="The demo call centre: a project of loan applications dialled through the simulated carrier by "
    "ten virtual operators.",
    invoke_without_command=True,
)


@demo_app_cli.callback()
def demo(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default: server.port).")] = None,
    leads: Annotated[int, typer.Option(min=1, max=100_000, help="Leads the demo project starts with.")] = 400,
) -> None:
    """Seed the demo (once) and run the server with it, as ``dialer serve`` does. Ctrl-C stops it."""
    if ctx.invoked_subcommand is not None:
        return
    settings = state_of(ctx).settings
    if not any(trunk.kind == "simulated" for trunk in settings.trunks.values()):
        raise DialerError('the demo dials through the simulated carrier: add a trunk with kind = "simulated"')
    configure_logging(settings.logging)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    server = settings.server.model_copy(update={"host": host or settings.server.host,
                                                "port": port or settings.server.port})  # fmt: skip
    settings = settings.model_copy(update={"server": server})
    try:
        web.run_app(demo_app(settings, say=typer.echo, leads=leads), host=server.host, port=server.port,
                    shutdown_timeout=10.0, access_log_class=AccessLog, print=None)  # fmt: skip
    except OSError as exc:
        raise DialerError(f"cannot listen on {server.host}:{server.port}: {exc.strerror or exc}") from None


@demo_app_cli.command("reset")
def demo_reset(ctx: typer.Context) -> None:
    """Remove every demo row (the demo project with its leads, campaigns and calls; the demo operators)."""

    async def work(engine: AsyncEngine) -> int:
        return await seed.reset(engine)

    gone = run_on_database(ctx, work)
    typer.echo(f"demo removed ({gone} project(s))" if gone else "no demo rows to remove")
