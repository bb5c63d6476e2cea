"""The outbox in the window: every message that waits or failed (and the last ones sent), with retry.

``Ctrl+Shift+O`` opens it. Typing filters (``failed`` shows the failed ones), ``r`` sends the selected
failed message again with a fresh attempt budget, Enter shows what the message says and where it goes.
The list follows the background sender: it reloads after each round.
"""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QVBoxLayout, QWidget
from sqlalchemy import func, select

from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.intake import outbox
from workstation.intake.outbox import KIND_NAMES, STATUS_NAMES
from workstation.models import OutboxMessage
from workstation.services.errors import WorkstationError
from workstation.storage.db import Database
from workstation.ui.table_pane import Row, RowsModel, TablePane, local_time, say

if TYPE_CHECKING:
    from workstation.ui.intake_runner import IntakeRunner
    from workstation.ui.main_window import MainWindow

SENT_SHOWN = 200
STATUS_COLOURS = {"pending": "#8a5a00", "sent": "#1b5e20", "failed": "#b71c1c"}
COLUMNS = [
    ("status", N_("Status")),
    ("target", N_("Target")),
    ("case_id", N_("Case")),
    ("kind", N_("Type")),
    ("attempts", N_("Attempts")),
    ("next_attempt_at", N_("Next attempt")),
    ("last_error", N_("Last error")),
]
_FIELDS = (
    OutboxMessage.id,
    OutboxMessage.status,
    OutboxMessage.target,
    OutboxMessage.kind,
    OutboxMessage.case_id,
    OutboxMessage.attempts,
    OutboxMessage.budget,
    OutboxMessage.next_attempt_at,
    OutboxMessage.sent_at,
    OutboxMessage.response_code,
    OutboxMessage.last_error,
)


def outbox_rows(db: Database) -> tuple[list[Row], int]:
    """Failed messages, then pending ones (oldest first), then the last sent ones; and how many were sent."""
    with db.read() as s:
        unsent = [r._asdict() for r in s.execute(select(*_FIELDS).where(OutboxMessage.status != "sent"))]
        sent = [
            r._asdict()
            for r in s.execute(
                select(*_FIELDS)
                .where(OutboxMessage.status == "sent")
                .order_by(OutboxMessage.id.desc())
                .limit(SENT_SHOWN)
            )
        ]
        total_sent = int(s.scalar(select(func.count()).where(OutboxMessage.status == "sent")) or 0)
    unsent.sort(key=lambda r: (r["status"] != "failed", r["id"]))
    return unsent + sent, total_sent


class OutboxModel(RowsModel):
    """Outbound messages: status, target, case, type, attempts, next attempt, last error."""

    def __init__(self, tz: tzinfo | None, parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, parent)
        self.tz = tz

    def text(self, row: Row, key: str) -> str:
        """The text of one cell."""
        if key == "status":
            return tr(STATUS_NAMES.get(str(row["status"]), str(row["status"])))
        if key == "case_id":
            return f"#{row['case_id']}" if row["case_id"] else ""
        if key == "kind":
            return tr(KIND_NAMES[row["kind"]]) if row["kind"] in KIND_NAMES else str(row["kind"])
        if key == "attempts":
            return f"{row['attempts']}/{row['budget']}"
        if key == "next_attempt_at":
            return local_time(row["next_attempt_at"], self.tz) if row["status"] == "pending" else "—"
        if key == "last_error":
            return (row["last_error"] or "").replace("\n", " ")
        return super().text(row, key)

    def colour(self, row: Row, key: str) -> QColor | None:
        """The status in its colour."""
        return QColor(STATUS_COLOURS[row["status"]]) if key == "status" and row["status"] in STATUS_COLOURS else None


