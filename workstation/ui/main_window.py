"""The seat operator's main window: queues on the left, the selected case on the right.

The window arranges widgets and keeps them in step; the actions live in ``triage``, the live feed,
leases and idle lock in ``live``, and the commands, menus and keys come from the command registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select

from workstation.commands.keymap import Keymap
from workstation.domain.lifecycle import Role
from workstation.i18n import role_label, tr
from workstation.models import SavedFilter
from workstation.services import photos
from workstation.services import queue as q
from workstation.services.actors import Actor
from workstation.services.errors import NotFoundError
from workstation.services.export_cells import SafeCsvWriter
from workstation.services.queries import get_case
from workstation.storage.db import Database
from workstation.ui.actions import build_actions
from workstation.ui.case_panel import CasePanel
from workstation.ui.layout import restore_layout, save_layout
from workstation.ui.lead_actions import LeadActions
from workstation.ui.live import Live
from workstation.ui.photo_view import PhotoViewer
from workstation.ui.pickers import PickItem
from workstation.ui.queue_model import COLUMNS, TEXT_COLUMN, QueueModel
from workstation.ui.seat_window import SeatWindow
from workstation.ui.table_pane import EmptyTableView
from workstation.ui.triage import Triage
from workstation.ui.unit_answers import UnitAnswers


class Extension(Protocol):
    """A part of the window added by a module (integration, training): its commands' scope and handlers."""

    scope: str

    def install(self, window: MainWindow) -> dict[str, Callable[[], None]]:
        """Add widgets to the window if needed; return the handlers of this scope's commands."""
        ...


