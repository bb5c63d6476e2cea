"""The monthly report as an A4 PDF drawn with Qt: headline, charts, evaluation tables and the map.

Charts are drawn with QPainter (bars with their numbers written on them) rather than QtCharts: the
report needs three simple chart kinds, QPainter ships with PySide6-Essentials, and QtCharts would add
the PySide6-Addons wheel (about 170 MB) for them. The same painter code draws on screen and on paper.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen
from PySide6.QtWidgets import QApplication

from workstation.i18n import tr
from workstation.services import evaluation as ev
from workstation.services.monthly import DAILY, MonthlyReport, value_text
from workstation.services.stats import TZ
from workstation.storage.db import Database
from workstation.ui.map_paint import load_shapes, paint_map

DPI = 150
SERIES = {"reported": QColor("#4292c6"), "filed": QColor("#fd8d3c"), "closed": QColor("#31a354")}
ROW = 34


def ensure_gui() -> QGuiApplication:
    """A Qt application for fonts and painting; offscreen when there is no display (the command line)."""
    app = QGuiApplication.instance()
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])  # not a bare QGuiApplication: windows may follow in the same process
    assert isinstance(app, QGuiApplication)
    return app


class _Pages:
    """A painter on a PDF with a cursor; a new page when the next block does not fit."""

    def __init__(self, writer: QPdfWriter, report: MonthlyReport) -> None:
        self.writer, self.report = writer, report
        self.p = QPainter(writer)
        self.w = writer.width()
        self.h = writer.height()
        self.y = 0.0
        self.pages = 1
        self.footer()

    def font(self, size: int, bold: bool = False) -> None:
        f = QFont()
        f.setPointSizeF(size)
        f.setBold(bold)
        self.p.setFont(f)

    def footer(self) -> None:
        self.font(8)
        self.p.setPen(QColor("#666666"))
        text = f"{self.report.title} · {tr('page {n}', n=self.pages)}"
        self.p.drawText(QRectF(0, self.h - 30, self.w, 30), Qt.AlignmentFlag.AlignRight, text)
        self.p.setPen(QColor("#000000"))

    def need(self, height: float) -> None:
        if self.y + height > self.h - 50:
            self.writer.newPage()
            self.pages += 1
            self.y = 0
            self.footer()

    def text(self, text: str, size: int = 10, bold: bool = False, height: float = ROW) -> None:
        self.need(height)
        self.font(size, bold)
        self.p.drawText(QRectF(0, self.y, self.w, height), Qt.AlignmentFlag.AlignVCenter, text)
        self.y += height

    def figures(self, items: Sequence[tuple[str, str]]) -> None:
        per_row = 3
        box_w, box_h = self.w / per_row, 130
        for i, (label, value) in enumerate(items):
            if i % per_row == 0:
                self.need(box_h)
                if i:
                    self.y += box_h
            x = (i % per_row) * box_w
            rect = QRectF(x + 6, self.y + 6, box_w - 12, box_h - 12)
            self.p.setPen(QPen(QColor("#999999")))
            self.p.drawRect(rect)
            self.p.setPen(QColor("#000000"))
            self.font(9)
            self.p.drawText(rect.adjusted(12, 8, -12, 0), Qt.AlignmentFlag.AlignTop, label)
            self.font(20, True)
            self.p.drawText(rect.adjusted(12, 0, -12, -8), Qt.AlignmentFlag.AlignBottom, value)
        self.y += box_h + 20

    def day_chart(self) -> None:
        days = self.report.daily
        height = 420
        self.need(height + 60)
        self.text(tr("Reports, filings and closures per day"), 11, True)
        top = max((c[k] for _, c in days for k in DAILY), default=0) or 1
        area = QRectF(60, self.y + 10, self.w - 80, height - 60)
        self.font(7)
        self.p.setPen(QColor("#999999"))
        self.p.drawLine(area.bottomLeft(), area.bottomRight())
        self.p.drawText(QRectF(0, area.top() - 10, 55, 20), Qt.AlignmentFlag.AlignRight, f"{top:,}")
        slot = area.width() / max(len(days), 1)
        bar = slot / (len(DAILY) + 1)
        for i, (day, counts) in enumerate(days):
            for j, key in enumerate(DAILY):
                h = area.height() * counts[key] / top
                self.p.fillRect(QRectF(area.left() + i * slot + j * bar, area.bottom() - h, bar, h), SERIES[key])
            if day.day % 5 == 1:
                self.p.setPen(QColor("#333333"))
                self.p.drawText(QRectF(area.left() + i * slot - 20, area.bottom() + 4, 60, 20), str(day.day))
        x = area.left()
        for key in DAILY:
            self.p.fillRect(QRectF(x, area.bottom() + 30, 16, 16), SERIES[key])
            self.p.setPen(QColor("#000000"))
            self.p.drawText(QRectF(x + 22, area.bottom() + 26, 200, 24), tr(ev.INDICATORS[key].name))
            x += 200
        self.y += height + 10

    def bars(self, title: str, items: Sequence[tuple[str, int]]) -> None:
        self.need(60 + ROW * max(len(items), 1))
        self.text(title, 11, True)
        top = max((n for _, n in items), default=0) or 1
        for name, n in items:
            self.font(9)
            self.p.drawText(QRectF(0, self.y, 300, ROW), Qt.AlignmentFlag.AlignVCenter, name)
            width = (self.w - 480) * n / top
            self.p.fillRect(QRectF(310, self.y + 6, width, ROW - 12), QColor("#6baed6"))
            self.p.drawText(QRectF(320 + width, self.y, 160, ROW), Qt.AlignmentFlag.AlignVCenter, f"{n:,}")
            self.y += ROW
        self.y += 20

    def table(self, dim: str, rows: Sequence[ev.Row]) -> None:
        columns = ev.TABLES[dim]
        name_w = self.w * 0.34
        col_w = (self.w - name_w) / len(columns)

        def header() -> None:
            self.need(ROW * 2)
            self.font(8, True)
            self.p.fillRect(QRectF(0, self.y, self.w, ROW * 1.4), QColor("#deebf7"))
            name = tr("Name of unit, place or person")
            self.p.drawText(QRectF(4, self.y, name_w, ROW * 1.4), Qt.AlignmentFlag.AlignVCenter, name)
            for i, c in enumerate(columns):
                rect = QRectF(name_w + i * col_w, self.y, col_w - 4, ROW * 1.4)
                flags = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap
                self.p.drawText(rect, int(flags), tr(ev.INDICATORS[c].name))
            self.y += ROW * 1.4

        self.need(ROW * 3)
        self.text(tr(ev.DIM_NAMES[dim]), 12, True)
        header()
        for n, row in enumerate(rows):
            if self.y + ROW > self.h - 50:
                self.need(ROW * 3)
                header()
            self.font(8)
            if n % 2:
                self.p.fillRect(QRectF(0, self.y, self.w, ROW), QColor("#f4f4f4"))
            label = f"{n + 1}. {row.name}"
            self.p.drawText(QRectF(4, self.y, name_w - 8, ROW), Qt.AlignmentFlag.AlignVCenter, label)
            for i, c in enumerate(columns):
                rect = QRectF(name_w + i * col_w, self.y, col_w - 4, ROW)
                flags = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                self.p.drawText(rect, flags, value_text(c, row.value(c)))
            self.y += ROW
        self.y += 30

    def map(self, db: Database) -> None:
        self.writer.newPage()
        self.pages += 1
        self.y = 0
        self.footer()
        self.text(tr("Reports per grid this month"), 12, True)
        grids = {r.key: float(r.counts.get("reported", 0)) for r in self.report.evaluation.tables.get("grid", [])}
        paint_map(self.p, QRectF(0, self.y + 10, self.w, self.h - self.y - 80), load_shapes(db), grids)


def write_pdf(db: Database, report: MonthlyReport, path: Path) -> int:
    """Write the report as an A4 PDF; returns the number of pages."""
    ensure_gui()
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(
        QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF(15, 15, 15, 15))
    )
    writer.setTitle(report.title)
    writer.setCreator("grid-workstation")
    pages = _Pages(writer, report)
    pages.text(report.title, 18, True, 60)
    made = report.made_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    pages.text(tr("Period: {period} · made at {at}", period=report.period.label, at=made), 10)
    pages.y += 10
    head = report.evaluation.headline
    pages.figures([(tr(ev.INDICATORS[i].name), value_text(i, head.value(i))) for i in ev.HEADLINE])
    pages.day_chart()
    channels = report.evaluation.tables.get("channel", [])
    pages.bars(tr("Channel mix (reports)"), [(r.name, int(r.counts.get("reported", 0))) for r in channels])
    categories = sorted(report.evaluation.tables.get("category", []), key=lambda r: -r.counts.get("filed", 0))[:10]
    pages.bars(
        tr("The ten commonest categories (filed)"), [(r.name, int(r.counts.get("filed", 0))) for r in categories]
    )
    for dim in ("unit", "street", "community", "grid", "reporter"):
        pages.table(dim, report.evaluation.tables.get(dim, []))
    pages.map(db)
    pages.p.end()
    return pages.pages