class MessageView(QDialog):
    """One outbound message: where it goes, its state, and its body as sent."""

    def __init__(self, db: Database, message_id: int, tz: tzinfo | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageView")
        self.setWindowTitle(tr("Outbound message {id}", id=message_id))
        self.resize(760, 560)
        with db.read() as s:
            row = s.get(OutboxMessage, message_id)
            data: dict[str, Any] = outbox.as_dict(row) if row is not None else {}
        head = QLabel()
        head.setWordWrap(True)
        head.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body = QPlainTextEdit()
        self.body.setObjectName("payload")
        self.body.setReadOnly(True)
        self.body.setFont(QFont("monospace"))
        if data:
            lines = [
                tr(
                    "{kind} for case #{case} to {target} — {status}, {attempts} attempt(s)",
                    kind=tr(KIND_NAMES.get(data["kind"], data["kind"])),
                    case=data["case_id"] or "—",
                    target=data["target"],
                    status=tr(STATUS_NAMES.get(data["status"], data["status"])),
                    attempts=data["attempts"],
                ),
                tr("Address: {url}", url=data["url"]),
                tr("Idempotency-Key: {uuid}", uuid=data["uuid"]),
            ]
            if data["sent_at"]:
                sent = local_time(data["sent_at"], tz)
                lines.append(tr("Sent {when} (HTTP {code})", when=sent, code=data["response_code"]))
            if data["last_error"]:
                lines.append(tr("Last error: {error}", error=data["last_error"]))
            head.setText("\n".join(lines))
            self.body.setPlainText(json.dumps(data["body"], ensure_ascii=False, indent=2))
        else:
            head.setText(tr("There is no outbound message {id}.", id=message_id))
        hint = QLabel(tr("Esc or Enter closes"))
        hint.setObjectName("keyHint")
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.body, 1)
        layout.addWidget(hint)

    def keyPressEvent(self, event: Any) -> None:
        """Enter closes, like Esc."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
            return
        super().keyPressEvent(event)


class OutboxDialog(QDialog):
    """The outbox: filter by typing, ``r`` retries, Enter shows the message."""

    def __init__(self, window: MainWindow, runner: IntakeRunner, tz: tzinfo | None) -> None:
        super().__init__(window)
        self.w, self.runner, self.tz = window, runner, tz
        self.setObjectName("outboxDialog")
        self.setWindowTitle(tr("Outbox"))
        self.resize(1100, 560)
        heading = QLabel(tr("Outbox — messages to the units' systems"))
        heading.setObjectName("dialogHeading")
        self.summary = QLabel()
        self.summary.setObjectName("dialogSummary")
        self.model = OutboxModel(tz, self)
        self.pane = TablePane(
            self.model,
            tr("Enter: show the message · r: retry a failed message · type to filter (e.g. failed) · Esc: close"),
            {Qt.Key.Key_R: self.retry},
            [80, 120, 70, 120, 70, 110],
        )
        self.pane.activated.connect(self.open_message)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.viewer: MessageView | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.summary)
        layout.addWidget(self.pane, 1)
        layout.addWidget(self.message)
        runner.updated.connect(self.reload)
        self.reload(force=True)
        self.pane.select(0)
        self.pane.table.setFocus()

    def reload(self, force: bool = False) -> None:
        """Read the outbox again (after each background round while the dialog is open)."""
        if not force and not self.isVisible():
            return
        rows, total_sent = outbox_rows(self.w.db)
        self.pane.set_rows(rows)
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("pending", "failed")}
        text = tr(
            "{pending} pending · {failed} failed · {sent} sent",
            pending=counts["pending"],
            failed=counts["failed"],
            sent=total_sent,
        )
        if total_sent > SENT_SHOWN:
            text += " " + tr("(the last {n} sent are listed)", n=SENT_SHOWN)
        self.summary.setText(text)

    def retry(self) -> None:
        """``r``: send the selected failed (or waiting) message again now."""
        row = self.pane.current()
        if row is None:
            return
        if row["status"] == "sent":
            say(self.message, tr("Message {id} was already sent.", id=row["id"]), error=True)
            return
        try:
            outbox.retry(self.w.db, self.w.actor, row["id"])
        except WorkstationError as exc:
            say(self.message, exc.message, error=True)
            return
        if self.runner.sends:
            say(self.message, tr("Message {id} goes out again now.", id=row["id"]))
            self.runner.send_now()
        else:
            say(self.message, tr("Message {id} goes out again with the sending seat's next round.", id=row["id"]))
        self.reload(force=True)

    def open_message(self) -> None:
        """Enter: the selected message with its body."""
        row = self.pane.current()
        if row is None:
            return
        self.viewer = MessageView(self.w.db, row["id"], self.tz, self)
        self.viewer.finished.connect(lambda _: self.pane.table.setFocus())
        self.viewer.open()
