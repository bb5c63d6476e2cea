"""A keyboard table of plain rows with type-to-filter, shared by the outbox and quarantine views.

The table has the keyboard: Up/Down move, Enter opens the row, the pane's own letter keys act on it,
and any other character typed goes to the filter line above (Enter or Down there returns to the
table; Esc clears the filter). Rows are dicts with an ``id``; reloading keeps the selected row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from workstation.i18n import tr
from workstation.services.export_cells import SafeCsvWriter

ModelIndex = QModelIndex | QPersistentModelIndex
Row = dict[str, Any]


class RowsModel(QAbstractTableModel):
    """Rows of plain data in columns ``(key, title)``; ``set_query`` keeps those whose text matches."""

    def __init__(self, columns: Sequence[tuple[str, str]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[Row] = []
        self.shown: list[Row] = []
        self.query = ""

    # -- what a cell says (subclasses override) --------------------------------------------------

    def text(self, row: Row, key: str) -> str:
        """The text of one cell."""
        value = row.get(key)
        return "" if value is None else str(value)

    def colour(self, row: Row, key: str) -> QColor | None:
        """The text colour of one cell, if it has one (always paired with its text)."""
        return None

    def tooltip(self, row: Row, key: str) -> str | None:
        """The tooltip of one cell (long texts in full)."""
        text = self.text(row, key)
        return text if len(text) > 40 else None

    # -- rows and filter -------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Row]) -> None:
        """New rows (the filter stays)."""
        self.beginResetModel()
        self.rows = list(rows)
        self.shown = [r for r in self.rows if self._matches(r)]
        self.endResetModel()

    def set_query(self, query: str) -> None:
        """Keep the rows whose cells contain every typed word (any case)."""
        self.beginResetModel()
        self.query = query.strip().lower()
        self.shown = [r for r in self.rows if self._matches(r)]
        self.endResetModel()

    def _matches(self, row: Row) -> bool:
        if not self.query:
            return True
        haystack = " ".join(self.text(row, key) for key, _ in self.columns).lower()
        haystack += " " + " ".join(str(v) for v in row.values() if isinstance(v, str | int)).lower()
        return all(word in haystack for word in self.query.split())

    def row_at(self, row: int) -> Row | None:
        """The row shown at a position."""
        return self.shown[row] if 0 <= row < len(self.shown) else None

    def position_of(self, row_id: Any) -> int | None:
        """Where the row of that id is shown."""
        return next((i for i, r in enumerate(self.shown) if r.get("id") == row_id), None)

    # -- Qt --------------------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: how many rows are shown."""
        return 0 if parent.isValid() else len(self.shown)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: how many columns."""
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: a cell's text, colour, tooltip; UserRole gives the row's id."""
        if not index.isValid() or not 0 <= index.row() < len(self.shown) or not 0 <= index.column() < len(self.columns):
            return None
        row, key = self.shown[index.row()], self.columns[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, key)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.colour(row, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, key)
        if role == Qt.ItemDataRole.UserRole:
            return row.get("id")
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: the column titles."""
        horizontal = orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
        if horizontal and 0 <= section < len(self.columns):
            return tr(self.columns[section][1])
        return None


class EmptyTableView(QTableView):
    """A table that says so in its middle when it has no rows (an empty list never shows nothing).

    The sentence is a label over the viewport, shown whenever the model has no rows (after a reset,
    a filter, an insertion or a removal).

    Rows added or removed wholly below the last row painted (a live change far down a long queue)
    move the scroll bar but do not repaint the rows in view: Qt lays the whole view out again and
    repaints every visible cell after any change of the row count, which would ask the model for a
    screen of cells for nothing. Any other change (a reset, a layout change, rows in or above the
    view, a view with room below its last row) is laid out and painted as Qt does.
    """

    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows_below_only = False  # the pending layout is for rows below the painted ones only
        self._full_layout = True  # something else asked for a layout: do Qt's own
        self.empty_label = QLabel(empty_text, self.viewport())
        self.empty_label.setObjectName("emptyPlaceholder")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.empty_label.hide()

    def setModel(self, model: Any) -> None:
        """Qt: show the model, and follow its row count."""
        self._full_layout = True
        super().setModel(model)
        if model is not None:
            for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
                signal.connect(self._update_empty)
            for signal in (model.modelReset, model.layoutChanged, model.columnsInserted, model.columnsRemoved):
                signal.connect(self._needs_full_layout)
            model.rowsMoved.connect(self._needs_full_layout)
        self._update_empty()

    def _needs_full_layout(self, *_: Any) -> None:
        self._full_layout = True

    def _note_rows(self, parent: QModelIndex | QPersistentModelIndex, first: int) -> None:
        bottom = self.rowAt(self.viewport().height() - 1)  # -1: the view has room below its last row
        if parent.isValid() or bottom < 0 or first <= bottom or not self.isVisible():
            self._full_layout = True
        else:
            self._rows_below_only = True

    def rowsInserted(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        """Qt: rows came; note whether they are all below the rows painted."""
        self._note_rows(parent, first)
        super().rowsInserted(parent, first, last)

    def rowsAboutToBeRemoved(self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int) -> None:
        """Qt: rows go; note whether they are all below the rows painted."""
        self._note_rows(parent, first)
        super().rowsAboutToBeRemoved(parent, first, last)

    def doItemsLayout(self) -> None:
        """Qt: lay out again; for rows below the painted ones only, just the scroll bar (no repaint)."""
        if self._rows_below_only and not self._full_layout:
            self._rows_below_only = False
            self.updateGeometries()
            header = self.verticalHeader()
            if not header.updatesEnabled():  # Qt turns them off while rows are removed
                header.setUpdatesEnabled(True)
            return
        self._rows_below_only = self._full_layout = False
        super().doItemsLayout()

    def reset(self) -> None:
        """Qt: the model was reset."""
        self._full_layout = True
        super().reset()

    def set_empty_text(self, text: str) -> None:
        """The sentence shown when there are no rows."""
        self.empty_label.setText(text)

    def _update_empty(self, *_: Any) -> None:
        model = self.model()
        self.empty_label.setVisible(model is not None and model.rowCount() == 0)
        self.empty_label.setGeometry(self.viewport().rect())

    def resizeEvent(self, event: Any) -> None:
        """Qt: keep the sentence in the middle."""
        super().resizeEvent(event)
        self.empty_label.setGeometry(self.viewport().rect())


class TablePane(QWidget):
    """A filter line, a table and a line of key hints; ``activated`` is Enter (or a double click) on a row."""

    activated = Signal()

    def __init__(
        self,
        model: RowsModel,
        hint: str,
        keys: Mapping[Qt.Key, Callable[[], None]] | None = None,
        widths: Sequence[int] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.keys = dict(keys or {})
        self.filter = QLineEdit()
        self.filter.setObjectName("tableFilter")
        self.filter.setPlaceholderText(tr("Type to filter…"))
        self.filter.setClearButtonEnabled(True)
        self.table = EmptyTableView(tr("Nothing here."))
        self.table.setObjectName("intakeTable")
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(widths):
            self.table.setColumnWidth(column, width)
        self.hint = QLabel(hint)
        self.hint.setObjectName("keyHint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)
        self.filter.textChanged.connect(self._filter)
        self.filter.installEventFilter(self)
        self.table.installEventFilter(self)
        self.table.doubleClicked.connect(lambda _: self.activated.emit())
        self.setFocusProxy(self.table)

    def current(self) -> Row | None:
        """The selected row."""
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def select(self, position: int) -> None:
        """Select a row by position (clamped)."""
        count = self.model.rowCount()
        if count == 0:
            return
        index = self.model.index(max(0, min(position, count - 1)), 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show new rows, keeping the selected one (or the position it had)."""
        rows = list(rows)
        if rows == self.model.rows:
            if self.current() is None:
                self.select(0)
            return  # nothing changed: leave the table alone
        current = self.current()
        position = max(self.table.currentIndex().row(), 0)
        self.model.set_rows(rows)
        found = self.model.position_of(current.get("id")) if current else None
        self.select(found if found is not None else position)

    def _filter(self, text: str) -> None:
        self.model.set_query(text)
        self.select(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys on the table act or go to the filter; keys on the filter return to the table."""
        if event.type() != QEvent.Type.KeyPress:
            return super().eventFilter(watched, event)
        assert isinstance(event, QKeyEvent)
        key, mods = event.key(), event.modifiers()
        plain = not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        if watched is self.table:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
                if self.current() is not None:
                    self.activated.emit()
                return True
            action = self.keys.get(Qt.Key(key)) if plain else None
            if action is not None:
                action()
                return True
            text = event.text()
            if plain and text and text.isprintable() and not text.isspace():
                self.filter.setFocus()
                self.filter.insert(text)
                return True
            if key == Qt.Key.Key_Backspace and self.filter.text():
                self.filter.setFocus()
                self.filter.backspace()
                return True
        elif watched is self.filter:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Down, Qt.Key.Key_PageDown):
                self.table.setFocus()
                if key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) and self.table.currentIndex().row() < 0:
                    self.select(0)
                return True
            if key == Qt.Key.Key_Escape and self.filter.text():
                self.filter.clear()
                self.table.setFocus()
                return True
        return super().eventFilter(watched, event)


def local_time(value: datetime | str | None, tz: tzinfo | None, fmt: str | None = None) -> str:
    """A stored time (aware datetime or ISO text) in the seat's time zone; empty for none.

    Without a format: ``10:42`` today, ``06-04 10:42`` on another day.
    """
    if value is None or value == "":
        return ""
    when = (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(tz)
    if fmt is None:
        fmt = "%H:%M" if when.date() == datetime.now(UTC).astimezone(tz).date() else "%m-%d %H:%M"
    return when.strftime(fmt)


def say(label: QLabel, text: str, error: bool = False) -> None:
    """A message line in a dialog, red when it is an error."""
    label.setText(text)
    label.setProperty("error", error)
    label.style().unpolish(label)
    label.style().polish(label)


def export_csv(model: RowsModel, path: str) -> int:
    """Write the rows shown (filter applied), as they read on screen, to a CSV file Excel opens; returns the count.

    Cells go through the export rule (:mod:`workstation.services.export_cells`): a name that came from
    another system (a service of a peer's Open311 server, say) never runs as a formula.
    """
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = SafeCsvWriter(out)
        writer.writerow([tr(title) for _, title in model.columns])
        for row in model.shown:
            writer.writerow([model.text(row, key) for key, _ in model.columns])
    return len(model.shown)
