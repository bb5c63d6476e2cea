"""Opening the supervision window from a seat's window, with its drill-down into a queue view."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication

from workstation.i18n import tr
from workstation.services import queue as q
from workstation.ui.supervision.window import SupervisionWindow


def bring_forward(window: Any) -> None:
    """Show a window above the others (the offscreen platform of tests has no stacking to change)."""
    window.show()
    if QGuiApplication.platformName() != "offscreen":
        window.raise_()
    window.activateWindow()


def show_in(main: Any, flt: q.QueueFilter) -> None:
    """Show a drilled filter in an operator's window (``MainWindow``) and bring it forward."""
    main.show_queue(flt.queue)  # the queue list shows which queue the cases are in
    main.apply_filter(flt)
    bring_forward(main)
    main.table.setFocus()
    title = flt.title or tr(q.QUEUES[flt.queue])
    main.notify(tr("{title}: {n} cases", title=title, n=main.model.rowCount()))


def open_supervision(window: Any) -> SupervisionWindow:
    """Open (or bring forward) the supervision window of a seat's window.

    An operator's window shows the drilled cases itself; the administrator's window opens a queue
    view of its own for them (the services still refuse any action an administrator may not take).
    """
    existing = getattr(window, "supervision", None)
    if existing is not None and existing.isVisible():
        bring_forward(existing)
        return existing

    def show_cases(flt: q.QueueFilter) -> None:
        main = window if hasattr(window, "apply_filter") else _queue_view(window)
        show_in(main, flt)

    sup = SupervisionWindow(
        window.db, window.actor, window.keymap, window.settings, show_cases, demo=getattr(window, "demo", False)
    )
    window.supervision = sup
    bring_forward(sup)
    return sup


def _queue_view(window: Any) -> Any:
    view = getattr(window, "queue_view", None)
    if view is None:
        from workstation.ui.main_window import MainWindow

        view = MainWindow(window.db, window.actor, window.keymap, window.settings, seat=window.seat, demo=window.demo)
        window.queue_view = view
    return view
