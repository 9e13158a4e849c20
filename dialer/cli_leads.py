"""``dialer leads import``: load a CSV file of leads with a progress bar; every rejected row is
written, with its line and reason, to a file beside the input; valid rows are never dropped."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.projects import ProjectRef, project_by_slug
from dialer.cli_common import run_on_database
from dialer.errors import DialerError
from dialer.leads import store
from dialer.leads.importer import parse_maps, to_payload
from dialer.storage import reading, writing

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
    dialect_delimiter = delimiter or _sniff(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=dialect_delimiter)
    header = list(reader.fieldnames or [])
    if not header:
        raise DialerError(f"{file}: empty file; the first line must name the columns")
    targets = parse_maps(maps or [], header)
    rejected_path = rejected or file.with_name(file.name + ".rejected.csv")

    async def work(engine: AsyncEngine) -> tuple[dict[str, int], int]:
        async with reading(engine) as conn:
            ref = await project_by_slug(conn, project)
        if ref is None:
            raise DialerError(f"no project {project!r}; create it with `dialer project create {project}`")
        totals = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        bad_rows: list[dict[str, Any]] = []
        with Progress(
            TextColumn("importing"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), transient=True
        ) as progress:
            task = progress.add_task("rows", total=max(1, text.count("\n")))
            chunk: list[tuple[int, dict[str, str | None], dict[str, Any]]] = []
            for row in reader:
                extra = row.pop(None, None)
                chunk.append((reader.line_num, row, to_payload(row, targets, campaign) if not extra else {}))
                if len(chunk) >= CHUNK:
                    await _store(engine, ref, chunk, totals, bad_rows)
                    progress.update(task, completed=reader.line_num)
                    chunk = []
            if chunk:
                await _store(engine, ref, chunk, totals, bad_rows)
        if bad_rows:
            _write_rejected(rejected_path, header, bad_rows)
        return totals, len(bad_rows)

    totals, bad = run_on_database(ctx, work)
    typer.echo(
        f"{file}: created {totals['created']}, updated {totals['updated']}, "
        f"unchanged {totals['unchanged']}, rejected {totals['rejected']}"
    )
    if bad:
        typer.echo(f"rejected rows with their reasons: {rejected_path}")
        raise typer.Exit(1)


async def _store(
    engine: AsyncEngine,
    project: ProjectRef,
    chunk: list[tuple[int, dict[str, str | None], dict[str, Any]]],
    totals: dict[str, int],
    bad_rows: list[dict[str, Any]],
) -> None:
    async with writing(engine) as conn:
        result = await store.upsert_many(conn, project, [payload for _, _, payload in chunk])
    for (line, row, payload), outcome in zip(chunk, result.rows, strict=True):
        if outcome.result is not None:
            totals[outcome.result.value] += 1
            continue
        totals["rejected"] += 1
        if not payload:
            reason = "more values than columns in the header"
        else:
            reason = "; ".join(
                f"{e.field}: {e.problem}" + (f" (expected {e.expected})" if e.expected else "")
                for e in outcome.errors
            )
        bad_rows.append({**row, "line": line, "reason": reason})


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


def _sniff(text: str) -> str:
    """The separator the header line uses most (``,`` ``;`` tab ``|``); data rows are too irregular
    (addresses with commas, ragged rows) for :class:`csv.Sniffer` to be trusted."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
