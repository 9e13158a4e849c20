"""A report as CSV, XLSX or JSON: every table, with its title; values as numbers (seconds,
money, shares as fractions), never formatted text, so a spreadsheet can add them up.

Labels go through ``translate`` (the web passes the reader's language). CSV cells that a spreadsheet
would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return first) are prefixed with
``'`` (lead names come from outside).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

import xlsxwriter

from reports.shape import Kind, Report, Table

Translate = Callable[[str], str]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _plain(value: Any) -> Any:
    """A cell's value: a link's text, a Decimal as float, dicts and None as text."""
    if isinstance(value, dict):
        return value.get("text", "")
    if isinstance(value, Decimal):
        return float(value)
    if value is None:
        return ""
    return value


def _rows(table: Table, translate: Translate) -> list[list[Any]]:
    rows = [[_plain(row.get(c.key)) for c in table.columns] for row in table.rows]
    if table.total is not None:
        rows.append([_plain(translate(v) if isinstance(v, str) else v)
                     for v in (table.total.get(c.key) for c in table.columns)])  # fmt: skip
    return rows


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(report: Report, translate: Translate = str) -> str:
    """Every table one after another: its title, its header, its rows, a blank line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([translate(report.title), f"{report.first} - {report.last}"])
    for table in report.tables:
        writer.writerow([])
        writer.writerow([translate(table.title)])
        writer.writerow([c.title(translate) for c in table.columns])
        for row in _rows(table, translate):
            writer.writerow([_safe(v) for v in row])
    return out.getvalue()


def to_xlsx(report: Report, translate: Translate = str) -> bytes:
    """One sheet per table; durations in seconds, money with two decimals, shares as percent."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True})
    formats = {Kind.MONEY: book.add_format({"num_format": "0.00"}),
               Kind.SHARE: book.add_format({"num_format": "0.0%"}),
               Kind.NUMBER: book.add_format({"num_format": "0.00"})}  # fmt: skip
    used: set[str] = set()
    for table in report.tables:
        sheet = book.add_worksheet(_sheet_name(translate(table.title), used))
        sheet.write_row(0, 0, [c.title(translate) for c in table.columns], bold)
        for r, row in enumerate(_rows(table, translate), start=1):
            for c, (column, value) in enumerate(zip(table.columns, row, strict=True)):
                if value == "" or value is None:
                    continue
                sheet.write(r, c, value, formats.get(column.kind))
        sheet.set_column(0, max(0, len(table.columns) - 1), 16)
    book.close()
    return out.getvalue()


def _sheet_name(title: str, used: set[str]) -> str:
    """A sheet name Excel takes: at most 31 characters, none of []:*?/\\, unique in the book."""
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31] or "Sheet"
    base, n = name, 2
    while name.lower() in used:
        suffix = f" {n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def to_json(report: Report) -> str:
    return json.dumps(asdict(report), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
