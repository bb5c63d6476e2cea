"""The working-calendar page of the administrator's window: one year's holidays and make-up working days.

``y`` shows another year, ``h`` adds a holiday, ``w`` a make-up working day (a weekend day that is
worked), ``Delete`` makes the selected day an ordinary day again. Deadlines computed from now on use
the calendar as it is; deadlines already set stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor

from workstation.clock import now as clock_now
from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.services.calendar import known_years, load_calendar, set_day, year_days
from workstation.services.errors import ValidationError, WorkstationError
from workstation.ui.pickers import PickItem
from workstation.ui.station.prompts import TextPrompt
from workstation.ui.table_pane import Row, RowsModel, TablePane

if TYPE_CHECKING:
    from workstation.ui.admin.window import AdminWindow

COLUMNS = [("date", N_("Date")), ("weekday", N_("Weekday")), ("kind", N_("Kind")), ("source", N_("Set by"))]
WEEKDAYS = [N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday")]
KINDS = {"holiday": N_("holiday (day off)"), "workday": N_("make-up working day")}
SOURCES = {"resources": N_("shipped calendar"), "admin": N_("administrator")}


class CalendarModel(RowsModel):
    """The listed days of one year."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, parent)

    def text(self, row: Row, key: str) -> str:
        """The text of one cell."""
        if key == "weekday":
            return tr(WEEKDAYS[int(row["weekday"]) - 1])
        if key == "kind":
            return tr(KINDS[str(row["kind"])])
        if key == "source":
            return tr(SOURCES.get(str(row["source"]), str(row["source"])))
        return super().text(row, key)

    def colour(self, row: Row, key: str) -> QColor | None:
        """Make-up working days stand out from holidays (the kind says it in words too)."""
        return QColor("#8a5a00") if key == "kind" and row["kind"] == "workday" else None


def parse_day(text: str, year: int) -> date:
    """A date typed as ``2026-10-01``, or ``10-01`` within the year shown.

    Raises:
        ValidationError: not a date.
    """
    value = text.strip()
    try:
        return date.fromisoformat(value if value.count("-") == 2 else f"{year}-{value}")
    except ValueError:
        raise ValidationError(
            tr("{text} is not a date: type it as 2026-10-01 (or 10-01 for this year).", text=value or "-"),
            {"day": value},
        ) from None


class CalendarPage:
    """One year of the working calendar and the administrator's edits."""

    title = N_("Working calendar")
    export_name = "calendar.csv"

    def __init__(self, window: AdminWindow) -> None:
        self.w = window
        self.year = clock_now().astimezone(load_calendar(window.db).tz).year
        self.model = CalendarModel(window)
        self.pane = TablePane(
            self.model,
            tr("y year · h add a holiday · w add a make-up working day · Delete remove · / search · Ctrl+E export"),
            widths=(120, 90, 180),
        )
        self.pane.setObjectName("calendarPane")
        self.pane.table.setObjectName("calendarTable")

    def handlers(self) -> dict[str, Callable[[], None]]:
        """The command id -> handler of this page's commands."""
        return {
            "admin.calendar_year": self.choose_year,
            "admin.holiday_add": lambda: self.add("holiday"),
            "admin.workday_add": lambda: self.add("workday"),
            "admin.day_remove": self.remove,
        }

    def reload(self) -> None:
        """Read the year's days again."""
        self.pane.set_rows(year_days(self.w.db, self.year))

    def summary(self) -> str:
        """The year and its counts for the status bar."""
        rows = self.model.rows
        return tr(
            "{year}: {holidays} holidays · {workdays} make-up working days",
            year=self.year,
            holidays=sum(1 for r in rows if r["kind"] == "holiday"),
            workdays=sum(1 for r in rows if r["kind"] == "workday"),
        )

    def choose_year(self) -> None:
        """``y``: a year with a list, or any year typed."""
        self.w.show_page(self)
        items = [PickItem(y, str(y), "", (str(y),), y == self.year) for y in known_years(self.w.db)]
        chosen = self.w.pick(
            tr("Show the calendar of…"), items, free_text=True, hint=tr("Pick a year or type one, e.g. 2027")
        )
        if chosen is None:
            return
        try:
            year = int(str(chosen))
            if not 1900 < year < 2200:
                raise ValueError
        except ValueError:
            self.w.notify(tr("{value} is not a year.", value=chosen), error=True)
            return
        self.year = year
        self.pane.model.set_query("")
        self.pane.filter.clear()
        self.reload()
        self.pane.select(0)
        self.w.update_summary()
        if not self.model.rows:
            self.w.notify(tr("{year} has no holidays or make-up days listed yet: h and w add them.", year=year))

    def add(self, kind: str) -> None:
        """``h`` / ``w``: type the date; a bad one is said in the dialog, which stays open."""
        self.w.show_page(self)

        def submit(text: str) -> date:
            day = parse_day(text, self.year)
            set_day(self.w.db, self.w.actor, day, kind)
            return day

        prompt = TextPrompt(
            tr("Add a holiday") if kind == "holiday" else tr("Add a make-up working day"),
            tr("The date (2026-10-01, or 10-01 for {year}):", year=self.year),
            self.w,
            submit=submit,
            example=f"{self.year}-10-01",
        )
        try:
            accepted = bool(prompt.exec())
        finally:
            prompt.deleteLater()
            self.w.restore_focus()
        if prompt.failure is not None:
            self.w.notify(prompt.failure.message, error=True)
            return
        if not accepted:
            return
        day: date = prompt.value
        self.year = day.year
        self.reload()
        position = self.model.position_of(day.isoformat())
        if position is not None:
            self.pane.select(position)
        self.w.update_summary()
        self.w.notify(
            tr("{day} is now a holiday.", day=day.isoformat())
            if kind == "holiday"
            else tr("{day} is now a make-up working day.", day=day.isoformat())
        )

    def remove(self) -> None:
        """``Delete``: the selected day becomes an ordinary day (working on weekdays, free on weekends)."""
        self.w.show_page(self)
        row = self.pane.current()
        if row is None:
            self.w.notify(tr("Select a day first."), error=True)
            return
        day = date.fromisoformat(str(row["date"]))
        try:
            set_day(self.w.db, self.w.actor, day, "normal")
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return
        self.reload()
        self.w.update_summary()
        self.w.notify(tr("{day} is an ordinary day again.", day=day.isoformat()))
