"""A report as a page shows it: cells written in the reader's language, charts as SVG geometry.

Charts are drawn on the server (no chart library in the browser): bars stacked by series, lines, a
weekday x hour heatmap and an operator's day as a timeline; each element carries a ``<title>`` with
its value, and every chart has a table beside it with the same figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dialer.web import i18n
from reports.shape import N_, Chart, Column, Kind, Report, Series, Table

WIDTH, HEIGHT = 600, 220  # drawn about 1:1 in half the page at 1366 px: text stays readable
WIDE = 1200  # the operator's day takes the whole width
LEFT, RIGHT, TOP, BOTTOM = 62, 12, 12, 34
STATES = {"ready": N_("Ready (waiting)"), "reserved": N_("Connecting a call"), "talking": N_("Talking"),
          "wrap_up": N_("Wrap-up"), "paused": N_("Paused"), "offline": N_("offline")}  # fmt: skip


def state_label(state: str) -> str:
    return i18n.gettext(STATES.get(state, state))


def duration(seconds: float | None, *, tenths: bool = True) -> str:
    """Seconds as H:MM:SS (M:SS under an hour; under a minute with tenths, unless ``tenths`` is False)."""
    if seconds is None:
        return "—"
    if tenths and abs(seconds) < 60 and seconds != int(seconds):
        return f"{i18n.fmt_number(seconds, 1)} {i18n.gettext('s')}"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


WRITERS: dict[Kind, Any] = {
    Kind.SECONDS: lambda v: duration(float(v)),
    Kind.MONEY: lambda v: i18n.fmt_number(Decimal(str(v)), 2),
    Kind.SHARE: lambda v: i18n.fmt_percent(float(v)),
    Kind.COUNT: lambda v: i18n.fmt_number(int(v)),
    Kind.NUMBER: lambda v: i18n.fmt_number(float(v), 2),
    Kind.LABEL: lambda v: i18n.gettext(str(v)),
}


def text_of(value: Any, kind: Kind) -> str:
    """A value as the reader reads it: durations H:MM:SS, money with two decimals, shares in percent."""
    if value is None or value == "":
        return "—" if kind not in (Kind.TEXT, Kind.LABEL) else ""
    writer = WRITERS.get(kind)
    return str(writer(value)) if writer is not None else str(value)


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None
    numeric: bool = False


def cell(value: Any, column: Column) -> Cell:
    if isinstance(value, dict) and "href" in value:
        text = i18n.gettext(value["text"]) if value.get("translate") else str(value["text"])
        return Cell(text, value["href"])
    return Cell(text_of(value, column.kind), numeric=column.numeric)


@dataclass
class TableView:
    key: str
    title: str
    headers: list[tuple[str, bool]]  # label, numeric
    rows: list[list[Cell]]
    total: list[Cell] | None
    more: int


def table_view(table: Table) -> TableView:
    headers = [(c.title(i18n.gettext), c.numeric) for c in table.columns]
    rows = [[cell(row.get(c.key), c) for c in table.columns] for row in table.rows]
    total = None
    if table.total is not None:
        total = [cell(i18n.gettext(v) if isinstance(v, str) and c.kind in (Kind.TEXT, Kind.LABEL) else v, c)
                 for c, v in ((c, table.total.get(c.key)) for c in table.columns)]  # fmt: skip
    return TableView(table.key, i18n.gettext(table.title), headers, rows, total, table.more)


@dataclass
class Shape:
    """One SVG element: a rect (x, y, w, h) or a polyline (points), its CSS class and tooltip."""

    kind: str
    css: str
    title: str = ""
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    points: str = ""
    opacity: float = 1.0


@dataclass
class ChartView:
    key: str
    title: str
    kind: str
    width: int = WIDTH
    height: int = HEIGHT
    shapes: list[Shape] = field(default_factory=list)
    x_labels: list[tuple[float, float, str, str]] = field(default_factory=list)  # x, y, text, anchor
    y_labels: list[tuple[float, float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # css, label
    empty: bool = False


def chart_view(chart: Chart) -> ChartView:
    title = i18n.gettext(chart.title)
    if chart.kind == "heatmap":
        return _heatmap(chart, title)
    if chart.kind == "timeline":
        return _timeline(chart, title)
    if chart.kind == "line":
        return _lines(chart, title)
    return _bars(chart, title)


def _label_step(count: int, most: int = 12) -> int:
    return max(1, math.ceil(count / most))


def _y_axis(view: ChartView, top: float, unit: Kind) -> None:
    plot = HEIGHT - TOP - BOTTOM
    for fraction in (0.0, 0.5, 1.0):
        view.y_labels.append((LEFT - 6, TOP + plot * (1 - fraction) + 4, text_of(top * fraction, unit)))


def _bars(chart: Chart, title: str) -> ChartView:
    view = ChartView(chart.key, title, "bars")
    labels = [x for x, _ in chart.series[0].points] if chart.series else []
    totals = [sum(s.points[i][1] for s in chart.series) for i in range(len(labels))]
    top = max(totals, default=0.0)
    view.empty = top <= 0
    top = top or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    longest = max((len(_short(label)) for label in labels), default=1)
    step = max(_label_step(len(labels)), math.ceil((longest * 7.5 + 8) / slot))  # labels never overlap
    for i, label in enumerate(labels):
        base = float(TOP + plot_h)
        for n, series in enumerate(chart.series):
            value = series.points[i][1]
            height = plot_h * value / top
            if height > 0:
                base -= height
                tip = f"{label}: {i18n.gettext(series.label)} {text_of(value, chart.unit)}"
                x = LEFT + i * slot + slot * 0.15
                view.shapes.append(Shape("rect", _css(series, n), tip, x=x, y=base,
                                         w=slot * 0.7, h=height))  # fmt: skip
        if i % step == 0:
            view.x_labels.append((LEFT + i * slot + slot / 2, HEIGHT - BOTTOM + 16, _short(label), "middle"))
    _y_axis(view, top, chart.unit)
    view.legend = [(_css(s, n), i18n.gettext(s.label)) for n, s in enumerate(chart.series)]
    return view


def _css(series: Series, n: int) -> str:
    return series.css or f"s{n % 6}"


def _short(label: str) -> str:
    """A day's label without its year (the period says it)."""
    return label[5:] if len(label) == 10 and label[4] == "-" else label[:14]


