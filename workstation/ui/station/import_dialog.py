"""Importing a roster from Excel, keyboard only: the columns recognised, the rows that fail, then all or nothing.

The dialog shows each column of the header row with the field it was recognised as; Enter on a row
picks another field. Every change re-checks the whole file (a dry run) and lists each bad row with
its number and reason. ``Ctrl+Enter`` imports; with bad rows the import is refused unless
"import the good rows and skip the bad ones" (``Alt+S``) is ticked. ``Esc`` cancels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from openpyxl.utils import get_column_letter
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.services.actors import Actor
from workstation.services.care_import import (
    FIELDS,
    HEADER_SEARCH,
    ImportResult,
    detect_mapping,
    import_roster,
    read_rows,
)
from workstation.services.errors import ValidationError, WorkstationError
from workstation.storage.db import Database
from workstation.ui.pickers import Picker, PickItem

ModelIndex = QModelIndex | QPersistentModelIndex
COLUMNS: Final = (N_("Column"), N_("Header"), N_("Field"))
NONE: Final = "—"


def read_headers(path: Path) -> tuple[int, list[str]]:
    """The header row of a roster (as the import finds it) and its titles.

    Raises:
        ValidationError: the file is not a readable .xlsx workbook.
    """
    try:  # the same bounded, dimension-proof reading as the import (zip bombs, DTDs, stale dimensions)
        found = read_rows(path, max_rows=HEADER_SEARCH)
    except ValidationError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationError(
            tr("Cannot read {path} as an .xlsx workbook: {reason}", path=path, reason=exc), {"file": str(path)}
        ) from None
    rows = [(n, ["" if v is None else str(v).strip() for v in values]) for n, values in found]
    for number, values in rows:
        mapping = detect_mapping(values)
        if "name" in mapping.values() and len(mapping) >= 2:
            return number, values
    return (rows[0] if rows else (1, []))[0], (rows[0][1] if rows else [])


class MappingModel(QAbstractTableModel):
    """One row per column of the file: its letter, its title, and the field it is imported as."""

    def __init__(self, headers: list[str], mapping: dict[int, str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.headers = headers
        self.mapping = dict(mapping)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: the columns of the file."""
        return 0 if parent.isValid() else len(self.headers)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: letter, title, field."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: column titles."""
        horizontal = orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
        if horizontal and 0 <= section < len(COLUMNS):
            return tr(COLUMNS[section])
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: a cell."""
        if not index.isValid() or not 0 <= index.row() < len(self.headers) or not 0 <= index.column() < len(COLUMNS):
            return None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        row, column = index.row(), index.column()
        if column == 0:
            return get_column_letter(row + 1)
        if column == 1:
            return self.headers[row]
        field = self.mapping.get(row)
        return tr(FIELDS[field]) if field in FIELDS else NONE

    def set_field(self, row: int, field: str) -> None:
        """Import a column as a field (``""``: not imported); a field comes from one column only."""
        for other, name in list(self.mapping.items()):
            if field and name == field and other != row:
                del self.mapping[other]
        if field:
            self.mapping[row] = field
        else:
            self.mapping.pop(row, None)
        self.dataChanged.emit(self.index(0, 2), self.index(self.rowCount() - 1, 2))


class ImportDialog(QDialog):
    """Check a roster file, adjust the columns, then import it; ``outcome`` holds what was imported."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        path: Path,
        community: str,
        parent: QWidget | None = None,
        *,
        label: str = "",
    ) -> None:
        super().__init__(parent)
        self.db, self.actor, self.path, self.community = db, actor, path, community
        self.outcome: ImportResult | None = None
        self.checked: ImportResult | None = None
        header_row, headers = read_headers(path)
        self.setWindowTitle(tr("Import a roster from Excel"))
        self.setObjectName("importDialog")
        self.setModal(True)
        self.resize(720, 560)
        self.model = MappingModel(headers, detect_mapping(headers), self)
        self.table = QTableView()
        self.table.setObjectName("mappingTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.installEventFilter(self)
        self.problems = QPlainTextEdit()
        self.problems.setObjectName("importProblems")
        self.problems.setReadOnly(True)
        self.problems.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.skip = QCheckBox(tr("Import the good rows and skip the bad ones (Alt+S)"))
        self.skip.setObjectName("skipBad")
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        heading = QLabel(tr("Import {file} into {community}", file=path.name, community=label or community))
        heading.setObjectName("dialogHeading")
        where = QLabel(tr("Header row {n}; Enter on a column changes its field.", n=header_row))
        where.setWordWrap(True)
        hint = QLabel(tr("Enter changes the field · Ctrl+Enter imports · Alt+S skips bad rows · Esc cancels"))
        hint.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(where)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.problems, 1)
        layout.addWidget(self.skip)
        layout.addWidget(self.error)
        layout.addWidget(hint)
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(seq), self, self.submit)
        QShortcut(QKeySequence("Alt+S"), self, self.skip.toggle)
        if self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 0))
        self.table.setFocus()
        self.check()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter (without Ctrl) on a column picks its field."""
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            plain = not event.modifiers() & Qt.KeyboardModifier.ControlModifier
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
                self.change_field()
                return True
        return super().eventFilter(watched, event)

    def change_field(self) -> None:
        """A picker of the fields for the selected column; the file is checked again."""
        row = self.table.currentIndex().row()
        if row < 0:
            return
        current = self.model.mapping.get(row, "")
        items = [PickItem("", tr("(not imported)"), NONE, ("none", "skip"), suggested=not current)]
        items += [
            PickItem(key, tr(label), key, (key, label), suggested=key == current) for key, label in FIELDS.items()
        ]
        title = tr("Column {letter} “{header}” is…", letter=get_column_letter(row + 1), header=self.model.headers[row])
        picker = Picker(title, items, self)
        accepted = picker.exec()
        chosen = picker.chosen
        picker.deleteLater()
        self.activateWindow()
        self.table.setFocus()
        if accepted and chosen is not None:
            self.model.set_field(row, chosen)
            self.check()

    def check(self) -> None:
        """Check every row without writing; list the bad ones."""
        self.error.clear()
        try:
            self.checked = import_roster(
                self.db, self.actor, self.path, self.community, self.model.mapping, dry_run=True
            )
        except WorkstationError as exc:
            self.checked = None
            self.problems.setPlainText(exc.message)
            return
        result = self.checked
        lines = [tr("{good} of {rows} rows can be imported.", good=result.good, rows=result.rows)]
        lines += [b.message for b in result.bad]
        self.problems.setPlainText("\n".join(lines))

    def submit(self) -> None:
        """``Ctrl+Enter``: import all rows, or refuse and say why."""
        checked = self.checked
        if checked is None:
            self.error.setText(tr("Nothing can be imported until the columns are right: Enter on a column."))
            return
        if checked.bad and not self.skip.isChecked():
            self.error.setText(
                tr(
                    "{n} rows have problems; nothing was imported. Fix them in the file and import it again, "
                    "or tick “import the good rows and skip the bad ones” (Alt+S).",
                    n=len(checked.bad_rows),
                )
            )
            return
        if not checked.good:
            self.error.setText(tr("No row to import."))
            return
        try:
            self.outcome = import_roster(
                self.db,
                self.actor,
                self.path,
                self.community,
                self.model.mapping,
                skip_bad=self.skip.isChecked(),
            )
        except WorkstationError as exc:
            self.error.setText(exc.message)
            return
        self.accept()
