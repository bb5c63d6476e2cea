"""Recording a visit entirely by keyboard.

Keys while the focus is not in a text field: ``1``/``2``/``3`` choose home, phone or video; ``y``/``n``
set whether the person was met; ``h``/``l``/``s``/``m`` toggle a concern about health, living
conditions, safety or mood. Needs are typed one per line (a line starting with ``!`` is urgent), each
with a "raise a case" box, on by default. A visit typed in afterwards gets its date and time
(``Alt+W``: ``2026-11-30 09:30``, local time; empty means now) and its visitor (``Alt+O``: empty
means the signed-in user). ``Ctrl+Enter`` saves, ``Esc`` cancels without asking.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.care import AREAS, MODES
from workstation.i18n import tr
from workstation.services.care import parse_date
from workstation.services.care_visits import Need
from workstation.services.errors import ValidationError, WorkstationError

MODE_KEYS = {"1": "home", "2": "phone", "3": "video"}
AREA_KEYS = {"health": "h", "living": "l", "safety": "s", "mood": "m"}


def parse_needs(text: str) -> list[tuple[str, bool]]:
    """Needs from the text: one per non-empty line; a leading ``!`` marks it urgent."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        urgent = line.startswith(("!", "！"))
        line = line.lstrip("!！").strip()
        if line:
            out.append((line, urgent))
    return out