class MainWindow(SeatWindow):
    """The workstation window for one signed-in operator."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        keymap: Keymap,
        settings: QSettings,
        *,
        seat: str = "",
        demo: bool = False,
        extensions: Sequence[Extension] = (),
    ) -> None:
        super().__init__()
        self.db, self.actor, self.keymap, self.settings = db, actor, keymap, settings
        self.seat = seat or f"{actor.name}@seat"
        self.demo = demo
        self.extensions = list(extensions)
        # 督办, 挂账, extensions…: a shift lead's, and a trainer's while teaching (the services refuse a
        # trainer outside demo mode, so the window does not offer them there)
        leading = actor.role == Role.LEAD or (actor.role == Role.TRAINER and demo)
        leads = {"lead", "supervise"} if leading else set()
        self.scopes = {"desk"} | leads | {ext.scope for ext in self.extensions}
        self.current_picker = None
        self.photo_viewer: PhotoViewer | None = None
        self.keystrokes: dict[int, int] = {}
        self.supervision: Any = None  # the supervision window, once opened (view.supervision)
        self.setObjectName("mainWindow")
        self.setWindowTitle(self._title())
        self.filter = q.QueueFilter(queue="new", actor=actor.name)
        self.model = QueueModel(db, self.filter, self)
        self.acting_on: int | None = None  # the case a flow (file, then dispatch) works on, wherever it went
        self.triage = Triage(self)
        self.lead = LeadActions(self)  # kept: Qt holds only weak references to the handlers' objects
        self.unit_answers = UnitAnswers(self)
        self._build()
        handlers = self._handlers()
        for ext in self.extensions:
            handlers.update(ext.install(self))
        self.actions_by_id = build_actions(self, keymap, handlers, mode="queue", scopes=self.scopes)
        self.live = Live(self)
        self.table.verticalScrollBar().valueChanged.connect(lambda _value: self.live.publish())
        self._restore()
        self.select_row(0)
        self.update_counts()

    # -- layout --------------------------------------------------------------------------------------

    def _title(self) -> str:
        demo = tr("DEMO — training data") + " · " if self.demo else ""
        return tr(
            "{demo}Grid-governance workstation — {user} ({role})",
            demo=demo,
            user=self.actor.display_name or self.actor.name,
            role=role_label(self.actor.role),
        )

    def _build(self) -> None:
        self.queues = QListWidget()
        self.queues.setObjectName("queueList")
        for key, title in q.QUEUES.items():
            item = QListWidgetItem(tr(title))
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.queues.addItem(item)
        self.queues.setCurrentRow(0)
        self.queues.setMaximumWidth(200)
        # A click chooses a queue; the keyboard stays with the list of cases (j, k, f, v work on).
        self.queues.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.queues.clicked.connect(lambda _index: self.table.setFocus())
        self.queues.currentItemChanged.connect(self._queue_chosen)

        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(tr("/ to search: text, address, grid, case or phone number"))
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._search_done)
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self._search_timer: QTimer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self._apply_search)

        self.table = EmptyTableView(tr("No cases in this queue."))
        self.table.setObjectName("queueTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._fit_columns()
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.panel = CasePanel(db=self.db)
        self.panel.strip.opened.connect(self.open_photos)  # a click on a thumbnail
        self.panel.me = self.actor.name

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table)
        self.work_area: QSplitter = QSplitter(Qt.Orientation.Horizontal)
        self.work_area.setObjectName("workArea")
        self.work_area.addWidget(left)
        self.work_area.addWidget(self.panel)
        self.work_area.setStretchFactor(0, 3)
        self.work_area.setStretchFactor(1, 2)

        central = self.central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.queues)
        right = QVBoxLayout()
        if self.demo:
            banner = QLabel(tr("DEMO — training world, nothing here is real"))
            banner.setObjectName("demoBanner")
            banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            right.addWidget(banner)
        right.addWidget(self.search)
        right.addWidget(self.work_area, 1)
        outer.addLayout(right, 1)
        self.setCentralWidget(central)

        self.user_label = QLabel(f"{self.actor.display_name or self.actor.name} · {role_label(self.actor.role)}")
        self.counts_label = QLabel()
        self.counts_label.setObjectName("counts")
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connection")
        self.message = QLabel()
        self.message.setObjectName("message")
        bar = self.statusBar()
        bar.addWidget(self.user_label)
        bar.addWidget(self.message, 1)
        bar.addPermanentWidget(self.counts_label)
        bar.addPermanentWidget(self.connection_label)
        self.add_audit_mark(bar)
        self.table.setFocus()

    def _fit_columns(self) -> None:
        """Every column as wide as what it shows; the report text takes the rest and is elided, never the deadline."""
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        for column in range(len(COLUMNS)):
            mode = QHeaderView.ResizeMode.Stretch if column == TEXT_COLUMN else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(column, mode)

    def _handlers(self) -> dict[str, Any]:
        t = self.triage
        return {
            "case.file": t.file,
            "case.dispatch": lambda: t.dispatch(),
            "case.add_unit": t.add_unit,
            "case.reject": t.reject,
            "case.merge": t.merge,
            "case.verify": t.verify,
            "case.close": t.close,
            "case.rework": t.rework,
            "case.undo": t.undo,
            "case.photos": lambda: self.open_photos(),
            **self.lead.handlers(),
            **self.unit_answers.handlers(),
            "queue.next": lambda: self.move_selection(1),
            "queue.previous": lambda: self.move_selection(-1),
            "queue.search": self.focus_search,
            **{f"queue.{k}": (lambda _checked=False, k=k: self.show_queue(k)) for k in q.QUEUES},
            "queue.save_filter": self.save_filter,
            "queue.saved_filters": self.open_saved_filter,
            "queue.export": self.export,
            "queue.hotspots": t.hotspots,
            "queue.refresh": lambda: self.refresh(keep=self.current_id()),
            "view.palette": self.open_palette,
            "view.focus_queue": self.table.setFocus,
            "view.focus_case": self.panel.body.setFocus,
            "view.supervision": self.open_supervision,
            "help.cheatsheet": self.cheatsheet,
            "help.about": self.about,
            "session.lock": lambda: self.live.lock(),
            "session.sign_out": self.sign_out,
            "session.quit": self.close,
        }

    # -- selection and queues ------------------------------------------------------------------------

    def current_id(self) -> int | None:
        """The id of the selected case."""
        index = self.table.currentIndex()
        return self.model.id_at(index.row()) if index.isValid() else None

    def current_case(self) -> dict[str, Any] | None:
        """The selected case, read fresh."""
        case_id = self.current_id()
        if case_id is None:
            return None
        try:
            return get_case(self.db, case_id)
        except NotFoundError:
            return None

    def select_row(self, row: int) -> None:
        """Select a row (clamped to the queue)."""
        count = self.model.rowCount()
        if count == 0:
            if self.acting_on is None:
                self.panel.show_case(None)
                self.live.hold(None)
            return
        row = max(0, min(row, count - 1))
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def follow(self, row: int) -> None:
        """Move the selection to the row its case moved to (a change elsewhere), without reopening it."""
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        try:
            index = self.model.index(row, 0)
            selection.setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
        finally:
            selection.blockSignals(False)
        self.table.viewport().update()

    def move_selection(self, step: int) -> None:
        """Select the next or previous case."""
        self.select_row(max(self.table.currentIndex().row(), 0) + step)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        case_id = self.model.id_at(current.row()) if current.isValid() else None
        self.live.hold(self.acting_on if self.acting_on is not None else case_id)
        self.show_current()
        self.live.publish()

    def show_current(self) -> None:
        """Show the selected case in the panel (or the case a flow is acting on, see :meth:`acting`)."""
        if self.acting_on is not None:
            try:
                case: dict[str, Any] | None = get_case(self.db, self.acting_on)
            except NotFoundError:
                case = None
        else:
            case = self.current_case()
        self.panel.show_case(case, self.live.holder_of(case["id"]) if case else None)

    @contextmanager
    def acting(self, case_id: int) -> Iterator[None]:
        """Keep a case in the panel and held while a flow acts on it (filed, then dispatched).

        The case may leave the queue in view meanwhile; whatever row the selection moves to, the panel
        shows this case and the seat holds it until the flow ends.
        """
        self.acting_on = case_id
        self.live.hold(case_id)
        self.show_current()
        try:
            yield
        finally:
            self.acting_on = None
            self.live.hold(self.current_id())
            self.show_current()
            self.live.publish()

    def show_queue(self, key: str) -> None:
        """Switch to a queue."""
        for row in range(self.queues.count()):
            if self.queues.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.queues.setCurrentRow(row)
        if self.filter.queue == key and (self.filter.when or self.filter.unit or self.filter.states):
            self.apply_filter(self.filter.with_(unit=None, when=None, states=(), title=""))  # a drill-down ends
        self.table.setFocus()

    def _queue_chosen(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is None:
            return
        queue = item.data(Qt.ItemDataRole.UserRole)  # a queue of its own: a drill-down's narrowing ends
        self.apply_filter(self.filter.with_(queue=queue, unit=None, when=None, states=(), title=""))

    def apply_filter(self, flt: q.QueueFilter) -> None:
        """Show a queue with a filter; the first row is selected."""
        self.filter = flt
        self.model.reload(flt)
        self.select_row(0)
        self.update_counts()
        self.live.publish()

    def refresh(self, keep: int | None = None, advance: bool = False, select: int | None = None) -> None:
        """Read the queue again; keep the selected case, or move on to the one that took its place."""
        row = self.table.currentIndex().row()
        self.model.reload()
        target = select if select is not None else keep
        found = self.model.row_of(target) if target is not None else None
        if found is None and target is not None:
            for r in range(max(row - 5, 0), min(row + 50, self.model.rowCount())):
                if self.model.id_at(r) == target:
                    found = r
                    break
        if found is not None and advance:
            self.select_row(found + 1)
        elif found is not None:
            self.select_row(found)
        else:
            self.select_row(max(row, 0))
        self.update_counts()

    def update_counts(self, counts: dict[str, int] | None = None) -> None:
        """Counts on each queue and in the status bar (as given by the live thread, else read: kept, O(1))."""
        if counts is None:
            with self.db.read() as s:
                counts = q.counts(s, self.actor.name)
        for row in range(self.queues.count()):
            item = self.queues.item(row)
            key = item.data(Qt.ItemDataRole.UserRole)
            item.setText(f"{tr(q.QUEUES[key])}  ({counts.get(key, 0)})")
        self.counts_label.setText(
            tr(
                "new {new} · returned {returned} · to verify {verify} · overdue {overdue}",
                **{k: counts[k] for k in ("new", "returned", "verify", "overdue")},
            )
        )

    def open_supervision(self) -> None:
        """Open the supervision window; its numbers drill down into this window's queue view."""
        from workstation.ui.supervision.opening import open_supervision

        open_supervision(self)

    def open_photos(self, start: int = 0) -> None:
        """``p``: the selected case's photos at full size, from the ``start``-th (arrows move, Escape closes)."""
        case_id = self.current_id()
        if case_id is None:
            self.notify(tr("No case selected."), error=True)
            return
        views = photos.case_photos(self.db, case_id)
        if not views:
            self.notify(tr("Case {id} has no photos.", id=case_id), error=True)
            return
        viewer = PhotoViewer(case_id, views, self.panel.cache, start, self)
        self.photo_viewer = viewer

        def closed(_result: int) -> None:
            self.photo_viewer = None
            viewer.deleteLater()
            self.restore_focus()

        viewer.finished.connect(closed)
        viewer.open()

    # -- search, filters, export ---------------------------------------------------------------------

    def focus_search(self) -> None:
        """``/``: type to search the current queue; Enter goes back to the list."""
        self.search.setFocus()
        self.search.selectAll()

    def _apply_search(self) -> None:
        if self.search.text().strip() != self.filter.search:
            self.apply_filter(self.filter.with_(search=self.search.text().strip()))

    def _search_done(self) -> None:
        self._search_timer.stop()
        self._apply_search()
        self.table.setFocus()

    def save_filter(self) -> None:
        """Save the current queue and search under a name."""
        name, ok = QInputDialog.getText(self, tr("Save filter"), tr("Name of this filter:"))
        if ok and name.strip():
            with self.db.write() as s:
                s.add(SavedFilter(owner=self.actor.name, name=name.strip(), query=self.filter.to_dict()))
            self.notify(tr("Filter {name} saved.", name=name.strip()))

    def open_saved_filter(self) -> None:
        """Pick one of my saved filters."""
        with self.db.read() as s:
            saved = s.scalars(
                select(SavedFilter).where(SavedFilter.owner == self.actor.name).order_by(SavedFilter.name)
            ).all()
            items = [PickItem(f.query, f.name, ", ".join(f"{k}={v}" for k, v in f.query.items())) for f in saved]
        if not items:
            self.notify(tr("No saved filters yet: Ctrl+S saves the current one."), error=True)
            return
        chosen = self.pick(tr("Saved filters"), items)
        if chosen:
            flt = q.QueueFilter(actor=self.actor.name, **chosen)
            self.search.blockSignals(True)
            self.search.setText(flt.search)
            self.search.blockSignals(False)
            self.show_queue(flt.queue)
            self.apply_filter(flt)

    def export(self, path: str | bool | None = None) -> str | None:
        """Write the current list (all its rows, not only those in view) to a CSV file."""
        if not isinstance(path, str):  # from the key or menu (a QAction sends ``checked``): ask where
            path, _ = QFileDialog.getSaveFileName(self, tr("Export the list"), "cases.csv", "CSV (*.csv)")
        if not path:
            return None
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            writer = SafeCsvWriter(out)
            writer.writerow([tr(title) for _, title in COLUMNS])
            for row in range(self.model.rowCount()):
                writer.writerow([self.model.index(row, c).data() for c in range(len(COLUMNS))])
        self.notify(tr("{n} rows exported to {path}.", n=self.model.rowCount(), path=path))
        return path

    # -- palette, cheat sheet, messages --------------------------------------------------------------

    def count_keystroke_case(self, case_id: int) -> None:
        """Remember that the seat acted on a case (for training scores)."""
        self.keystrokes[case_id] = self.keystrokes.get(case_id, 0) + 1

    def sign_out(self) -> None:
        """Give back held cases and close the window."""
        self.live.stop()
        self.close()

    # -- persistence ---------------------------------------------------------------------------------

    def _restore(self) -> None:
        restore_layout(self, self.settings, "window", self.work_area, self.table.horizontalHeader(), [960, 400])
        self._fit_columns()  # a layout saved by an older version must not bring back cut columns

    def save_layout(self) -> None:
        """Remember the window's layout and column widths."""
        save_layout(self, self.settings, "window", self.work_area, self.table.horizontalHeader())

    def closeEvent(self, event: Any) -> None:
        """Save the layout and give back held cases."""
        if getattr(self, "supervision", None) is not None:
            self.supervision.close()
        self.save_layout()
        self.live.stop()
        super().closeEvent(event)
