"""The supervision window: live figures of the centre, each number drilling down to its cases.

Views (keys 1–9): figures per period, arrivals per hour, queue depth, overdue by unit, channel mix,
the ten commonest categories, care visits by community, the units' evaluation and the map. The
figures are read off the GUI thread whenever the change feed moves (``FigureFeed``). ``Enter`` on a
number shows its cases in the ordinary queue view (``show_cases``), ``x``/``p`` write this month's
report as Excel or PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.commands.keymap import Keymap
from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.models import utcnow
from workstation.services import evaluation as ev
from workstation.services import monthly
from workstation.services import queue as q
from workstation.services import supervision as sup
from workstation.services.actors import Actor
from workstation.services.stats import TZ
from workstation.storage.db import Database
from workstation.ui.actions import build_actions
from workstation.ui.map_paint import load_shapes
from workstation.ui.seat_window import SeatWindow
from workstation.ui.supervision.feed import FigureFeed
from workstation.ui.supervision.map_view import MapView

MODE = "dash"
VIEWS: dict[str, str] = {
    "figures": N_("Figures"),
    "arrivals": N_("Arrivals per hour"),
    "queues": N_("Queue depth"),
    "overdue": N_("Overdue by unit"),
    "channels": N_("Channel mix"),
    "categories": N_("Top ten categories"),
    "care": N_("Care visits by community"),
    "evaluation": N_("Units' evaluation"),
    "map": N_("Map"),
}
ShowCases = Callable[[q.QueueFilter], None]


def _table(name: str, headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(26)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def _number(figure: sup.Figure) -> QTableWidgetItem:
    item = QTableWidgetItem(figure.text())
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    item.setData(Qt.ItemDataRole.UserRole, figure.drill)
    if figure.drill is None:
        item.setForeground(QColor("#4b5563"))
    return item


def _fill(table: QTableWidget, rows: Sequence[Sequence[Any]]) -> None:
    """Put rows of (label, figure or text, …) in a table, keeping the current cell."""
    row, col = table.currentRow(), table.currentColumn()
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.setItem(r, c, _number(value) if isinstance(value, sup.Figure) else QTableWidgetItem(str(value)))
    if rows:
        table.setCurrentCell(max(0, min(row, len(rows) - 1)), max(1, col) if table.columnCount() > 1 else 0)


class SupervisionWindow(SeatWindow):
    """Live figures for a shift lead, a trainer in demo mode or an administrator."""

    key_mode = MODE

    def __init__(
        self,
        db: Database,
        actor: Actor,
        keymap: Keymap,
        settings: QSettings,
        show_cases: ShowCases,
        *,
        demo: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.db, self.actor, self.keymap, self.settings = db, actor, keymap, settings
        self.show_cases = show_cases
        self.demo = demo
        self.scopes = {"dash"}
        self.current_picker = None
        self.figures: sup.Figures | None = None
        self.filled: set[str] = set()  # the views filled with the latest figures
        self.report_dir = Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or Path.home()
        )
        self.setObjectName("supervisionWindow")
        self.setWindowFlag(Qt.WindowType.Window)
        demo_text = tr("DEMO — training data") + " · " if demo else ""
        self.setWindowTitle(tr("{demo}Supervision — {user}", demo=demo_text, user=actor.display_name or actor.name))
        self._build()
        self.actions_by_id = build_actions(
            self, keymap, self._handlers(), self.work_area, mode=MODE, scopes=self.scopes
        )
        self.map_shown = False  # the map's hot-spot measure is read only while the map is shown
        self.feed = FigureFeed(db, lambda: sup.figures(db, actor.name, hot=self.map_shown), self)
        self.feed.ready.connect(self.show_figures)
        self.feed.failed.connect(lambda why: self.notify(tr("Cannot read the figures: {why}", why=why), error=True))
        self.resize(1200, 760)
        self.show_view("figures")
        self.feed.start()

    # -- layout --------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.view_list = QListWidget()
        self.view_list.setObjectName("dashViews")
        self.view_list.setMaximumWidth(220)
        self.view_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.work_area = QStackedWidget()
        self.work_area.setObjectName("workArea")
        periods = [tr(t) for t in sup.PERIODS.values()]
        unit_cols = [tr(ev.INDICATORS[i].name) for i in ev.TABLES["unit"]]
        self.tables: dict[str, QWidget] = {
            "figures": _table("dashFigures", ["", *periods]),
            "arrivals": _table("dashArrivals", [tr("Hour"), tr("Today"), tr("Same weekday last week"), ""]),
            "queues": _table("dashQueues", [tr("Queue"), tr("Cases")]),
            "overdue": _table("dashOverdue", [tr("Unit"), tr("Overdue now")]),
            "channels": _table("dashChannels", [tr("Channel"), tr("Today"), tr("This month")]),
            "categories": _table("dashCategories", [tr("Category"), tr("Filed this month")]),
            "care": _table("dashCare", [tr("Community"), tr("Visits due"), tr("Visits overdue")]),
            "evaluation": _table("dashEvaluation", [tr("Unit"), *unit_cols]),
        }
        self.map = MapView(load_shapes(self.db))
        self.tables["map"] = self.map
        for number, (key, title) in enumerate(VIEWS.items(), 1):
            item = QListWidgetItem(f"{number}  {tr(title)}")
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.view_list.addItem(item)
            self.work_area.addWidget(self.tables[key])
        self.heading = QLabel()
        self.heading.setObjectName("dialogHeading")
        self.updated = QLabel()
        self.updated.setObjectName("dashUpdated")
        self.message = QLabel()
        self.message.setObjectName("message")
        central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.view_list)
        right = QVBoxLayout()
        if self.demo:
            banner = QLabel(tr("DEMO — training world, nothing here is real"))
            banner.setObjectName("demoBanner")
            banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            right.addWidget(banner)
        right.addWidget(self.heading)
        right.addWidget(self.work_area, 1)
        outer.addLayout(right, 1)
        self.setCentralWidget(central)
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addPermanentWidget(self.updated)
        self.table = self.tables["figures"]  # type: ignore[assignment]

    def _handlers(self) -> dict[str, Any]:
        views = {f"dash.{key}": (lambda _checked=False, key=key: self.show_view(key)) for key in VIEWS}
        return {
            **views,
            "dash.measure": self.next_measure,
            "dash.drill": self.drill,
            "dash.refresh": self.feed_refresh,
            "dash.report_xlsx": lambda: self.write_report("xlsx"),
            "dash.report_pdf": lambda: self.write_report("pdf"),
            "dash.close": self.close,
            "view.palette": self.open_palette,
            "help.cheatsheet": self.cheatsheet,
            "help.about": self.about,
            "session.quit": self.close,
        }

    # -- views ---------------------------------------------------------------------------------------

    def current_view(self) -> str:
        """The key of the view shown."""
        return str(self.view_list.currentItem().data(Qt.ItemDataRole.UserRole)) if self.view_list.currentItem() else ""

    def show_view(self, key: str) -> None:
        """Show a view and give it the keyboard."""
        for row in range(self.view_list.count()):
            if self.view_list.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.view_list.setCurrentRow(row)
        widget = self.tables[key]
        if key == "map" and not self.map_shown:
            self.map_shown = True
            self.feed.refresh()  # the hot spots, read once the map is wanted
        self._render(key)
        self.work_area.setCurrentWidget(widget)
        self.heading.setText(tr(VIEWS[key]))
        focus = self.map.list if key == "map" else widget
        self.table = focus  # type: ignore[assignment]
        focus.setFocus()

    def restore_focus(self) -> None:
        """Give the keyboard back to the view."""
        self.activateWindow()
        self.table.setFocus()

    def next_measure(self) -> None:
        """Colour the map by the next measure (and show the map)."""
        if self.current_view() != "map":
            self.show_view("map")
        self.map.next_measure()

    def feed_refresh(self) -> None:
        """Read the figures again now."""
        self.feed.refresh()

    # -- figures -------------------------------------------------------------------------------------

    def show_figures(self, f: sup.Figures) -> None:
        """Fresh figures: the view shown is filled now, the others when they are shown."""
        self.figures = f
        self.filled = set()
        self._render(self.current_view())
        self.updated.setText(tr("Updated {time}", time=f.at.astimezone(TZ).strftime("%H:%M:%S")))

    def _render(self, key: str) -> None:
        f = self.figures
        if f is None or key in self.filled or key not in VIEWS:
            return
        self.filled.add(key)
        table: Any = self.tables[key]
        if key == "figures":
            _fill(table, [[tr(ev.INDICATORS[i].name), *[f.headline[p][i] for p in sup.PERIODS]] for i in ev.HEADLINE])
        elif key == "arrivals":
            top = max([max(a.value or 0, b.value or 0) for _, a, b in f.arrivals] + [1])
            _fill(table, [[f"{h:02d}:00", a, b, "▇" * round(10 * (a.value or 0) / top)] for h, a, b in f.arrivals])
        elif key == "queues":
            _fill(table, [[tr(q.QUEUES[k]), fig] for k, fig in f.queues])
        elif key == "overdue":
            _fill(table, [[name, fig] for name, fig in f.overdue_units])
        elif key == "channels":
            _fill(table, [[name, a, b] for name, a, b in f.channels])
        elif key == "categories":
            _fill(table, [[name, fig] for name, fig in f.categories])
        elif key == "care":
            _fill(table, [[name, a, b] for name, a, b in f.care])
        elif key == "evaluation":
            month = ev.Period.named("month", f.at)
            cols = ev.TABLES["unit"]
            rows = [
                [r.name, *[sup.Figure(r.value(i), i, sup.drill_for(i, month, unit=r.key)) for i in cols]]
                for r in f.units
            ]
            _fill(table, rows)
        elif key == "map":
            self.map.show_figures(f.grids, f.points)

    def drill(self) -> None:
        """Show the cases behind the number under the cursor in the queue view."""
        key = self.current_view()
        flt: q.QueueFilter | None
        if key == "map":
            flt = self.map.drill()
        else:
            table: QTableWidget = self.tables[key]  # type: ignore[assignment]
            item = table.currentItem()
            flt = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
            if flt is not None and item is not None:
                label = table.item(item.row(), 0)
                header = table.horizontalHeaderItem(item.column())
                parts = [tr(VIEWS[key]), label.text() if label else "", header.text() if header else ""]
                flt = flt.with_(title=" · ".join(p for p in parts if p))
        if flt is None:
            self.notify(tr("This number has no cases behind it: choose a number with ← →."))
            return
        self.show_cases(flt.with_(actor=self.actor.name))

    def write_report(self, kind: str) -> None:
        """Write this month's report to the documents folder and say where."""
        month = utcnow().astimezone(TZ).strftime("%Y-%m")
        path = self.report_dir / f"{tr('monthly-report')}-{month}.{kind}"
        content = monthly.build(self.db, month)
        if kind == "pdf":
            from workstation.ui.report_pdf import write_pdf

            pages = write_pdf(self.db, content, path)
            self.notify(tr("Wrote {path} ({n} pages).", path=str(path), n=pages))
        else:
            monthly.write_xlsx(content, path)
            self.notify(tr("Wrote {path}.", path=str(path)))

    def closeEvent(self, event: Any) -> None:
        """Stop following the feed before the window goes."""
        self.feed.stop()
        super().closeEvent(event)
