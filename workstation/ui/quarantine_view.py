"""The quarantine in the window: items that could not be imported, and the service codes with no category.

``Ctrl+Shift+Q`` opens it. The first tab lists the open items (source, the report's own time, first
seen, times seen, reason): Enter shows the original payload, editable, with the reason; Ctrl+Enter
reprocesses it (through the source's own parser and the same import path as polling); Del discards it
with a reason. The second tab lists each source's service codes, those with no category first: Enter
picks the category the code stands for, so the next reports of that code arrive categorised (what is
already in the queue stays uncategorised, with the source's own service name, for an operator to file).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QTabWidget, QVBoxLayout
from sqlalchemy import func, select

from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.intake import mappings, quarantine
from workstation.intake.quarantine import Reprocessed, report_time_text
from workstation.intake.settings import Settings
from workstation.models import Case, Category
from workstation.services.errors import WorkstationError
from workstation.storage.db import Database
from workstation.ui.pickers import Picker, PickItem
from workstation.ui.table_pane import Row, RowsModel, TablePane, local_time, say

if TYPE_CHECKING:
    from workstation.ui.intake_runner import IntakeRunner
    from workstation.ui.main_window import MainWindow

ITEM_COLUMNS = [
    ("source", N_("Source")),
    ("external_id", N_("Id at the source")),
    ("reported_at", N_("Reported")),
    ("received_at", N_("First seen")),
    ("times_seen", N_("Times seen")),
    ("reason", N_("Reason")),
]
MAPPING_COLUMNS = [
    ("source", N_("Source")),
    ("service_code", N_("Service code")),
    ("service_name", N_("Service name")),
    ("waiting", N_("Uncategorised cases")),
    ("category", N_("Category")),
]
DISCARD_REASONS = [
    N_("Test or junk data"),
    N_("Duplicate of a report already in the queue"),
    N_("Not a matter for this district"),
    N_("Cannot be repaired here: the source will send it again, corrected"),
]
UNMAPPED = "#8a5a00"


class ItemModel(RowsModel):
    """Open quarantined items."""

    def __init__(self, tz: tzinfo | None, parent: QObject | None = None) -> None:
        super().__init__(ITEM_COLUMNS, parent)
        self.tz = tz

    def text(self, row: Row, key: str) -> str:
        """The text of one cell."""
        if key == "reported_at":  # the report's own time, as the item says it (even one that kept it out)
            return report_time_text(row, self.tz)
        if key == "received_at":
            return local_time(row["received_at"], self.tz)
        if key == "external_id" and not row["external_id"]:
            return tr("(a whole page)") if row["kind"] == "page" else "—"
        if key == "reason":
            return str(row["reason"]).replace("\n", " ")
        return super().text(row, key)


class MappingModel(RowsModel):
    """Each source's service codes and their categories, those with none first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(MAPPING_COLUMNS, parent)

    def text(self, row: Row, key: str) -> str:
        """The text of one cell."""
        if key == "category":
            if row["category_code"] is None:
                return tr("none: reports arrive uncategorised")
            return f"{row['category_code']} {row['category_name'] or ''}".strip()
        if key == "waiting":
            return "" if row["waiting"] is None else str(row["waiting"])
        return super().text(row, key)

    def colour(self, row: Row, key: str) -> QColor | None:
        """Unmapped codes stand out."""
        return QColor(UNMAPPED) if key == "category" and row["category_code"] is None else None


def mapping_rows(db: Database) -> list[Row]:
    """Every service code with its category; unmapped codes count the uncategorised cases they left waiting."""
    rows = mappings.list_mappings(db)
    with db.read() as s:
        names = dict(s.execute(select(Category.code, Category.name)).all())
        for row in rows:
            row["id"] = f"{row['source']}\x1f{row['service_code']}"
            row["category_name"] = names.get(row["category_code"]) if row["category_code"] else None
            row["waiting"] = None
            if row["category_code"] is None:
                row["waiting"] = int(
                    s.scalar(
                        select(func.count())
                        .select_from(Case)
                        .where(
                            Case.channel == "OPEN311",
                            Case.category_code.is_(None),
                            Case.status == "reported",
                            Case.source_service == (row["service_name"] or row["service_code"])[:100],
                            Case.external_id.startswith(f"{row['source']}:", autoescape=True),
                        )
                    )
                    or 0
                )
    rows.sort(key=lambda r: (r["category_code"] is not None, r["source"], r["service_code"]))
    return rows


