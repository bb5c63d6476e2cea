"""Small keyboard dialogs of the station: one line of text (a reason, a note) and a clear value shown once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from workstation.i18n import tr
from workstation.services.errors import ValidationError, WorkstationError


class TextPrompt(QDialog):
    """One line to type; Enter submits, Esc cancels.

    ``submit`` (optional) acts on the text; a ``ValidationError`` it raises is shown and the dialog
    stays open, so the user can correct the text; any other refusal closes it and is kept in
    ``failure``. ``value`` holds what ``submit`` returned (or the text).
    """

    def __init__(
        self,
        title: str,
        label: str,
        parent: QWidget | None = None,
        *,
        required: bool = False,
        submit: Callable[[str], Any] | None = None,
        example: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("textPrompt")
        self.setModal(True)
        self.setMinimumWidth(480)
        self.required = required
        self.submit = submit
        self.value: Any = None
        self.text = ""
        self.failure: WorkstationError | None = None
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(example)
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        intro = QLabel(label)
        intro.setWordWrap(True)
        hint = QLabel(tr("Enter confirms · Esc cancels"))
        hint.setObjectName("hint")
        heading = QLabel(title)
        heading.setObjectName("dialogHeading")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addWidget(self.edit)
        layout.addWidget(self.error)
        layout.addWidget(hint)
        self.edit.returnPressed.connect(self._submit)
        self.edit.setFocus()

    def _submit(self) -> None:
        text = self.edit.text().strip()
        if self.required and not text and self.submit is None:
            self.error.setText(tr("Required: type it, or press Esc."))
            return
        if self.submit is not None:
            try:
                self.value = self.submit(text)
            except ValidationError as exc:
                self.error.setText(exc.message)
                self.edit.selectAll()
                return
            except WorkstationError as exc:
                self.failure = exc
                self.reject()
                return
        else:
            self.value = text
        self.text = text
        self.accept()


def show_value(value: Any) -> str:
    """A revealed value as readable text (lists and records one per line)."""
    if value in (None, ""):
        return tr("(empty)")
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict) and {"name", "phone"} <= set(item):
                lines.append(f"{item.get('name', '')} ({item.get('relation', '')}) {item.get('phone', '')}")
            else:
                lines.append(json.dumps(item, ensure_ascii=False, indent=1))
        return "\n".join(lines) or tr("(empty)")
    return str(value)


class ClearValueDialog(QDialog):
    """A revealed value, read-only; Esc or Enter closes it."""

    def __init__(self, title: str, value: Any, note: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("clearValue")
        self.setModal(True)
        self.resize(520, 260)
        self.view = QPlainTextEdit(show_value(value))
        self.view.setReadOnly(True)
        self.view.setObjectName("clearText")
        label = QLabel(note)
        label.setWordWrap(True)
        label.setObjectName("hint")
        layout = QVBoxLayout(self)
        heading = QLabel(title)
        heading.setObjectName("dialogHeading")
        layout.addWidget(heading)
        layout.addWidget(self.view, 1)
        layout.addWidget(label)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QShortcut(QKeySequence(key), self, self.accept)
        self.view.setFocus()
