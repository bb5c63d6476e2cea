"""The administrator's window: users, the working calendar, the service mappings and the account changes.

A window of the same program chosen by the role (``admin``), built like the others: the pages on
the left (``Ctrl+1`` … ``Ctrl+4``), each a searchable list (type to filter, ``/``) that exports to
CSV (``Ctrl+E``); every action is a registry command with a key, a menu entry and a palette entry.
The status bar shows whether the history's hash chains hold (``ui/audit_mark.py``).
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.commands.keymap import Keymap
from workstation.i18n import role_label, tr
from workstation.services.actors import Actor
from workstation.storage.db import Database
from workstation.ui.actions import build_actions
from workstation.ui.admin.account_log_page import AccountLogPage
from workstation.ui.admin.calendar_page import CalendarPage
from workstation.ui.admin.mappings_page import MappingsPage
from workstation.ui.admin.users import UsersPage
from workstation.ui.seat_lock import SeatLock
from workstation.ui.seat_window import SeatWindow
from workstation.ui.table_pane import TablePane, export_csv

MODE = "admin"
SCOPES = frozenset({"admin", "supervise"})


class Page(Protocol):
    """One page of the window: a list and its commands."""

    title: str
    export_name: str
    pane: TablePane

    def reload(self) -> None:
        """Read the rows again."""

    def summary(self) -> str:
        """A line of counts for the status bar."""


class AdminWindow(SeatWindow):
    """The window of a signed-in administrator."""

    key_mode = MODE

    def __init__(
        self, db: Database, actor: Actor, keymap: Keymap, settings: QSettings, *, seat: str = "", demo: bool = False
    ) -> None:
        super().__init__()
        self.db, self.actor, self.keymap, self.settings = db, actor, keymap, settings
        self.seat = seat or f"{actor.name}@seat"
        self.demo = demo
        self.scopes = set(SCOPES)
        self.current_picker = None
        self.setObjectName("adminWindow")
        self.setWindowTitle(
            tr(
                "{demo}Administration — {user} ({role})",
                demo=tr("DEMO — training data") + " · " if demo else "",
                user=actor.display_name or actor.name,
                role=role_label(actor.role),
            )
        )
        self.users = UsersPage(self)
        self.calendar = CalendarPage(self)
        self.mappings = MappingsPage(self)
        self.account_log = AccountLogPage(self)
        self.pages: list[Page] = [self.users, self.calendar, self.mappings, self.account_log]
        self._build()
        self.actions_by_id = build_actions(
            self, keymap, self._handlers(), self.work_area, mode=MODE, scopes=self.scopes
        )
        self.live = SeatLock(self, self)  # the idle lock (named like the other windows' live helpers)
        geometry = settings.value("adminWindow/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 760)
        self.show_page(self.users)

    def open_supervision(self) -> None:
        """Open the supervision window; its numbers drill down into a queue view of their own."""
        from workstation.ui.supervision.opening import open_supervision

        open_supervision(self)

    # -- layout --------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.page_list = QListWidget()
        self.page_list.setObjectName("adminPages")
        self.page_list.setMaximumWidth(180)
        self.page_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.work_area = QStackedWidget()
        self.work_area.setObjectName("workArea")
        for number, page in enumerate(self.pages, 1):
            item = QListWidgetItem(f"{tr(page.title)}  Ctrl+{number}")
            self.page_list.addItem(item)
            self.work_area.addWidget(page.pane)
        self.page_list.currentRowChanged.connect(lambda row: self.show_page(self.pages[row]) if row >= 0 else None)
        self.table = self.users.pane.table

        central = self.central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.page_list)
        right = QVBoxLayout()
        self.heading = QLabel()
        self.heading.setObjectName("dialogHeading")
        right.addWidget(self.heading)
        right.addWidget(self.work_area, 1)
        outer.addLayout(right, 1)
        self.setCentralWidget(central)

        self.user_label = QLabel(f"{self.actor.display_name or self.actor.name} · {role_label(self.actor.role)}")
        self.message = QLabel()
        self.message.setObjectName("message")
        self.summary_label = QLabel()
        self.summary_label.setObjectName("counts")
        bar = self.statusBar()
        bar.addWidget(self.user_label)
        bar.addWidget(self.message, 1)
        bar.addPermanentWidget(self.summary_label)
        self.add_audit_mark(bar)  # the history's hash chains, verified in the background after sign-in

    def _handlers(self) -> dict[str, Any]:
        return {
            "admin.users": lambda: self.show_page(self.users),
            "admin.calendar": lambda: self.show_page(self.calendar),
            "admin.mappings": lambda: self.show_page(self.mappings),
            "admin.account_log": lambda: self.show_page(self.account_log),
            **self.users.handlers(),
            **self.calendar.handlers(),
            **self.mappings.handlers(),
            "admin.search": self.focus_search,
            "admin.export": lambda: self.export(),
            "admin.refresh": self.refresh,
            "view.palette": self.open_palette,
            "view.supervision": self.open_supervision,
            "help.cheatsheet": self.cheatsheet,
            "help.about": self.about,
            "session.lock": lambda: self.live.lock(),
            "session.sign_out": self.close,
            "session.quit": self.close,
        }

    # -- pages ---------------------------------------------------------------------------------------

    def current_page(self) -> Page:
        """The page shown."""
        return self.pages[self.work_area.currentIndex()]

    def show_page(self, page: Page) -> None:
        """Show a page (read fresh when it changes); the keyboard goes to its list."""
        index = self.pages.index(page)
        changed = self.work_area.currentIndex() != index or not page.pane.model.rows
        self.work_area.setCurrentIndex(index)
        self.page_list.blockSignals(True)
        self.page_list.setCurrentRow(index)
        self.page_list.blockSignals(False)
        self.heading.setText(tr(page.title))
        self.table = page.pane.table
        if changed:
            page.reload()
            if page.pane.current() is None:
                page.pane.select(0)
        self.update_summary()
        self.table.setFocus()

    def update_summary(self) -> None:
        """The counts of the page shown."""
        self.summary_label.setText(self.current_page().summary())

    def refresh(self) -> None:
        """``F5``: read the page again."""
        self.current_page().reload()
        self.update_summary()

    def focus_search(self) -> None:
        """``/``: type to filter the list; Enter or Down goes back to it."""
        pane = self.current_page().pane
        pane.filter.setFocus()
        pane.filter.selectAll()

    def export(self, path: str | None = None) -> str | None:
        """``Ctrl+E``: the list as shown (filter applied) to a CSV file."""
        page = self.current_page()
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, tr("Export the list"), page.export_name, "CSV (*.csv)")
            self.restore_focus()
        if not path:
            return None
        try:
            count = export_csv(page.pane.model, path)
        except OSError as exc:
            self.notify(tr("Cannot write {path}: {reason}", path=path, reason=exc.strerror or exc), error=True)
            return None
        self.notify(tr("{n} rows exported to {path}.", n=count, path=path))
        return path

    def closeEvent(self, event: Any) -> None:
        """Remember the window's size; stop the idle watch; close the supervision it opened."""
        for other in (getattr(self, "supervision", None), getattr(self, "queue_view", None)):
            if other is not None:
                other.close()
        self.settings.setValue("adminWindow/geometry", self.saveGeometry())
        self.live.stop_lock()
        super().closeEvent(event)