class ItemView(QDialog):
    """One quarantined item: the reason and the original payload, editable; Ctrl+Enter reprocesses it."""

    def __init__(self, owner: QuarantineDialog, item: dict[str, Any], tz: tzinfo | None) -> None:
        super().__init__(owner)
        self.owner = owner
        self.item_id = int(item["id"])
        self.setObjectName("quarantineItem")
        self.setWindowTitle(tr("Quarantined item {id}", id=self.item_id))
        self.resize(820, 600)
        head = QLabel(
            tr(
                "From {source} ({kind}) · {key} · first received {when} · seen {n} time(s)",
                source=item["source"],
                kind=item["source_kind"],
                key=item["external_id"] or (tr("(a whole page)") if item["kind"] == "page" else "—"),
                when=local_time(item["received_at"], tz, "%Y-%m-%d %H:%M"),
                n=item["times_seen"],
            )
        )
        self.reason = QLabel(tr("Why it was not imported: {reason}", reason=item["reason"]))
        self.reason.setObjectName("formError")
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.payload = QPlainTextEdit()
        self.payload.setObjectName("payload")
        self.payload.setFont(QFont("monospace"))
        self.payload.setPlainText(item["payload"])
        self.original = self.payload.toPlainText()  # as the editor gives it back (line ends normalised)
        self.payload.installEventFilter(self)
        hint = QLabel(tr("Edit the payload if needed · Ctrl+Enter: reprocess it · Esc: close, nothing changes"))
        hint.setObjectName("keyHint")
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.reason)
        layout.addWidget(self.payload, 1)
        layout.addWidget(hint)
        self.payload.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+Enter in the payload reprocesses."""
        if watched is self.payload and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.reprocess()
                return True
        return super().eventFilter(watched, event)

    def reprocess(self) -> None:
        """Import the item again, from the edited payload if it was changed."""
        text = self.payload.toPlainText()
        result = self.owner.reprocess(self.item_id, text if text != self.original else None)
        if result is not None and result.ok:
            self.accept()
        elif result is not None:
            self.reason.setText(tr("Still not importable: {reason}", reason=result.reason))


class QuarantineDialog(QDialog):
    """Quarantined items and service mappings, in two tabs."""

    def __init__(self, window: MainWindow, runner: IntakeRunner, settings: Settings | None, tz: tzinfo | None) -> None:
        super().__init__(window)
        self.w, self.settings, self.tz = window, settings, tz
        self.setObjectName("quarantineDialog")
        self.setWindowTitle(tr("Quarantine"))
        self.resize(1100, 600)
        self.items = TablePane(
            ItemModel(tz, self),
            tr("Enter: show the payload and the reason · Del: discard with a reason · type to filter · Esc: close"),
            {Qt.Key.Key_Delete: self.discard},
            [110, 150, 170, 100, 80],
        )
        self.items.activated.connect(self.open_item)
        self.maps = TablePane(
            MappingModel(self),
            tr("Enter: choose the category this service code stands for · type to filter · Esc: close"),
            widths=[110, 110, 200, 150],
        )
        self.maps.activated.connect(self.map_service)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.items, "")
        self.tabs.addTab(self.maps, "")
        self.tabs.currentChanged.connect(lambda _: self.current_pane().table.setFocus())
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.view: ItemView | None = None
        heading = QLabel(tr("Quarantine — incoming items that could not be imported, and unmapped service codes"))
        heading.setObjectName("dialogHeading")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        runner.updated.connect(self.reload)
        self.reload(force=True)
        self.items.select(0)
        self.maps.select(0)
        self.items.table.setFocus()

    def current_pane(self) -> TablePane:
        """The pane of the tab in view."""
        return self.maps if self.tabs.currentIndex() == 1 else self.items

    def reload(self, force: bool = False) -> None:
        """Read the quarantine and the mappings again."""
        if not force and not self.isVisible():
            return
        items = quarantine.list_items(self.w.db, "open")
        maps = mapping_rows(self.w.db)
        self.items.set_rows(items)
        self.maps.set_rows(maps)
        self.tabs.setTabText(0, tr("&Items ({n})", n=len(items)))
        unmapped = sum(1 for m in maps if m["category_code"] is None)
        self.tabs.setTabText(1, tr("&Service mappings ({n} unmapped)", n=unmapped))

    def _back(self, pane: TablePane) -> None:
        self.activateWindow()
        pane.table.setFocus()

    # -- items -----------------------------------------------------------------------------------

    def open_item(self) -> None:
        """Enter: the item's payload and reason."""
        row = self.items.current()
        if row is None:
            return
        try:
            item = quarantine.get_item(self.w.db, row["id"])
        except WorkstationError as exc:
            say(self.message, exc.message, error=True)
            return
        self.view = ItemView(self, item, self.tz)
        self.view.finished.connect(lambda _: self._back(self.items))
        self.view.open()

    def reprocess(self, item_id: int, payload: str | None) -> Reprocessed | None:
        """Import an item again (edited payload or the kept one); says what happened."""
        try:
            result = quarantine.reprocess(self.w.db, self.w.actor, item_id, payload, self.settings)
        except WorkstationError as exc:
            say(self.message, exc.message, error=True)
            return None
        if not result.ok:
            say(self.message, tr("Item {id} is still not importable: {reason}", id=item_id, reason=result.reason), True)
        elif result.case_ids:
            text = tr(
                "Item {id} reprocessed: case #{cases}.",
                id=item_id,
                cases=", #".join(str(c) for c in result.case_ids),
            )
            if result.quarantined:
                text += " " + tr("{n} of its items are quarantined on their own.", n=len(result.quarantined))
            say(self.message, text)
        else:
            say(self.message, tr("Item {id} reprocessed.", id=item_id))
        self.reload(force=True)
        return result

    def discard(self) -> None:
        """Del: set the selected item aside, with a reason."""
        row = self.items.current()
        if row is None:
            return
        picker = Picker(
            tr("Discard item {id} — why?", id=row["id"]),
            [PickItem(tr(r), tr(r)) for r in DISCARD_REASONS],
            self,
            hint=tr("Choose a reason or type your own"),
            free_text=True,
        )
        self.w.current_picker = picker
        try:
            note = picker.chosen if picker.exec() else None
        finally:
            self.w.current_picker = None
            self._back(self.items)
        if not note:
            return
        try:
            quarantine.discard(self.w.db, self.w.actor, row["id"], str(note))
        except WorkstationError as exc:
            say(self.message, exc.message, error=True)
            return
        say(self.message, tr("Item {id} discarded: {reason}", id=row["id"], reason=note))
        self.reload(force=True)

    # -- service mappings ------------------------------------------------------------------------

    def map_service(self) -> None:
        """Enter: pick the category a source's service code stands for."""
        row = self.maps.current()
        if row is None:
            return
        name = row["service_name"] or row["service_code"]
        items = self.w.triage.category_items({"text": name, "grid": None})
        picker = Picker(
            tr(
                "{source}: service {code} ({name}) stands for…",
                source=row["source"],
                code=row["service_code"],
                name=name,
            ),
            items,
            self,
        )
        self.w.current_picker = picker
        try:
            code = picker.chosen if picker.exec() else None
        finally:
            self.w.current_picker = None
            self._back(self.maps)
        if code is None:
            return
        try:
            mappings.set_mapping(self.w.db, self.w.actor, row["source"], row["service_code"], str(code))
        except WorkstationError as exc:
            say(self.message, exc.message, error=True)
            return
        say(
            self.message,
            tr(
                "{source} service {code} now maps to {category}: its next reports arrive categorised.",
                source=row["source"],
                code=row["service_code"],
                category=code,
            ),
        )
        self.reload(force=True)
