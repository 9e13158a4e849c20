"""``dialer operator add/list``: operator accounts (workplace login and softphone extension)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.operators import SIP_REALM, OperatorAccount, accounts, add_operator
from dialer.accounts.projects import project_by_slug
from dialer.cli_common import run_on_database
from dialer.errors import DialerError
from dialer.storage import reading, writing
from dialer.storage.tables import PROJECT

operator_app = typer.Typer(help="Operator accounts.", no_args_is_help=True)


@operator_app.command("add")
def operator_add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Login, also the softphone's extension (a-z, 0-9, . _ -).")],
    *,
    project: Annotated[list[str], typer.Option(help="Project slug the operator works (repeat for several).")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the login).")] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="DIALER_OPERATOR_PASSWORD",
            help="Password for the workplace and the softphone (asked when not given).",
        ),
    ],
) -> None:
    """Add an operator; their softphone registers as LOGIN with the same password."""

    async def work(engine: AsyncEngine) -> OperatorAccount:
        async with writing(engine) as conn:
            ids = []
            for slug in project:
                ref = await project_by_slug(conn, slug)
                if ref is None:
                    raise DialerError(f"no project {slug!r}")
                ids.append(ref.id)
            return await add_operator(conn, login, name=name or login, password=password, project_ids=ids)

    account = run_on_database(ctx, work)
    typer.echo(f"operator {account.login} added (projects: {', '.join(project)}; SIP realm {SIP_REALM})")


@operator_app.command("list")
def operator_list(ctx: typer.Context) -> None:
    """List operators and the projects they work."""

    async def work(engine: AsyncEngine) -> tuple[list[OperatorAccount], dict[int, str]]:
        async with reading(engine) as conn:
            slugs = {
                pid: slug for pid, slug in (await conn.execute(select(PROJECT.c.id, PROJECT.c.slug))).all()
            }
            return await accounts(conn), slugs

    found, slugs = run_on_database(ctx, work)
    for account in found:
        state = "active" if account.active else "disabled"
        projects = ", ".join(sorted(slugs.get(p, str(p)) for p in account.projects))
        typer.echo(f"{account.login:<20} {state:<8} {account.name:<30} {projects}")
