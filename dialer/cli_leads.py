"""``dialer leads import``: load a CSV file of leads with a progress bar; every rejected row is
written, with its line and reason, to a file beside the input; valid rows are never dropped."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.projects import project_by_slug
from dialer.cli_common import run_on_database
from dialer.errors import DialerError
from dialer.leads.importer import ImportReport, import_text
from dialer.storage import reading

leads_app = typer.Typer(help="Leads: import from files.", no_args_is_help=True)
CHUNK = 1000


@leads_app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV file with a header row.")],
    *,
    project: Annotated[str, typer.Option(help="Project slug.")],
    campaign: Annotated[str | None, typer.Option(help="Campaign for rows that name none.")] = None,
    maps: Annotated[
        list[str] | None, typer.Option("--map", help="COLUMN=FIELD (FIELD: a lead field, data.KEY, ignore).")
    ] = None,
    encoding: Annotated[
        str, typer.Option(help="File encoding, e.g. cp1251 for old Excel exports.")
    ] = "utf-8-sig",
    delimiter: Annotated[str | None, typer.Option(help="Column separator (default: detected).")] = None,
    rejected: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default: FILE.rejected.csv).")
    ] = None,
) -> None:
    """Import leads from a CSV file; exit 1 when some rows were rejected (the valid ones are stored)."""
    text = _read(file, encoding)
    rejected_path = rejected or file.with_name(file.name + ".rejected.csv")

    async def work(engine: AsyncEngine) -> ImportReport:
        async with reading(engine) as conn:
            ref = await project_by_slug(conn, project)
        if ref is None:
            raise DialerError(f"no project {project!r}; create it with `dialer project create {project}`")
        with Progress(
            TextColumn("importing"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), transient=True
        ) as bar:
            task = bar.add_task("rows", total=max(1, text.count("\n")))
            report = await import_text(
                engine, ref, text, maps=maps or [], campaign=campaign, delimiter=delimiter,
                progress=lambda line: bar.update(task, completed=line),
            )  # fmt: skip
        if report.rejected:
            _write_rejected(rejected_path, report.header, report.rejected)
        return report

    report = run_on_database(ctx, work)
    totals, bad = report.totals, len(report.rejected)
    typer.echo(
        f"{file}: created {totals['created']}, updated {totals['updated']}, "
        f"unchanged {totals['unchanged']}, rejected {totals['rejected']}"
    )
    if bad:
        typer.echo(f"rejected rows with their reasons: {rejected_path}")
        raise typer.Exit(1)


def _write_rejected(path: Path, header: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["line", "reason", *header], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _read(file: Path, encoding: str) -> str:
    try:
        return file.read_text(encoding=encoding)
    except FileNotFoundError:
        raise DialerError(f"{file}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DialerError(
            f"{file}: not valid {encoding} (byte {exc.start}); try --encoding cp1251 for Excel exports"
        ) from None
    except LookupError:
        raise DialerError(f"unknown encoding {encoding!r}") from None
    except OSError as exc:
        raise DialerError(f"{file}: cannot be read: {exc.strerror or exc}") from None