class VisitDialog(QDialog):
    """The visit form; ``save`` (given the form's values) records it and may raise ``ValidationError``."""

    def __init__(
        self,
        who: str,
        save: Callable[[dict[str, Any]], Any],
        parent: QWidget | None = None,
        *,
        focus_needs: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("visitDialog")
        self.setWindowTitle(tr("Record a visit — {who}", who=who))
        self.setModal(True)
        self.setMinimumWidth(720)
        self.save_fn = save
        self.key = uuid.uuid4().hex  # one key per visit: saving twice records it once
        self.outcome: Any = None
        self.raise_boxes: list[QCheckBox] = []
        self._raise_state: dict[str, bool] = {}

        self.when = QLineEdit()
        self.when.setObjectName("visitAt")
        self.when.setPlaceholderText(tr("now — or when it happened: YYYY-MM-DD HH:MM"))
        self.visitor = QLineEdit()
        self.visitor.setObjectName("visitVisitor")
        self.visitor.setMaxLength(50)
        self.visitor.setPlaceholderText(tr("you — or who visited"))

        self.mode = QComboBox()
        self.mode.setObjectName("visitMode")
        for n, (code, label) in enumerate(MODES.items(), start=1):
            self.mode.addItem(f"{n}  {tr(label)}", code)
        self.met = QCheckBox(tr("Met the person"))
        self.met.setObjectName("visitMet")
        self.met.setChecked(True)

        self.concerns: dict[str, QCheckBox] = {}
        self.notes: dict[str, QLineEdit] = {}
        self.checklist = QWidget()
        checklist = QGridLayout(self.checklist)
        checklist.setContentsMargins(0, 0, 0, 0)
        checklist.setColumnStretch(2, 1)
        for row, (area, label) in enumerate(AREAS.items()):
            box = QCheckBox(tr("concern"))
            box.setObjectName(f"concern_{area}")
            note = QLineEdit()
            note.setObjectName(f"note_{area}")
            note.setPlaceholderText(tr("note (optional)"))
            checklist.addWidget(QLabel(f"{tr(label)} ({AREA_KEYS[area]})"), row, 0)
            checklist.addWidget(box, row, 1)
            checklist.addWidget(note, row, 2)
            self.concerns[area], self.notes[area] = box, note

        self.needs = QPlainTextEdit()
        self.needs.setObjectName("visitNeeds")
        self.needs.setTabChangesFocus(True)
        self.needs.setPlaceholderText(tr("One need per line; start a line with ! when it is urgent"))
        self.needs.setFixedHeight(84)
        self.needs.textChanged.connect(self._needs_changed)
        self.raise_area = QWidget()
        self.raise_layout = QVBoxLayout(self.raise_area)
        self.raise_layout.setContentsMargins(0, 0, 0, 0)
        self.raise_empty = QLabel(tr("No needs typed."))
        self.raise_empty.setObjectName("hint")
        self.raise_layout.addWidget(self.raise_empty)

        self.next_date = QLineEdit()
        self.next_date.setObjectName("visitNextDate")
        self.next_date.setPlaceholderText(tr("YYYY-MM-DD (optional: instead of the usual interval)"))
        self.next_reason = QLineEdit()
        self.next_reason.setObjectName("visitNextReason")
        self.next_reason.setPlaceholderText(tr("why (required with a date)"))
        self.note = QLineEdit()
        self.note.setObjectName("visitNote")

        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)

        form = QFormLayout()
        when_label = QLabel(tr("&When"))
        when_label.setBuddy(self.when)
        form.addRow(when_label, self.when)
        visitor_label = QLabel(tr("Visit&or"))
        visitor_label.setBuddy(self.visitor)
        form.addRow(visitor_label, self.visitor)
        form.addRow(tr("Mode (1 home · 2 phone · 3 video)"), self.mode)
        form.addRow(tr("Met (y / n)"), self.met)
        form.addRow(tr("Observations"), self.checklist)
        needs_label = QLabel(tr("&Needs"))
        needs_label.setBuddy(self.needs)
        form.addRow(needs_label, self.needs)
        form.addRow(tr("Raise a case for"), self.raise_area)
        date_label = QLabel(tr("Ne&xt visit on"))
        date_label.setBuddy(self.next_date)
        form.addRow(date_label, self.next_date)
        form.addRow(tr("Reason for that date"), self.next_reason)
        form.addRow(tr("Note"), self.note)

        save_button = QPushButton(tr("Save (Ctrl+Enter)"))
        cancel_button = QPushButton(tr("Cancel (Esc)"))
        for button in (save_button, cancel_button):
            button.setAutoDefault(False)
            button.setDefault(False)
        save_button.clicked.connect(self.submit)
        cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        hint = QLabel(tr("Tab moves · Ctrl+Enter saves · Esc cancels"))
        hint.setObjectName("hint")
        buttons.addWidget(hint, 1)
        buttons.addWidget(save_button)
        buttons.addWidget(cancel_button)

        heading = QLabel(tr("Record a visit — {who}", who=who))
        heading.setObjectName("dialogHeading")
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)  # grows with the needs typed
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addLayout(buttons)

        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(seq), self, self.submit)
        for key, code in MODE_KEYS.items():
            QShortcut(QKeySequence(key), self, lambda code=code: self.set_mode(code))
        QShortcut(QKeySequence("y"), self, lambda: self.met.setChecked(True))
        QShortcut(QKeySequence("n"), self, lambda: self.met.setChecked(False))
        for area, key in AREA_KEYS.items():
            QShortcut(QKeySequence(key), self, lambda area=area: self.concerns[area].toggle())
        for edit in (self.when, self.visitor, *self.notes.values(), self.next_date, self.next_reason, self.note):
            edit.returnPressed.connect(self.focusNextChild)
        (self.needs if focus_needs else self.mode).setFocus()

    # -- keys and needs ------------------------------------------------------------------------------

    def set_mode(self, code: str) -> None:
        """Choose the visit mode."""
        self.mode.setCurrentIndex(self.mode.findData(code))

    def _needs_changed(self) -> None:
        needs = parse_needs(self.needs.toPlainText())
        if [b.property("need") for b in self.raise_boxes] == [text for text, _ in needs]:
            for box, (text, urgent) in zip(self.raise_boxes, needs, strict=True):
                box.setProperty("urgent", urgent)
                box.setText(self._raise_label(text, urgent))
            return
        for box in self.raise_boxes:
            self._raise_state[box.property("need")] = box.isChecked()
            self.raise_layout.removeWidget(box)
            box.deleteLater()
        self.raise_boxes = []
        for text, urgent in needs:
            box = QCheckBox(self._raise_label(text, urgent))
            box.setProperty("need", text)
            box.setProperty("urgent", urgent)
            box.setChecked(self._raise_state.get(text, True))
            self.raise_layout.addWidget(box)
            self.raise_boxes.append(box)
        self.raise_empty.setVisible(not needs)
        chain: list[QWidget] = [self.needs, *self.raise_boxes, self.next_date]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    @staticmethod
    def _raise_label(text: str, urgent: bool) -> str:
        label = tr("raise a case: {need}", need=text)
        return f"{label} · {tr('urgent')}" if urgent else label

    # -- saving --------------------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The form as keyword arguments of ``care_visits.record_visit``.

        Raises:
            ValidationError: the next date is not a date.
        """
        observations = {
            area: {"status": "concern" if self.concerns[area].isChecked() else "ok", "note": self.notes[area].text()}
            for area in AREAS
        }
        needs = [
            Need(box.property("need"), raise_case=box.isChecked(), urgent=bool(box.property("urgent")))
            for box in self.raise_boxes
        ]
        next_due = None
        if self.next_date.text().strip():
            try:
                next_due = parse_date(self.next_date.text())
            except ValueError as exc:
                raise ValidationError(tr("next visit: {reason}", reason=exc), {"next_due": str(exc)}) from None
        return {
            "at": self.when.text().strip() or None,
            "visitor": self.visitor.text().strip(),
            "mode": self.mode.currentData(),
            "met": self.met.isChecked(),
            "observations": observations,
            "needs": needs,
            "note": self.note.text(),
            "next_due": next_due,
            "next_due_reason": self.next_reason.text(),
            "key": self.key,
        }

    def submit(self) -> None:
        """Save; on a validation error show it and put the focus on the first bad field."""
        try:
            self.outcome = self.save_fn(self.values())
        except ValidationError as exc:
            self.error.setText(exc.message)
            target = {
                "at": self.when,
                "visitor": self.visitor,
                "mode": self.mode,
                "met": self.met,
                "needs": self.needs,
                "next_due": self.next_date,
                "next_due_reason": self.next_reason,
                "note": self.note,
            }
            for field in exc.fields:
                if field in target:
                    widget = target[field]
                    widget.setFocus()
                    if isinstance(widget, QLineEdit):
                        widget.selectAll()  # typing replaces the bad value
                    break
            return
        except WorkstationError as exc:
            self.error.setText(exc.message)
            return
        self.accept()

    def keyPressEvent(self, event: Any) -> None:
        """Enter alone never saves (only Ctrl+Enter does)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            event.accept()
            return
        super().keyPressEvent(event)
