"""Driving the window by keyboard in tests, modal pickers included."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

Step = Sequence[Any]  # keys (Qt.Key) and ASCII strings to type, sent to the modal that opens next


def type_text(widget: QWidget, text: str) -> None:
    """Type text; non-ASCII characters go as plain key events (QTest.keyClicks aborts on them)."""
    for ch in text:
        if ch.isascii():
            QTest.keyClicks(widget, ch)
        else:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def send(widget: QWidget, items: Step) -> None:
    for item in items:
        if isinstance(item, str):
            type_text(widget, item)
        else:
            QTest.keyClick(widget, item)


class ModalDriver:
    """Answers the modal dialogs that open, in order, each with its step of keys."""

    def __init__(self, steps: Sequence[Step], inspect: Callable[[QWidget], None] | None = None) -> None:
        self.steps = list(steps)
        self.seen: list[QWidget] = []
        self.pending = 0
        self.inspect = inspect
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is None or modal in self.seen or not self.steps:
            if not self.steps:
                self.timer.stop()
            return
        self.seen.append(modal)
        if self.inspect:
            self.inspect(modal)
        target = getattr(modal, "edit", None) or getattr(modal, "password", None) or modal
        step = self.steps.pop(0)
        self.pending += 1
        # Sent from a fresh single-shot timer: the keys may open the next modal, whose nested event
        # loop must not run inside this timer's slot (Qt does not re-enter a timer that is busy).
        QTimer.singleShot(0, lambda: self._send(target, step))

    def _send(self, target: QWidget, step: Step) -> None:
        try:
            send(target, step)
        finally:
            self.pending -= 1

    def done(self) -> bool:
        return not self.steps and self.pending == 0 and QApplication.activeModalWidget() is None


class Keys(ModalDriver):
    """Answers modals like a keyboard: each key goes to the widget that has the focus.

    A step holds keys (``Qt.Key``), ``(key, modifiers)``, ASCII or Chinese text, or a callable run
    at that moment (to look at the dialog between keys). A modal is answered once it is active.
    """

    def __init__(self, steps, inspect=None) -> None:
        super().__init__(steps, inspect)
        self.started = time.monotonic()

    def _tick(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is not None and time.monotonic() - self.started > 8:  # a dialog left open would hang the test
            self.steps.clear()
            modal.reject()
            raise AssertionError(f"{modal.objectName()} was still open")
        if modal is None or modal in self.seen or not self.steps or QApplication.activeWindow() is not modal:
            if not self.steps and modal is None and self.pending == 0:
                self.timer.stop()
            return
        super()._tick()

    def _send(self, target: QWidget, step) -> None:
        try:
            for item in step:
                focus = QApplication.focusWidget()
                widget = focus if focus is not None and target.isAncestorOf(focus) else target
                if callable(item):
                    item()
                elif isinstance(item, str):
                    for n, line in enumerate(item.split("\n")):
                        if n:
                            QTest.keyClick(widget, Qt.Key.Key_Return)
                        type_text(widget, line)
                elif isinstance(item, tuple):
                    QTest.keyClick(widget, item[0], item[1])
                else:
                    QTest.keyClick(widget, item)
        finally:
            self.pending -= 1
