"""The worklist's Qt model: one community's people to visit, in the service's order, filtered in Python.

The list is one community (a few hundred rows), read whole by ``care_worklist.worklist``; typing
filters by name, grid and visitor without asking the database again. A status is always shown as
text as well as colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from workstation.domain.care import schedule_reason as reason_text
from workstation.domain.lifecycle import N_
from workstation.i18n import tr

ModelIndex = QModelIndex | QPersistentModelIndex

COLUMNS: Final = [
    ("status", N_("Status")),
    ("name", N_("Name")),
    ("groups", N_("Groups")),
    ("grid", N_("Grid")),
    ("visitor", N_("Visitor")),
    ("due", N_("Due")),
    ("late", N_("Days overdue")),
    ("last", N_("Last visit")),
]
STATES: Final = {
    "overdue": N_("Overdue"),
    "due": N_("Due today"),
    "window": N_("Window open"),
    "scheduled": N_("Scheduled"),
    "none": N_("In no group"),
}
# (foreground, background): every state also has its own text, colour is never the only sign.
COLOURS: Final = {
    "overdue": ("#b71c1c", "#ffebee"),
    "due": ("#8a4b00", "#fff3e0"),
    "window": ("#0d47a1", "#e3f2fd"),
    "scheduled": ("#455a64", ""),
    "none": ("#757575", ""),
}


def state_of(row: dict[str, Any]) -> str:
    """``overdue``, ``due`` (due today), ``window`` (window open, due later), ``scheduled`` or ``none``."""
    status = row.get("status")
    if status == "due":
        return "due" if row.get("due_today") else "window"
    return status or "none"


def short_time(value: str | None, *, with_time: bool = False) -> str:
    """``YYYY-MM-DD`` (or ``MM-DD HH:MM``) of an ISO time."""
    if not value:
        return ""
    return value[5:16].replace("T", " ") if with_time else value[:10]




def matches(row: dict[str, Any], words: Sequence[str]) -> bool:
    """Whether every typed word is in the name, grid (code or name) or visitor."""
    hay = " ".join(str(row.get(k) or "") for k in ("name", "grid", "grid_name", "visitor")).lower()
    return all(w in hay for w in words)


class WorklistModel(QAbstractTableModel):
    """The people of one community to visit, overdue first (the service orders them)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.all_rows: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.search = ""
        self.grid = ""
        self.visitor = ""

    # -- content -----------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Show a freshly read worklist (keeping the filter); same people in the same order: no reset."""
        self.all_rows = list(rows)
        self._apply()

    def set_filter(self, search: str | None = None, grid: str | None = None, visitor: str | None = None) -> None:
        """Filter by typed words (name, grid, visitor), an exact grid code and an exact visitor."""
        if search is not None:
            self.search = search.strip().lower()
        if grid is not None:
            self.grid = grid
        if visitor is not None:
            self.visitor = visitor
        self._apply()

    def _apply(self) -> None:
        words = self.search.split()
        shown = [
            r
            for r in self.all_rows
            if (not self.grid or r.get("grid") == self.grid)
            and (not self.visitor or (r.get("visitor") or "") == self.visitor)
            and matches(r, words)
        ]
        if [r["person_id"] for r in shown] == [r["person_id"] for r in self.rows]:
            self.rows = shown
            if shown:
                self.dataChanged.emit(self.index(0, 0), self.index(len(shown) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = shown
        self.endResetModel()

    def person_at(self, row: int) -> int | None:
        """The person id shown at a row."""
        return int(self.rows[row]["person_id"]) if 0 <= row < len(self.rows) else None

    def row_of(self, person_id: int | None) -> int | None:
        """The row showing a person (None when filtered out or gone)."""
        for n, r in enumerate(self.rows):
            if r["person_id"] == person_id:
                return n
        return None

    def record(self, person_id: int | None) -> dict[str, Any] | None:
        """The worklist line of a person (filtered out or not)."""
        return next((r for r in self.all_rows if r["person_id"] == person_id), None)

    def counts(self) -> dict[str, int]:
        """How many people of the whole list are in each state."""
        out = dict.fromkeys(STATES, 0)
        for r in self.all_rows:
            out[state_of(r)] += 1
        return out

    def grids(self) -> list[tuple[str, str]]:
        """The grids on the list: (code, name), by code."""
        return sorted({(r["grid"], r.get("grid_name") or r["grid"]) for r in self.all_rows})

    def visitors(self) -> list[str]:
        """The responsible visitors on the list."""
        return sorted({r["visitor"] for r in self.all_rows if r.get("visitor")})

    # -- Qt ----------------------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: rows shown."""
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
        """Qt: what a cell shows."""
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        if not 0 <= index.column() < len(COLUMNS):
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        state = state_of(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, key, state)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(row, key)
        if role == Qt.ItemDataRole.UserRole:
            return row["person_id"]
        if key == "status" and role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(COLOURS[state][0]))
        if key == "status" and role == Qt.ItemDataRole.BackgroundRole and COLOURS[state][1]:
            return QBrush(QColor(COLOURS[state][1]))
        if key == "late" and role == Qt.ItemDataRole.ForegroundRole and row.get("overdue_days"):
            return QBrush(QColor(COLOURS["overdue"][0]))
        if key == "late" and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(row: dict[str, Any], key: str, state: str) -> str:
        if key == "status":
            mark = {"overdue": "● ", "due": "● ", "window": "◐ ", "scheduled": "○ "}.get(state, "  ")
            return mark + tr(STATES[state])
        if key == "name":
            return str(row.get("name") or "")
        if key == "groups":
            names = "、".join(row.get("group_names") or [])
            return f"▲ {names}" if row.get("risk") == "high" else names
        if key == "grid":
            return str(row.get("grid_name") or row.get("grid") or "")
        if key == "visitor":
            return str(row.get("visitor") or "")
        if key == "due":
            return short_time(row.get("due"), with_time=row.get("reason") == "urgent")
        if key == "late":
            return str(row["overdue_days"]) if row.get("overdue_days") else ""
        return short_time(row.get("last_visit"))

    @staticmethod
    def _tip(row: dict[str, Any], key: str) -> str | None:
        if key in ("status", "due"):
            return reason_text(row) or None
        if key == "groups" and row.get("risk") == "high":
            return tr("high risk: visited twice as often")
        if key == "last" and row.get("last_visitor"):
            return tr("by {who}", who=row["last_visitor"])
        return None