def _lines(chart: Chart, title: str) -> ChartView:
    view = ChartView(chart.key, title, "line")
    top = max((v for s in chart.series for _, v in s.points), default=0.0)
    view.empty = not any(s.points for s in chart.series)
    top = top or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    for n, series in enumerate(chart.series):
        count = len(series.points)
        coords = []
        for i, (_x, value) in enumerate(series.points):
            x = LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)
            coords.append(f"{x:.1f},{TOP + plot_h * (1 - value / top):.1f}")
        view.shapes.append(Shape("line", f"s{n % 6}", i18n.gettext(series.label), points=" ".join(coords)))
        if n == 0 and series.points:
            step = _label_step(count, 6)
            shown = list(range(0, count, step))
            for i in shown:
                x = LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)
                anchor = (
                    "start" if i == 0 and count > 1 else "end" if i == shown[-1] and count > 1 else "middle"
                )
                view.x_labels.append((x, HEIGHT - BOTTOM + 16, series.points[i][0], anchor))
    _y_axis(view, top, chart.unit)
    view.legend = [(f"s{n % 6}", s.label) for n, s in enumerate(chart.series)]
    return view


def _heatmap(chart: Chart, title: str) -> ChartView:
    rows = len(chart.series)
    view = ChartView(chart.key, title, "heatmap", height=TOP + rows * 26 + BOTTOM)
    plot_w = WIDTH - LEFT - RIGHT
    cols = max((len(s.points) for s in chart.series), default=24)
    width = plot_w / max(1, cols)
    view.empty = not any(v for s in chart.series for _, v in s.points)
    for r, series in enumerate(chart.series):
        view.y_labels.append((LEFT - 6, TOP + r * 26 + 17, i18n.gettext(series.label)))
        for c, (hour, value) in enumerate(series.points):
            tip = f"{i18n.gettext(series.label)} {hour}:00 — {text_of(value, chart.unit)}"
            view.shapes.append(Shape("rect", "heat", tip, x=LEFT + c * width + 1, y=TOP + r * 26 + 1,
                                     w=width - 2, h=24, opacity=round(0.06 + 0.94 * value, 3)))  # fmt: skip
            if r == rows - 1:
                view.x_labels.append((LEFT + c * width + width / 2, TOP + rows * 26 + 16, hour, "middle"))
    return view


def _timeline(chart: Chart, title: str) -> ChartView:
    rows = len(chart.series)
    view = ChartView(chart.key, title, "timeline", width=WIDE, height=TOP + rows * 26 + BOTTOM)
    plot_w = WIDE - LEFT - RIGHT
    used: set[str] = set()
    for r, series in enumerate(chart.series):
        view.y_labels.append((LEFT - 6, TOP + r * 26 + 17, _short(series.label)))
        day = sum(seconds for _, seconds in series.points) or 1.0
        x = float(LEFT)
        for state, seconds in series.points:
            width = plot_w * seconds / day
            if state != "offline" and width > 0:
                used.add(state)
                view.shapes.append(Shape("rect", f"st-{state}", f"{state_label(state)} {duration(seconds)}",
                                         x=x, y=TOP + r * 26 + 3, w=width, h=20))  # fmt: skip
            x += width
    for hour in range(0, 25, 3):
        anchor = "start" if hour == 0 else "end" if hour == 24 else "middle"
        view.x_labels.append((LEFT + plot_w * hour / 24, TOP + rows * 26 + 16, f"{hour:02d}:00", anchor))
    view.legend = [(f"st-{s}", state_label(s)) for s in ("ready", "reserved", "talking", "wrap_up", "paused")
                   if s in used]  # fmt: skip
    return view


@dataclass
class ReportView:
    name: str
    title: str
    counts: str
    figures: list[tuple[str, str]]
    tables: list[TableView]
    charts: list[ChartView]


def report_view(report: Report) -> ReportView:
    return ReportView(
        report.name, i18n.gettext(report.title), i18n.gettext(report.counts),
        [(i18n.gettext(f.label), text_of(f.value, f.kind)) for f in report.figures],
        [table_view(t) for t in report.tables], [chart_view(c) for c in report.charts],
    )  # fmt: skip
