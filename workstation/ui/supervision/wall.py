"""Wall mode: the figures on the centre's big screen, legible from across the room.

Full screen, large high-contrast type, no menus, read-only; it cycles through its views on a timer
and shows the latest arrivals as they come. It is meant to run for weeks: every widget is made once
and only its text changes, the figures are read off the GUI thread, and nothing accumulates (the
benchmark ``bench/dashboard.py --wall`` measures its memory over an accelerated demo day).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from workstation.commands.keymap import Keymap
from workstation.i18n import state_label, tr
from workstation.services import evaluation as ev
from workstation.services import supervision as sup
from workstation.services.actors import Actor
from workstation.storage.db import Database
from workstation.ui.actions import build_actions
from workstation.ui.map_paint import load_shapes
from workstation.ui.supervision.feed import FigureFeed
from workstation.ui.supervision.map_view import MapCanvas

CYCLE_S = 15
ROWS = 10  # lines of a list on the wall
WALL_STYLE = """
QWidget#wall { background: #000000; }
QLabel { color: #ffffff; }
QLabel[role="title"] { font-size: 44px; font-weight: bold; color: #ffd54f; }
QLabel[role="label"] { font-size: 28px; color: #cfd8dc; }
QLabel[role="number"] { font-size: 56px; font-weight: bold; }
QLabel[role="alarm"] { font-size: 56px; font-weight: bold; color: #ff5252; }
QLabel[role="line"] { font-size: 30px; }
QLabel[role="ticker"] { font-size: 24px; color: #ffffff; background: #102a43; padding: 6px; }
"""
HEAD = ("reported", "filed", "closed", "closure_rate", "on_time_rate", "overdue")


def _label(role: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setProperty("role", role)
    return label


class WallWindow(QMainWindow):
    """The big screen: views in turn, the latest arrivals always at the bottom."""

    def __init__(self, db: Database, actor: Actor, keymap: Keymap, settings: QSettings, *, demo: bool = False) -> None:
        super().__init__()
        self.db, self.actor = db, actor
        self.setObjectName("wallWindow")
        self.setWindowTitle(tr("Grid-governance centre — wall") + (" · " + tr("DEMO") if demo else ""))
        self.cycle_s = max(3, int(str(settings.value("wall/cycleSeconds", CYCLE_S) or CYCLE_S)))
        self.figures: sup.Figures | None = None
        self.rounds = 0
        self._build()
        self.actions_by_id = build_actions(
            self,
            keymap,
            {"wall.next": self.next_view, "session.quit": self.quit_wall},
            self.views,
            mode="wall",
            scopes={"wall"},
        )
        self.menuBar().setVisible(False)  # no menus on the wall; Space and Ctrl+Q still work
        self.timer = QTimer(self)
        self.timer.setInterval(self.cycle_s * 1000)
        self.timer.timeout.connect(self.next_view)
        self.timer.start()
        self.feed = FigureFeed(db, lambda: sup.figures(db, actor.name, care=False, hot=False), self)
        self.feed.ready.connect(self.show_figures)
        self.feed.start()

    def _build(self) -> None:
        root = QWidget()
        root.setObjectName("wall")
        root.setStyleSheet(WALL_STYLE)
        layout = QVBoxLayout(root)
        layout.setContentsMargins(24, 16, 24, 16)
        self.title = _label("title")
        layout.addWidget(self.title)
        self.views = QStackedWidget()
        self.views.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wall's keys work wherever nothing else has focus
        self.setFocusProxy(self.views)
        layout.addWidget(self.views, 1)
        self.ticker = [_label("ticker") for _ in range(4)]
        for t in self.ticker:
            layout.addWidget(t)
        self.setCentralWidget(root)
        # view 1: the headline, today and since launch
        page = QWidget()
        grid = QGridLayout(page)
        self.head: dict[tuple[str, str], QLabel] = {}
        for col, period in enumerate(("today", "all")):
            grid.addWidget(_label("label", tr(sup.PERIODS[period])), 0, 1 + col * 2)
        for row, indicator in enumerate(HEAD, start=1):
            grid.addWidget(_label("label", tr(ev.INDICATORS[indicator].name)), row, 0)
            for col, period in enumerate(("today", "all")):
                number = _label("alarm" if indicator == "overdue" else "number")
                number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                grid.addWidget(number, row, 1 + col * 2)
                self.head[(period, indicator)] = number
        self.pages: list[tuple[str, QWidget]] = [(tr("Figures"), page)]
        # views 2 and 3: lists of (name, number)
        self.lists: dict[str, list[tuple[QLabel, QLabel]]] = {}
        for key, title in (("overdue", tr("Overdue by unit")), ("categories", tr("Top ten categories"))):
            page = QWidget()
            grid = QGridLayout(page)
            lines = []
            for r in range(ROWS):
                name, number = _label("line"), _label("line")
                number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                grid.addWidget(name, r, 0)
                grid.addWidget(number, r, 1)
                lines.append((name, number))
            self.lists[key] = lines
            self.pages.append((title, page))
        # view 4: the map, coloured by open cases
        self.map = MapCanvas(load_shapes(self.db))
        self.pages.append((tr("Open cases per grid"), self.map))
        for _, page in self.pages:
            self.views.addWidget(page)
        self.show_page(0)

    def quit_wall(self) -> None:
        """Close the wall (Ctrl+Q)."""
        self.close()

    def show_page(self, index: int) -> None:
        """Show one of the views."""
        self.views.setCurrentIndex(index % len(self.pages))
        self.title.setText(self.pages[self.views.currentIndex()][0])

    def next_view(self) -> None:
        """The next view (the timer does this on its own)."""
        self.show_page(self.views.currentIndex() + 1)

    def show_figures(self, f: sup.Figures) -> None:
        """Fresh figures: only texts change, no widget is made."""
        self.figures = f
        self.rounds += 1
        for (period, indicator), label in self.head.items():
            label.setText(f.headline[period][indicator].text())
        self._list("overdue", [(name, fig.text()) for name, fig in f.overdue_units])
        self._list("categories", [(name, fig.text()) for name, fig in f.categories])
        self.map.values = f.grids.get("open", {})
        self.map.points = f.points
        self.map.update()
        for label, item in zip(self.ticker, f.latest + [None] * len(self.ticker), strict=False):
            label.setText(self._arrival(item) if item else "")

    def _list(self, key: str, rows: list[tuple[str, str]]) -> None:
        for (name, number), row in zip(self.lists[key], rows + [("", "")] * ROWS, strict=False):
            name.setText(row[0])
            number.setText(row[1])

    @staticmethod
    def _arrival(item: dict[str, Any]) -> str:
        urgent = "⚠ " if item["urgent"] else ""
        where = item["grid"] or tr("no grid")
        what = item["category"] or state_label(item["status"])
        return f"{urgent}{item['received']:%H:%M}  #{item['id']}  {item['channel']}  {where}  {what}"

    def closeEvent(self, event: Any) -> None:
        """Stop the timer and the feed."""
        self.timer.stop()
        self.feed.stop()
        super().closeEvent(event)
