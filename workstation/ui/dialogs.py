"""Sign-in, first-run administrator, and the seat lock."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from workstation.i18n import tr
from workstation.services import accounts
from workstation.services.actors import Actor
from workstation.services.errors import WorkstationError
from workstation.storage.db import Database


class _Form(QDialog):
    def __init__(self, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.form = QFormLayout()
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if intro:
            label = QLabel(intro)
            label.setWordWrap(True)
            layout.addWidget(label)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def submit(self) -> None:  # pragma: no cover - overridden
        self.accept()


class SignInDialog(_Form):
    """User name and password; the last user name is filled in, so returning users type the password."""

    def __init__(
        self, db: Database, last_user: str = "", parent: QWidget | None = None, locked_for: str | None = None
    ) -> None:
        intro = (
            tr("The seat is locked. {user}, type your password to go on.", user=locked_for)
            if locked_for
            else tr("Sign in to the grid-governance workstation.")
        )
        super().__init__(tr("Sign in"), intro, parent)
        self.db = db
        self.actor: Actor | None = None
        self.user = QLineEdit(locked_for or last_user)
        self.user.setObjectName("signinUser")
        self.user.setReadOnly(bool(locked_for))
        self.password = QLineEdit()
        self.password.setObjectName("signinPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(tr("User name"), self.user)
        self.form.addRow(tr("Password"), self.password)
        (self.password if self.user.text() else self.user).setFocus()

    def submit(self) -> None:
        """Check the password; stay open with the reason when it is wrong."""
        try:
            self.actor = accounts.authenticate(self.db, self.user.text().strip(), self.password.text())
        except WorkstationError as exc:
            self.error.setText(exc.message)
            self.password.selectAll()
            self.password.setFocus()
            return
        self.accept()


class FirstAdminDialog(_Form):
    """The first run: create the administrator account."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(
            tr("First run: create the administrator"),
            tr(
                "This database has no users yet. Create the administrator; the administrator's window opens next, "
                "where you add the operators, shift leads and station staff (n) and set the working calendar."
            ),
            parent,
        )
        self.db = db
        self.actor: Actor | None = None
        self.user = QLineEdit("admin")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(tr("User name"), self.user)
        self.form.addRow(tr("Password"), self.password)
        self.form.addRow(tr("Repeat the password"), self.repeat)
        self.password.setFocus()

    def submit(self) -> None:
        """Create the administrator, or show what is wrong."""
        if self.password.text() != self.repeat.text():
            self.error.setText(tr("The two passwords differ."))
            return
        try:
            self.actor = accounts.add_user(self.db, None, self.user.text().strip(), "admin", self.password.text())
        except WorkstationError as exc:
            self.error.setText(exc.message)
            return
        self.accept()
