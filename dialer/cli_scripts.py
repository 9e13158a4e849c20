"""``dialer script validate|import|export``: operator scripts (and the CRM fields they carry) as JSON
files in the documented format (``docs/script.schema.json``, ``docs/scripts.md``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.cli_common import run_on_database
from dialer.errors import DialerError, FieldError, Rejected
from dialer.storage import reading, writing
from scripts_crm import store
from scripts_crm.model import Script
from scripts_crm.validate import problems
from sms_email.store import project_row

scripts_app = typer.Typer(
    help="Operator scripts: validate, import and export JSON files.", no_args_is_help=True
)


def _read(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DialerError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DialerError(f"{file}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DialerError(f"{file}: not JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None


def _list(found: list[FieldError]) -> str:
    return "\n".join(f"  {p.field}: {p.problem}" for p in found)


def _load(file: Path) -> Script:
    try:
        return store.parse_script(_read(file))
    except Rejected as exc:
        typer.echo(f"{file}: {exc}\n{_list(exc.errors)}", err=True)
        raise typer.Exit(1) from None


@scripts_app.command("validate")
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A script in the dialer-script/1 JSON format.")],
    project: Annotated[
        str | None, typer.Option(help="Also check the project's fields and templates.")
    ] = None,
) -> None:
    """List every problem of a script file; exit 1 when there is any."""
    script = _load(file)
    if project is None:
        found = problems(script, script.fields)
    else:

        async def work(engine: AsyncEngine) -> list[FieldError]:
            async with reading(engine) as conn:
                return await store.check(conn, (await project_row(conn, project))["id"], script)

        found = run_on_database(ctx, work)
    if found:
        typer.echo(f"{file}: {len(found)} problem(s)\n{_list(found)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{file}: script {script.name} is valid ({len(script.steps)} steps)")


@scripts_app.command("import")
def import_script(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A script in the dialer-script/1 JSON format.")],
    *,
    project: Annotated[str, typer.Option(help="Project slug.")],
) -> None:
    """Save the script as a new version (and the fields it carries); nothing is saved if it has problems."""
    script = _load(file)

    async def work(engine: AsyncEngine) -> int:
        async with writing(engine) as conn:
            return await store.save_script(
                conn, (await project_row(conn, project))["id"], script, author="cli"
            )

    try:
        version = run_on_database(ctx, work)
    except Rejected as exc:
        typer.echo(f"{file}: {exc}\n{_list(exc.errors)}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"script {script.name} saved as version {version}")


@scripts_app.command("export")
def export_script(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Script name.")],
    *,
    project: Annotated[str, typer.Option(help="Project slug.")],
    version: Annotated[int | None, typer.Option(min=1, help="A version (default: the current one).")] = None,
    with_fields: Annotated[bool, typer.Option(help="Include the project's CRM fields.")] = True,
) -> None:
    """Print the script as JSON (the format import reads back unchanged)."""

    async def work(engine: AsyncEngine) -> Script:
        async with reading(engine) as conn:
            project_id = (await project_row(conn, project))["id"]
            script, _ = await store.get_script(conn, project_id, name, version)
            fields = await store.get_fields(conn, project_id) if with_fields else None
        return script.model_copy(update={"fields": fields})

    script = run_on_database(ctx, work)
    typer.echo(json.dumps(script.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2))
