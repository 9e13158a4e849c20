"""What every report is made of, whatever it reports: figures, tables, charts.

The pages, the exports (CSV, XLSX, JSON) and the daily email all render these, so a report is
written once, as data. Labels are English, marked with ``N_`` for the console's catalog; the web
translates them when it shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


def N_(text: str) -> str:  # the name gettext's extractor looks for
    """A label to translate where it is shown."""
    return text


class Kind(StrEnum):
    """How a value is written: seconds as durations, money with two decimals, shares as percent."""

    TEXT = "text"
    LABEL = "label"  # a word the reader's language has (an outcome, a state): translated where shown
    COUNT = "count"
    NUMBER = "number"
    SECONDS = "seconds"
    MONEY = "money"
    SHARE = "share"
    WHEN = "when"  # a local date and time, as text
    DAY = "day"
    LINK = "link"  # {"text", "href"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = Kind.TEXT

    @property
    def numeric(self) -> bool:
        """A figure to right-align and add up (not a text, a date or a link)."""
        return self.kind in (Kind.COUNT, Kind.NUMBER, Kind.SECONDS, Kind.MONEY, Kind.SHARE)

    def title(self, translate: Callable[[str], str]) -> str:
        """The label in the reader's language; a column of one reason (``key`` ``paused:lunch``, label
        ``Paused: Lunch``) has each part translated."""
        if ":" not in self.key:
            return translate(self.label)
        head, _, reason = self.label.partition(": ")
        return f"{translate(head)}: {translate(reason)}"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: Any
    kind: Kind = Kind.COUNT


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] | None = None
    more: int = 0  # rows left out of the page (exports have all)


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[str, float]]  # (x label, value)
    css: str = ""  # a colour that means something (an operator state's), else the series' turn


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    kind: str  # "bars" (stacked by series), "line" or "heatmap" (series are rows, points columns)
    series: list[Series]
    unit: Kind = Kind.NUMBER


@dataclass
class Report:
    name: str
    title: str
    counts: str  # one line: what the report counts
    first: date
    last: date
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def figure(self, key: str) -> Any:
        return next(f.value for f in self.figures if f.key == key)


def share(part: float, whole: float) -> float | None:
    """``part / whole``, None when there is no whole."""
    return part / whole if whole else None
