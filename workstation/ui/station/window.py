"""The station workspace: the care-visit worklist of one community on the left, the person's page beside it.

A mode of the same program, chosen by the user's role: station staff see their own community; shift
leads and administrators pick one. The window arranges the widgets and keeps them in step; the care
actions live in ``care_actions``, the refreshes in ``live``, commands and keys come from the registry.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from workstation.commands.keymap import Keymap
from workstation.domain.lifecycle import Role
from workstation.i18n import role_label, tr
from workstation.models import Community
from workstation.services import care_worklist
from workstation.services.actors import Actor
from workstation.services.errors import WorkstationError
from workstation.storage.db import Database
from workstation.ui.actions import build_actions
from workstation.ui.layout import restore_layout, save_layout
from workstation.ui.seat_window import SeatWindow
from workstation.ui.station.care_actions import CareActions
from workstation.ui.station.live import StationLive
from workstation.ui.station.look import STATION_STYLE
from workstation.ui.station.person_panel import PersonPanel
from workstation.ui.station.worklist_model import WorklistModel

MODE = "station"
SCOPES = frozenset({"station"})
COLUMN_WIDTHS = (104, 84, 220, 120, 80, 92, 76, 92)


class StationWindow(SeatWindow):
    """The care-visit workspace of one signed-in station worker (or a lead looking at a community)."""

    key_mode = MODE

    def __init__(
        self,
        db: Database,
        actor: Actor,
        keymap: Keymap,
        settings: QSettings,
        *,
        seat: str = "",
        demo: bool = False,
        community: str | None = None,
    ) -> None:
        super().__init__()
        self.db, self.actor, self.keymap, self.settings = db, actor, keymap, settings
        self.seat = seat or f"{actor.name}@seat"
        self.demo = demo
        self.scopes = set(SCOPES)
        self.current_picker: QDialog | None = None
        self.online = True
        self.community: str | None = None
        self.community_name = ""
        self.setObjectName("stationWindow")
        self.setStyleSheet(STATION_STYLE)
        self.model = WorklistModel(self)
        self.care = CareActions(self)
        self._build()
        handlers = self._handlers()
        self.actions_by_id = build_actions(self, keymap, handlers, self.work_area, mode=MODE, scopes=self.scopes)
        self.live = StationLive(self)
        self._restore()
        self._set_online(True)
        wanted = actor.community_code if actor.role == Role.STATION else community or self._remembered()
        self.set_community(wanted)
        if self.community is None:
            QTimer.singleShot(0, self._ask_community)

    # -- layout --------------------------------------------------------------------------------------

    def _title(self) -> str:
        demo = tr("DEMO — training data") + " · " if self.demo else ""
        return tr(
            "{demo}Care visits — {community} — {user} ({role})",
            demo=demo,
            community=self.community_name or tr("no community chosen"),
            user=self.actor.display_name or self.actor.name,
            role=role_label(self.actor.role),
        )

    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(tr("/ to filter: name, grid or visitor"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda text: self.apply_filter(search=text))
        self.search.returnPressed.connect(self.restore_focus)
        self.grid_filter = QComboBox()
        self.grid_filter.setObjectName("gridFilter")
        self.grid_filter.setMinimumWidth(160)
        self.grid_filter.currentIndexChanged.connect(lambda _: self.apply_filter(grid=self.grid_filter.currentData()))
        self.visitor_filter = QComboBox()
        self.visitor_filter.setObjectName("visitorFilter")
        self.visitor_filter.setMinimumWidth(120)
        self.visitor_filter.currentIndexChanged.connect(
            lambda _: self.apply_filter(visitor=self.visitor_filter.currentData())
        )
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(QLabel(tr("Grid")))
        filters.addWidget(self.grid_filter)
        filters.addWidget(QLabel(tr("Visitor")))
        filters.addWidget(self.visitor_filter)

        self.table = QTableView()
        self.table.setObjectName("worklistTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.panel = PersonPanel()
        self.work_area: QSplitter = QSplitter(Qt.Orientation.Horizontal)
        self.work_area.setObjectName("workArea")
        self.work_area.addWidget(self.table)
        self.work_area.addWidget(self.panel)
        self.work_area.setStretchFactor(0, 3)
        self.work_area.setStretchFactor(1, 2)

        central = self.central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 6)
        if self.demo:
            banner = QLabel(tr("DEMO — training world, nothing here is real"))
            banner.setObjectName("demoBanner")
            banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            outer.addWidget(banner)
        outer.addLayout(filters)
        outer.addWidget(self.work_area, 1)
        self.setCentralWidget(central)

        self.user_label = QLabel(f"{self.actor.display_name or self.actor.name} · {role_label(self.actor.role)}")
        self.user_label.setObjectName("user")
        self.community_label = QLabel()
        self.community_label.setObjectName("community")
        self.counts_label = QLabel()
        self.counts_label.setObjectName("counts")
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connection")
        self.message = QLabel()
        self.message.setObjectName("message")
        bar = self.statusBar()
        bar.addWidget(self.user_label)
        bar.addWidget(self.community_label)
        bar.addWidget(self.message, 1)
        bar.addPermanentWidget(self.counts_label)
        bar.addPermanentWidget(self.connection_label)
        self.add_audit_mark(bar)
        self.table.setFocus()

    def _handlers(self) -> dict[str, Any]:
        c = self.care
        return {
            "care.worklist": self.worklist,
            "care.next": lambda: self.move_selection(1),
            "care.previous": lambda: self.move_selection(-1),
            "care.search": self.focus_search,
            "care.record_visit": lambda: c.record_visit(),
            "care.raise_case": c.raise_case,
            "care.major_change": c.major_change,
            "care.reveal": c.reveal,
            "care.coverage": c.coverage,
            "care.export": lambda: c.export(),
            "care.import": lambda: c.import_roster(),
            "view.palette": self.open_palette,
            "help.cheatsheet": self.cheatsheet,
            "help.about": self.about,
            "session.lock": lambda: self.live.lock(),
            "session.sign_out": self.sign_out,
            "session.quit": self.close,
        }

    # -- community -----------------------------------------------------------------------------------

    def _remembered(self) -> str | None:
        value = self.settings.value("station/community")
        return str(value) if value else None

    def _ask_community(self) -> None:
        if self.community is None and self.isVisible() and self.actor.role != Role.STATION:
            self.care.choose_community()

    def set_community(self, code: str | None) -> None:
        """Show the worklist of a community (code or name); station staff only ever have their own."""
        name = ""
        if code:
            with self.db.read() as s:
                row = s.execute(
                    select(Community.code, Community.name).where((Community.code == code) | (Community.name == code))
                ).first()
            code, name = (row[0], row[1]) if row else (None, "")
        self.community, self.community_name = code, name
        if code and self.actor.role != Role.STATION:
            self.settings.setValue("station/community", code)
        self.setWindowTitle(self._title())
        if name:
            self.community_label.setText(name)
        elif self.actor.role == Role.STATION:
            self.community_label.setText(tr("{user} belongs to no community.", user=self.actor.name))
        else:
            self.community_label.setText(tr("no community: Ctrl+1 chooses one"))
        self.search.clear()
        self.refresh(page=True)
        self.select_row(0)

    def worklist(self) -> None:
        """``Ctrl+1``: back to the whole list (leads and administrators: choose the community)."""
        if self.actor.role != Role.STATION:
            self.care.choose_community()
            return
        self.search.clear()
        self.grid_filter.setCurrentIndex(0)
        self.visitor_filter.setCurrentIndex(0)
        self.select_row(0)
        self.restore_focus()

    # -- selection -----------------------------------------------------------------------------------

    def current_person(self) -> int | None:
        """The id of the selected person."""
        index = self.table.currentIndex()
        return self.model.person_at(index.row()) if index.isValid() else None

    def current_page(self) -> dict[str, Any] | None:
        """The selected person's page, read fresh (None when gone)."""
        person = self.current_person()
        if person is None:
            return None
        try:
            return care_worklist.person_page(self.db, self.actor, person)
        except WorkstationError as exc:
            self.notify(exc.message, error=True)
            return None

    def select_row(self, row: int) -> None:
        """Select a row (clamped to the list)."""
        count = self.model.rowCount()
        if count == 0:
            self.panel.show_person(None)
            return
        row = max(0, min(row, count - 1))
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def move_selection(self, step: int) -> None:
        """Select the next or previous person."""
        self.select_row(max(self.table.currentIndex().row(), 0) + step)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_current()

    def show_current(self, *, keep_scroll: bool = False) -> None:
        """Show the selected person's page."""
        self.panel.show_person(self.current_page(), keep_scroll=keep_scroll)

    # -- reading and filtering -----------------------------------------------------------------------

    def refresh(self, keep: int | None = None, *, page: bool = False) -> None:
        """Read the worklist again, keeping the selected person; ``page`` also re-reads their page."""
        if self.live.locked:
            return
        row = self.table.currentIndex().row()
        selected = self.current_person()
        before = self.model.record(selected)
        try:
            rows = care_worklist.worklist(self.db, self.actor, self.community) if self.community else []
        except SQLAlchemyError:
            self._set_online(False)
            return
        except WorkstationError as exc:
            self.notify(exc.message, error=True)
            rows = []
        self._set_online(True)
        self.model.set_rows(rows)
        self._fill_filters()
        target = keep if keep is not None else selected
        found = self.model.row_of(target)
        self.select_row(found if found is not None else max(row, 0))
        now = self.current_person()
        if now is not None and now == selected and (page or self.model.record(now) != before):
            self.show_current(keep_scroll=True)
        self.update_counts()

    def _fill_filters(self) -> None:
        for combo, everyone, values in (
            (self.grid_filter, tr("All grids"), [(code, name) for code, name in self.model.grids()]),
            (self.visitor_filter, tr("All visitors"), [(v, v) for v in self.model.visitors()]),
        ):
            wanted = [("", everyone), *values]
            if [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())] == wanted:
                continue
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for data, text in wanted:
                combo.addItem(text, data)
            found = combo.findData(current) if current else 0
            combo.setCurrentIndex(max(found, 0))
            combo.blockSignals(False)
            if found < 0 and current:
                self.apply_filter(**{"grid" if combo is self.grid_filter else "visitor": ""})

    def apply_filter(self, search: str | None = None, grid: str | None = None, visitor: str | None = None) -> None:
        """Filter the list (in memory); keep the selected person when still shown, else the first row."""
        keep = self.current_person()
        self.model.set_filter(search=search, grid=grid, visitor=visitor)
        found = self.model.row_of(keep)
        self.select_row(found if found is not None else 0)
        self.update_counts()

    def focus_search(self) -> None:
        """``/``: type to filter by name, grid or visitor; Enter goes back to the list."""
        self.search.setFocus()
        self.search.selectAll()

    def update_counts(self) -> None:
        """The counts in the status bar."""
        counts = self.model.counts()
        shown, total = self.model.rowCount(), len(self.model.all_rows)
        text = tr(
            "overdue {overdue} · due today {due} · window open {window} · scheduled {scheduled}",
            **{k: counts[k] for k in ("overdue", "due", "window", "scheduled")},
        )
        if shown != total:
            text = tr("{shown} of {total} shown · ", shown=shown, total=total) + text
        self.counts_label.setText(text)

    def _set_online(self, online: bool) -> None:
        self.online = online
        self.connection_label.setText(tr("● database connected") if online else tr("○ database unreachable — retrying"))
        if self.connection_label.property("online") != online:
            self.connection_label.setProperty("online", online)
            self.connection_label.style().unpolish(self.connection_label)
            self.connection_label.style().polish(self.connection_label)

    # -- palette, cheat sheet, messages --------------------------------------------------------------

    def sign_out(self) -> None:
        """Stop and close the window."""
        self.close()

    # -- persistence ---------------------------------------------------------------------------------

    def _restore(self) -> None:
        restore_layout(self, self.settings, "station", self.work_area, self.table.horizontalHeader(), [880, 560])

    def save_layout(self) -> None:
        """Remember the window's layout and column widths."""
        save_layout(self, self.settings, "station", self.work_area, self.table.horizontalHeader())

    def closeEvent(self, event: Any) -> None:
        """Save the layout and stop listening."""
        self.save_layout()
        self.live.stop()
        super().closeEvent(event)
