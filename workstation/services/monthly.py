"""The monthly report a director forwards: its content (Qt-free) and its Excel form (openpyxl).

``build`` gathers a month's headline figures, the evaluation tables, the days of the month and the
channel mix from the summaries; ``write_xlsx`` lays them out one sheet per table with a chart of the
days. The PDF form (the same content, A4 pages, charts and the map) is drawn with Qt in
``workstation.ui.report_pdf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.i18n import tr
from workstation.models import utcnow
from workstation.models.stats import COUNTERS, StatDay
from workstation.services import evaluation as ev
from workstation.services.export_cells import is_risky
from workstation.services.stats import TZ
from workstation.storage.db import Database

DAILY = ("reported", "filed", "closed")


@dataclass
class MonthlyReport:
    """Everything the monthly report shows."""

    month: str
    period: ev.Period
    made_at: datetime
    evaluation: ev.Evaluation
    daily: list[tuple[date, dict[str, int]]]

    @property
    def title(self) -> str:
        """The report's title."""
        return tr("Grid-governance centre: monthly report {month}", month=self.month)


def daily(s: Session, period: ev.Period) -> list[tuple[date, dict[str, int]]]:
    """The centre's counters for each day of the period (days without any count included, as zeros)."""
    rows = {
        r.day: {c: getattr(r, c) for c in COUNTERS}
        for r in s.scalars(
            select(StatDay).where(
                StatDay.dim == "all", StatDay.day >= period.start.isoformat(), StatDay.day < period.end.isoformat()
            )
        )
    }
    out = []
    day = period.start
    while day < period.end:
        out.append((day, rows.get(day.isoformat(), dict.fromkeys(COUNTERS, 0))))
        day += timedelta(days=1)
    return out


def build(db: Database, month: str, now: datetime | None = None) -> MonthlyReport:
    """The report of a month ``YYYY-MM``.

    Raises:
        ValueError: not a month.
    """
    period = ev.Period.month(month)
    with db.read() as s:
        evaluation = ev.evaluate(s, period, now=now)
        days = daily(s, period)
    return MonthlyReport(f"{period.start:%Y-%m}", period, now or utcnow(), evaluation, days)


def value_text(indicator: str, value: float | int | None) -> str:
    """An indicator's value as shown in text: rates as percentages, none as a dash."""
    if value is None:
        return "—"
    if ev.INDICATORS[indicator].is_rate:
        return f"{value * 100:.1f}%"
    return f"{int(value):,}"


def _text(ws: Any, row: int, col: int, value: str) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    if is_risky(value):  # a name beginning with "=" stays text, never a formula
        cell.data_type, cell.quotePrefix = "s", True


def _cell(ws: Any, row: int, col: int, indicator: str, value: float | int | None) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    if ev.INDICATORS[indicator].is_rate:
        cell.number_format = "0.0%"


def write_xlsx(report: MonthlyReport, path: Path) -> None:
    """Write the report as an Excel workbook: summary, one sheet per evaluation table, the days."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = tr("Summary")
    ws["A1"] = report.title
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = tr("Period: {period}", period=report.period.label)
    ws["A3"] = tr("Made at: {at}", at=report.made_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"))
    head = report.evaluation.headline
    for i, ind in enumerate(ev.HEADLINE, start=5):
        ws.cell(row=i, column=1, value=tr(ev.INDICATORS[ind].name))
        _cell(ws, i, 2, ind, head.value(ind))
    ws.column_dimensions["A"].width = 28
    for dim, rows in report.evaluation.tables.items():
        sheet = wb.create_sheet(tr(ev.DIM_NAMES[dim]))
        columns = ev.TABLES[dim]
        sheet.append([tr("Name of unit, place or person"), tr("Code"), *[tr(ev.INDICATORS[c].name) for c in columns]])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for r, row in enumerate(rows, start=2):
            _text(sheet, r, 1, row.name)
            _text(sheet, r, 2, row.key)
            for c, ind in enumerate(columns, start=3):
                _cell(sheet, r, c, ind, row.value(ind))
        sheet.column_dimensions["A"].width = 30
        sheet.freeze_panes = "A2"
    days = wb.create_sheet(tr("Days"))
    days.append([tr("Day"), *[tr(ev.INDICATORS[c].name) for c in DAILY]])
    for day, counts in report.daily:
        days.append([day.isoformat(), *[counts[c] for c in DAILY]])
    chart = BarChart()
    chart.title = tr("Reports, filings and closures per day")
    last = 1 + len(report.daily)
    chart.add_data(Reference(days, min_col=2, max_col=1 + len(DAILY), min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(days, min_col=1, min_row=2, max_row=last))
    chart.width, chart.height = 24, 10
    days.add_chart(chart, "F2")
    wb.save(path)
