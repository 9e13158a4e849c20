"""``dialer user add/list``: people of the web console (admins, supervisors, operators).

The first admin is made here, on the server: ``dialer user add LOGIN --role admin`` asks for the
password (or reads it from standard input with ``--password-stdin``); there is never a default one.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts import people
from dialer.accounts.people import Person, Role
from dialer.accounts.projects import project_by_slug
from dialer.cli_common import run_on_database
from dialer.errors import DialerError, Rejected
from dialer.storage import reading, writing
from dialer.storage.tables import PROJECT

users_app = typer.Typer(
    help="People of the web console: admins, supervisors, operators.", no_args_is_help=True
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise DialerError("no password given")
    return str(password)


@users_app.command("add")
def user_add(
    ctx: typer.Context,
    login: Annotated[
        str, typer.Argument(help="Login (a-z, 0-9, . _ -); an operator's is the phone's extension.")
    ],
    *,
    role: Annotated[str, typer.Option(help="admin, supervisor or operator.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the login).")] = None,
    email: Annotated[str | None, typer.Option(help="Email address (invitations, password resets).")] = None,
    project: Annotated[
        list[str] | None, typer.Option(help="Project slug (repeatable; not for admins).")
    ] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Add a person with a password (asked, or read from standard input)."""
    try:
        chosen = Role(role)
    except ValueError:
        raise DialerError(f"--role: {role!r}; give admin, supervisor or operator") from None
    password = _password(password_stdin)

    async def work(engine: AsyncEngine) -> Person:
        async with writing(engine) as conn:
            ids = []
            for slug in project or []:
                ref = await project_by_slug(conn, slug)
                if ref is None:
                    raise DialerError(f"no project {slug!r}")
                ids.append(ref.id)
            return await people.add_person(conn, login, name=name or login, role=chosen, email=email,
                                           project_ids=ids, password=password)  # fmt: skip

    try:
        person = run_on_database(ctx, work)
    except Rejected as exc:
        raise DialerError(f"{exc}: " + "; ".join(f"{e.field}: {e.problem}" for e in exc.errors)) from None
    typer.echo(f"{person.role} {person.login} added")


@users_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """Everyone, with role, state and projects."""

    async def work(engine: AsyncEngine) -> tuple[list[Person], dict[int, str]]:
        async with reading(engine) as conn:
            slugs = dict((await conn.execute(select(PROJECT.c.id, PROJECT.c.slug))).all())
            root = Person(0, "", "", Role.ADMIN, None, frozenset(), True, None, False)
            return await people.people(conn, seen_by=root), slugs

    found, slugs = run_on_database(ctx, work)
    for p in found:
        state = "invited" if p.pending else "active" if p.active else "disabled"
        projects = ", ".join(sorted(slugs.get(i, str(i)) for i in p.projects)) or "-"
        typer.echo(f"{p.login:<20} {p.role:<10} {state:<8} {p.name:<30} {projects}")
