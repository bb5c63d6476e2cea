"""The map: the 434 grids from the territory's polygons, coloured by a measure, cases on top.

A list beside the map names every grid with its value, most first; selecting a grid there outlines it
on the map, and the window's drill-down lists its cases. No tiles and no network are needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.i18n import tr
from workstation.services import queue as q
from workstation.services.supervision import MEASURES
from workstation.storage.db import Database
from workstation.ui.map_paint import GridShape, area_km2, load_shapes, paint_map


class MapCanvas(QWidget):
    """Paints the grids, the selected one outlined, and the case points."""

    def __init__(self, shapes: Sequence[GridShape], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapCanvas")
        self.shapes = list(shapes)
        self.values: Mapping[str, float] = {}
        self.points: Sequence[tuple[float, float]] = ()
        self.selected: str | None = None
        self.setMinimumSize(400, 300)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the map on a light background."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#ffffff"))
        paint_map(
            painter, QRectF(self.rect()).adjusted(8, 8, -8, -8), self.shapes, self.values, self.points, self.selected
        )
        painter.end()


class MapView(QWidget):
    """The map with its measure and the list of grids."""

    def __init__(self, shapes: Sequence[GridShape], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shapes = list(shapes)
        self.names = {g.code: g.name for g in self.shapes}
        self.areas = {g.code: area_km2(g) for g in self.shapes}
        self.measure = "open"
        self.measures: dict[str, dict[str, float]] = {}
        self.canvas = MapCanvas(self.shapes, self)
        self.title = QLabel()
        self.title.setObjectName("dialogHeading")
        self.list = QTableWidget(0, 2)
        self.list.setObjectName("mapGrids")
        self.list.setHorizontalHeaderLabels([tr("Grid"), tr("Value")])
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.verticalHeader().setVisible(False)
        self.list.verticalHeader().setDefaultSectionSize(24)
        self.list.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.setMaximumWidth(320)
        self.list.currentCellChanged.connect(lambda row, *_: self._select(row))
        side = QVBoxLayout()
        side.addWidget(self.title)
        side.addWidget(self.list, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(side)

    def values(self) -> dict[str, float]:
        """The chosen measure per grid (reports per km² divides by each grid's area)."""
        raw = self.measures.get(self.measure, {})
        if self.measure == "density":
            return {k: v / self.areas[k] for k, v in raw.items() if self.areas.get(k)}
        return dict(raw)

    def show_figures(self, measures: dict[str, dict[str, float]], points: Sequence[tuple[float, float]]) -> None:
        """New figures: recolour and relist, keeping the selected grid."""
        self.measures = measures
        self.canvas.points = list(points)
        self._fill()

    def next_measure(self) -> None:
        """Colour by the next measure."""
        keys = list(MEASURES)
        self.measure = keys[(keys.index(self.measure) + 1) % len(keys)]
        self._fill()

    def _fill(self) -> None:
        keep = self.canvas.selected
        values = self.values()
        self.canvas.values = values
        self.title.setText(tr(MEASURES[self.measure]))
        rows = sorted(self.shapes, key=lambda g: (-values.get(g.code, 0.0), g.code))
        self.list.blockSignals(True)
        self.list.setRowCount(len(rows))
        current = 0
        for r, shape in enumerate(rows):
            name = QTableWidgetItem(shape.name)
            name.setData(Qt.ItemDataRole.UserRole, shape.code)
            value = values.get(shape.code, 0.0)
            number = QTableWidgetItem(f"{value:,.1f}" if self.measure == "density" else f"{int(value):,}")
            number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.list.setItem(r, 0, name)
            self.list.setItem(r, 1, number)
            if shape.code == keep:
                current = r
        self.list.blockSignals(False)
        self.list.setCurrentCell(current, 0)
        self._select(current)

    def _select(self, row: int) -> None:
        item = self.list.item(row, 0) if row >= 0 else None
        self.canvas.selected = item.data(Qt.ItemDataRole.UserRole) if item else None
        self.canvas.update()

    def drill(self) -> q.QueueFilter | None:
        """The cases of the selected grid."""
        code = self.canvas.selected
        if not code:
            return None
        return q.QueueFilter(queue="all", grid=code, title=self.names.get(code, code))


class CaseLocation(MapCanvas):
    """Where a case is: the grids of its street, its own grid outlined, its point marked (case panel)."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__((), parent)
        self.setObjectName("caseLocation")
        self.db = db
        self.all: list[GridShape] | None = None  # read on the first case shown
        self.setMinimumSize(120, 90)
        self.setFixedHeight(150)

    def show_case(self, case: Mapping[str, Any] | None) -> None:
        """Show the case's grid among its street's (hidden when the case has no grid)."""
        code = (case or {}).get("grid")
        if not code:
            self.setVisible(False)
            return
        if self.all is None:
            self.all = load_shapes(self.db)
        street = code.split("C")[0]
        self.shapes = [g for g in self.all if g.code.startswith(street)]
        self.selected = code
        lon, lat = (case or {}).get("lon"), (case or {}).get("lat")
        self.points = [(float(lon), float(lat))] if lon is not None and lat is not None else []
        self.setToolTip(tr("Where the case is: {grid}", grid=(case or {}).get("grid_name") or code))
        self.setVisible(True)
        self.update()
