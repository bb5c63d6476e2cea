"""The queue's Qt model: holds ids, fetches only the rows in view, sorts and filters in SQL.

Rows are read in blocks of ``BLOCK`` keys: the next block by keyset from the previous one, any other
by offset from the nearer end (a jump to the end, or scrolling back from it, reads from the end).
Only the cases of loaded blocks are held, in a bounded cache, so a million-case queue costs a few
hundred rows of memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QIcon
from sqlalchemy import select

from workstation import formatting
from workstation.domain.lifecycle import N_, RUNNING, State
from workstation.i18n import channel_label, state_label, tr
from workstation.models import Grid, utcnow
from workstation.services import queue as q
from workstation.services.calendar import calendar_from
from workstation.services.live import LiveView
from workstation.storage.db import Database
from workstation.ui.icons import icon

BLOCK = 100
MAX_BLOCKS = 40
NEAR = 0.2  # share of the limit left that counts as "near the deadline"
COLUMNS = [
    ("priority", N_("Urgency")),
    ("id", N_("No.")),
    ("status", N_("Status")),
    ("channel", N_("Channel")),
    ("text", N_("Report")),
    ("grid", N_("Grid")),
    ("received", N_("Received")),
    ("deadline", N_("Deadline")),
    ("taken", N_("Open at")),
]
DEADLINE_COLUMN = 7
TEXT_COLUMN = 4
ModelIndex = QModelIndex | QPersistentModelIndex
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.UserRole,
    }
)


@dataclass(frozen=True)
class Row:
    """What one queue row shows."""

    id: int
    version: int
    status: str
    priority: int
    channel: str
    text: str
    grid: str
    received: datetime
    filed: datetime | None
    deadline: datetime | None
    holder: str | None


def countdown(deadline: datetime, now: datetime) -> str:
    """The time left to a deadline in words, or how long it is overdue (see :mod:`workstation.formatting`)."""
    return formatting.countdown(deadline, now)


def urgency_of(row: Row, now: datetime) -> str:
    """``overdue``, ``near`` or ``ok`` for the deadline of a running case."""
    if row.deadline is None or State(row.status) not in RUNNING:
        return "ok"
    if row.deadline < now:
        return "overdue"
    total = (row.deadline - (row.filed or row.received)).total_seconds()
    left = (row.deadline - now).total_seconds()
    return "near" if total > 0 and left / total < NEAR else "ok"


def _id_at(keys: list[tuple[Any, ...]] | None, offset: int) -> Any:
    return keys[offset][-1] if keys is not None and offset < len(keys) else None


class QueueModel(QAbstractTableModel):
    """A lazily loaded queue of cases."""

    def __init__(self, db: Database, flt: q.QueueFilter, parent: Any = None) -> None:
        super().__init__(parent)
        self.db = db
        self.filter = flt
        self._count = 0
        self._blocks: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._rows: dict[int, Row] = {}
        self._grids: dict[str, str] = {}
        self._tz: tzinfo | None = None
        self.me = flt.actor
        self.reload()

    # -- loading -------------------------------------------------------------------------------------

    def reload(self, flt: q.QueueFilter | None = None) -> None:
        """Count again and forget every loaded block (after a filter change or a change elsewhere)."""
        self.beginResetModel()
        if flt is not None:
            self.filter = flt
        self._blocks.clear()
        self._rows.clear()
        with self.db.read() as s:
            if not self._grids:
                self._grids = dict(s.execute(select(Grid.code, Grid.name)).all())
                self._tz = calendar_from(s).tz
            self._count = q.count(s, self.filter)
        self.endResetModel()

    def _block(self, number: int) -> list[tuple[Any, ...]]:
        if number in self._blocks:
            self._blocks.move_to_end(number)
            return self._blocks[number]
        with self.db.read() as s:
            keys = q.block_keys(s, self.filter, number, BLOCK, self._count, self._blocks.get(number - 1))
            ids = [k[-1] for k in keys]
            cases = q.cells(s, ids)
            holders = q.holders(s, ids)
        self._keep_rows(cases, holders)
        self._blocks[number] = keys
        while len(self._blocks) > MAX_BLOCKS:
            _, dropped = self._blocks.popitem(last=False)
            for key in dropped:
                self._rows.pop(key[-1], None)
        return keys

    def _keep_rows(self, cases: dict[int, tuple[Any, ...]], holders: dict[int, str]) -> None:
        for case_id, (_, version, status, priority, channel, text, grid, received, filed, deadline) in cases.items():
            self._rows[case_id] = Row(
                case_id,
                version,
                status,
                priority,
                channel,
                text,
                self._grids.get(grid or "", ""),
                received,
                filed,
                deadline,
                holders.get(case_id),
            )

    def visible_blocks(self, first_row: int, last_row: int) -> tuple[int, ...]:
        """The block numbers holding these rows (what a live change must re-read); an empty queue: the first."""
        first = max(first_row, 0) // BLOCK
        last = min(max(last_row, first_row), max(self._count - 1, 0)) // BLOCK
        return tuple(range(first, max(last, first) + 1))

    def view_of(self, first_row: int, last_row: int) -> dict[str, Any]:
        """The loaded blocks holding these rows, as the live thread needs them (see ``services.live.View``)."""
        blocks = self.visible_blocks(first_row, last_row)
        loaded = [self._blocks.get(n) for n in blocks]
        if not blocks or any(keys is None for keys in loaded):
            return {"blocks": blocks}
        keys = [k for part in loaded for k in part or []]
        if not keys:
            return {"blocks": blocks, "to_end": True}
        return {
            "blocks": blocks,
            "ids": frozenset(int(k[-1]) for k in keys),
            "first": tuple(keys[0]),
            "last": tuple(keys[-1]),
            "to_end": blocks[-1] * BLOCK + len(loaded[-1] or []) >= self._count,
        }

    def apply(self, change: LiveView) -> bool:
        """Apply a change read elsewhere (off the GUI thread): the new count and the re-read blocks in view.

        No reset and no read here: rows are added or removed at the end for the new count, the rows in
        view are replaced, and only the rows that show something else now (another case at that row,
        or the same case changed) are repainted. Returns False (nothing applied) if the change was
        read for another filter than the one shown now.
        """
        if change.filter != self.filter:
            return False
        if change.blocks is None:  # the rows in view stand: only the count (and rows beyond the view) moved
            self._resize(change.count)
            for number in [n for n in self._blocks if n not in change.kept]:
                for key in self._blocks.pop(number):
                    self._rows.pop(key[-1], None)
            return True
        self._resize(change.count)
        before, shown = self._blocks, self._rows
        self._blocks = OrderedDict((n, list(keys)) for n, keys in sorted(change.blocks.items()))
        self._rows = {}
        self._keep_rows(change.cells, change.holders)
        moved = [
            number * BLOCK + offset
            for number, keys in self._blocks.items()
            for offset, key in enumerate(keys)
            if _id_at(before.get(number), offset) != key[-1] or shown.get(key[-1]) != self._rows.get(key[-1])
        ]
        if moved:
            self.dataChanged.emit(self.index(min(moved), 0), self.index(max(moved), len(COLUMNS) - 1))
        return True

    def _resize(self, new: int) -> None:
        old = self._count
        if new > old:
            self.beginInsertRows(QModelIndex(), old, new - 1)
            self._count = new
            self.endInsertRows()
        elif new < old:
            self.beginRemoveRows(QModelIndex(), new, old - 1)
            self._count = new
            self.endRemoveRows()

    def loaded_id(self, row: int) -> int | None:
        """The case id at a row if its block is loaded (never reads)."""
        keys = self._blocks.get(row // BLOCK)
        if keys is None or row % BLOCK >= len(keys):
            return None
        return int(keys[row % BLOCK][-1])

    def id_at(self, row: int) -> int | None:
        """The case id shown at a row."""
        if not 0 <= row < self._count:
            return None
        keys = self._block(row // BLOCK)
        offset = row % BLOCK
        return int(keys[offset][-1]) if offset < len(keys) else None

    def row_at(self, row: int) -> Row | None:
        """The case shown at a row."""
        case_id = self.id_at(row)
        return self._rows.get(case_id) if case_id is not None else None

    def row_of(self, case_id: int) -> int | None:
        """The row of a case among the loaded blocks."""
        for number, keys in self._blocks.items():
            for offset, key in enumerate(keys):
                if key[-1] == case_id:
                    return number * BLOCK + offset
        return None

    # -- Qt model ------------------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: the real number of cases in the queue."""
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: the columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: column titles."""
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return tr(COLUMNS[section][1])
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: what a cell shows."""
        if role not in _ROLES or not index.isValid() or not 0 <= index.row() < self._count:
            return None  # a repaint asks for a dozen roles a cell; most have no answer here
        row = self.row_at(index.row())
        if row is None:
            return None
        column = COLUMNS[index.column()][0]
        now = utcnow()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column, now)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(row, column, now)
        if role == Qt.ItemDataRole.ToolTipRole and column in ("text", "deadline"):
            return row.text if column == "text" else self._deadline_tip(row, now)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == "priority" and row.priority <= 1:
                return QBrush(QColor("#c62828"))
            if column == "deadline":
                state = urgency_of(row, now)
                if state == "overdue":
                    return QBrush(QColor("#b71c1c"))
                if state == "near":
                    return QBrush(QColor("#8a5a00"))
            if column == "taken" and row.holder and row.holder != self.me:
                return QBrush(QColor("#6a1b9a"))
        if role == Qt.ItemDataRole.BackgroundRole and column == "deadline":
            state = urgency_of(row, now)
            if state == "overdue":
                return QBrush(QColor("#ffebee"))
            if state == "near":
                return QBrush(QColor("#fff8e1"))
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def _display(self, row: Row, column: str, now: datetime) -> str:
        tz = self._tz
        if column == "priority":
            return tr("urgent") if row.priority <= 1 else tr("normal")
        if column == "id":
            return str(row.id)
        if column == "status":
            return state_label(row.status)
        if column == "channel":
            return channel_label(row.channel)
        if column == "text":
            return row.text.replace("\n", " ")
        if column == "grid":
            return row.grid or "—"
        if column == "received":
            return row.received.astimezone(tz).strftime("%m-%d %H:%M")
        if column == "deadline":
            if row.deadline is None:
                return "—"
            state = urgency_of(row, now)
            # the icon marks the state; the overdue countdown already says so in words
            mark = tr("due soon") if state == "near" else ""
            left = (
                countdown(row.deadline, now)
                if State(row.status) in RUNNING
                else row.deadline.astimezone(tz).strftime("%m-%d %H:%M")
            )
            return f"{mark} {left}".strip()
        if column == "taken":
            if not row.holder:
                return ""
            return tr("me") if row.holder == self.me else row.holder
        return ""

    def _icon(self, row: Row, column: str, now: datetime) -> QIcon | None:
        """The mark beside a cell's text: urgent, overdue, near the deadline (always with words too)."""
        if column == "priority" and row.priority <= 1:
            return icon("urgent")
        if column == "deadline" and row.deadline is not None:
            state = urgency_of(row, now)
            if state in ("overdue", "near"):
                return icon(state)
        return None

    def _deadline_tip(self, row: Row, now: datetime) -> str:
        if row.deadline is None:
            return ""
        return tr("Deadline {when}", when=row.deadline.astimezone(self._tz).strftime("%Y-%m-%d %H:%M"))

    def tick(self) -> None:
        """Let the countdowns move: the deadline column of loaded rows changed."""
        if self._count:
            self.dataChanged.emit(
                self.index(0, DEADLINE_COLUMN),
                self.index(self._count - 1, DEADLINE_COLUMN),
                [Qt.ItemDataRole.DisplayRole],
            )
