"""Type-to-filter pickers: categories, units, reasons, merge targets, and the command palette.

One dialog serves them all: a line to type in, a list below, the first (suggested) item selected.
Typing filters by name, code, keyword and pinyin initials; Up/Down move; Enter accepts; Esc closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from workstation.assist.pinyin import matches
from workstation.i18n import tr

ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class PickItem:
    """One choice: what it returns, what it shows, and what typing can match."""

    key: Any
    label: str
    detail: str = ""
    fields: tuple[str, ...] = field(default_factory=tuple)
    suggested: bool = False


class PickModel(QAbstractListModel):
    """The filtered choices."""

    def __init__(self, items: Sequence[PickItem], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.items = list(items)
        self.shown = list(self.items)

    def set_query(self, query: str) -> None:
        """Filter and rank by the typed text (suggested items first when nothing is typed)."""
        self.beginResetModel()
        text = query.strip()
        if not text:
            self.shown = list(self.items)
        else:
            ranked = []
            for order, item in enumerate(self.items):
                rank = matches(text, item.label, *item.fields)
                if rank is not None:
                    ranked.append((rank, 0 if item.suggested else 1, order, item))
            ranked.sort(key=lambda r: r[:3])
            self.shown = [r[3] for r in ranked]
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: how many choices are shown."""
        return 0 if parent.isValid() else len(self.shown)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: the text of a choice."""
        if not index.isValid() or not 0 <= index.row() < len(self.shown):
            return None
        item = self.shown[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            star = "★ " if item.suggested else "   "
            return f"{star}{item.label}" + (f"    — {item.detail}" if item.detail else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.detail or None
        if role == Qt.ItemDataRole.UserRole:
            return item.key
        return None


class Picker(QDialog):
    """A modal, keyboard-only chooser. ``chosen`` holds the key accepted (or the typed text)."""

    def __init__(
        self,
        title: str,
        items: Sequence[PickItem],
        parent: QWidget | None = None,
        *,
        hint: str = "",
        free_text: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("picker")
        self.setModal(True)
        self.resize(640, 460)
        self.free_text = free_text
        self.chosen: Any = None
        self.typed = ""
        self.model = PickModel(items, self)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(hint or tr("Type to filter: name, code, keyword or pinyin initials"))
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.status = QLabel()
        self.status.setObjectName("pickerStatus")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(title))
        layout.addWidget(self.edit)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        self.edit.textChanged.connect(self._filter)
        self.edit.installEventFilter(self)
        self.list.doubleClicked.connect(lambda _: self._accept())
        self._filter("")

    def _filter(self, text: str) -> None:
        self.model.set_query(text)
        if self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(0, 0))
        shown = self.model.rowCount()
        self.status.setText(tr("{n} of {total} · Enter accepts · Esc closes", n=shown, total=len(self.model.items)))

    def current_key(self) -> Any:
        """The key of the highlighted choice."""
        index = self.list.currentIndex()
        return self.model.data(index, Qt.ItemDataRole.UserRole) if index.isValid() else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Arrow keys and Enter work while the text field has the focus."""
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                rows = self.model.rowCount()
                if rows:
                    step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 10, Qt.Key.Key_PageUp: -10}[
                        Qt.Key(key)
                    ]
                    row = max(0, min(rows - 1, self.list.currentIndex().row() + step))
                    self.list.setCurrentIndex(self.model.index(row, 0))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._accept()
                return True
        return super().eventFilter(watched, event)

    def _accept(self) -> None:
        self.typed = self.edit.text().strip()
        key = self.current_key()
        if key is None and not (self.free_text and self.typed):
            self.status.setText(tr("Nothing matches; change the text or press Esc."))
            return
        self.chosen = key if key is not None else self.typed
        self.accept()
