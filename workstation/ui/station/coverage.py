"""Coverage per grid for the station head: people, share visited on time, overdue; one table, Esc closes."""

from __future__ import annotations

from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QDialog, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from workstation.domain.lifecycle import N_
from workstation.i18n import tr

ModelIndex = QModelIndex | QPersistentModelIndex
COLUMNS: Final = [
    ("grid", N_("Grid")),
    ("people", N_("People")),
    ("share", N_("Visited on time")),
    ("overdue", N_("Overdue")),
]
LOW_SHARE: Final = 0.8  # below this share the cell is marked


def percent(share: float | None) -> str:
    """A share as a percentage, or a dash when nobody is on the roster."""
    return "—" if share is None else f"{share * 100:.0f}%"


class CoverageModel(QAbstractTableModel):
    """The rows of ``care_worklist.coverage``: one per grid, then the community's total."""

    def __init__(self, coverage: dict[str, Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        total = {k: coverage[k] for k in ("people", "on_time", "overdue", "share_on_time")}
        self.rows: list[dict[str, Any]] = [
            *coverage["grids"],
            total | {"grid": "", "grid_name": tr("All of {name}", name=coverage["community_name"]), "total": True},
        ]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: the grids and the total."""
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: column titles."""
        horizontal = orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
        if horizontal and 0 <= section < len(COLUMNS):
            return tr(COLUMNS[section][1])
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: a cell."""
        if not index.isValid() or not 0 <= index.row() < len(self.rows) or not 0 <= index.column() < len(COLUMNS):
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "grid":
                return row["grid_name"] if row.get("total") else f"{row['grid_name']} ({row['grid']})"
            if key == "share":
                return percent(row["share_on_time"])
            return str(row[key])
        if role == Qt.ItemDataRole.TextAlignmentRole and key != "grid":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if key == "overdue" and row["overdue"]:
                return QBrush(QColor("#b71c1c"))
            share = row["share_on_time"]
            if key == "share" and share is not None and share < LOW_SHARE:
                return QBrush(QColor("#b71c1c"))
        if role == Qt.ItemDataRole.FontRole and row.get("total"):
            font = QFont()
            font.setBold(True)
            return font
        return None


class CoverageDialog(QDialog):
    """The coverage table of one community."""

    def __init__(self, coverage: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("coverageDialog")
        self.setWindowTitle(tr("Coverage by grid — {name}", name=coverage["community_name"]))
        self.setModal(True)
        self.resize(620, 420)
        self.model = CoverageModel(coverage, self)
        self.table = QTableView()
        self.table.setObjectName("coverageTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        summary = QLabel(
            tr(
                "{people} people · {share} visited on time · {overdue} overdue. A person counts as visited on "
                "time when met within their interval.",
                people=coverage["people"],
                share=percent(coverage["share_on_time"]),
                overdue=coverage["overdue"],
            )
        )
        summary.setWordWrap(True)
        hint = QLabel(tr("Esc closes"))
        hint.setObjectName("hint")
        heading = QLabel(self.windowTitle())
        heading.setObjectName("dialogHeading")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        self.table.setFocus()
        if self.model.rowCount():
            self.table.selectRow(0)
