"""The users page of the administrator's window: every account, and what the administrator changes in it.

``n`` adds a user (a form: name, role, community or unit, password), ``x`` disables or enables the
selected one, ``p`` resets the password, ``r`` changes the role, ``c`` sets the community or unit.
Each change goes through ``services.accounts``; a refusal is said in the status bar (or in the form,
which stays open with what was typed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget
from sqlalchemy import select

from workstation.domain.lifecycle import N_, Role
from workstation.i18n import role_label, tr
from workstation.models import Community, Unit, utcnow
from workstation.services import accounts, lockout
from workstation.services.errors import WorkstationError
from workstation.storage.db import Database
from workstation.ui.dialogs import _Form
from workstation.ui.pickers import PickItem
from workstation.ui.table_pane import Row, RowsModel, TablePane, local_time

if TYPE_CHECKING:
    from workstation.ui.admin.window import AdminWindow

COLUMNS = [
    ("name", N_("User name")),
    ("display_name", N_("Name shown")),
    ("role", N_("Role")),
    ("place", N_("Community or unit")),
    ("active", N_("State")),
    ("created_at", N_("Created")),
]
WIDTHS = (120, 120, 110, 240, 80, 110)


class UsersModel(RowsModel):
    """Accounts: name, role, community or unit, active."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, parent)

    def text(self, row: Row, key: str) -> str:
        """The text of one cell."""
        if key == "role":
            return role_label(str(row["role"]))
        if key == "place":
            return " · ".join(str(x) for x in (row["community"], row["unit"]) if x)
        if key == "active":
            state = tr("active") if row["active"] else tr("disabled")
            until = row.get("locked_until")
            return state + " · " + tr("locked until {time}", time=local_time(until, None)) if until else state
        if key == "created_at":
            return local_time(row["created_at"], None, "%Y-%m-%d")
        return super().text(row, key)

    def colour(self, row: Row, key: str) -> QColor | None:
        """Disabled accounts in grey (with the word)."""
        return QColor("#777777") if not row["active"] else None


def community_items(db: Database, none: bool = False) -> list[PickItem]:
    """Every community, for a picker (optionally "none" first)."""
    with db.read() as s:
        rows = s.execute(select(Community.code, Community.name).order_by(Community.code)).all()
    items = [PickItem("", tr("(none)"), tr("belongs to no community"))] if none else []
    return items + [PickItem(code, name, code, (code,)) for code, name in rows]


def unit_items(db: Database) -> list[PickItem]:
    """Every active unit, for a picker."""
    with db.read() as s:
        rows = s.execute(select(Unit.code, Unit.name).where(Unit.active).order_by(Unit.kind, Unit.code)).all()
    return [PickItem(code, name, code, (code,)) for code, name in rows]


def role_items() -> list[PickItem]:
    """Every role a user can have."""
    return [PickItem(r.value, role_label(r.value), "", (r.value,)) for r in accounts.USER_ROLES]


class UserForm(_Form):
    """A new user: name, name shown, role, community or unit, password twice; Enter submits."""

    def __init__(self, window: AdminWindow, parent: QWidget | None = None) -> None:
        super().__init__(
            tr("Add a user"),
            tr("Station staff need a community, unit accounts a unit. The user signs in with this password."),
            parent,
        )
        self.setObjectName("userForm")
        self.w = window
        self.created: str | None = None
        self.name = QLineEdit()
        self.display = QLineEdit()
        self.role = QComboBox()
        for item in role_items():
            self.role.addItem(item.label, item.key)
        self.community = QComboBox()
        self.community.setEditable(True)
        for item in community_items(window.db, none=True):
            self.community.addItem(item.label, item.key)
        self.unit = QComboBox()
        self.unit.setEditable(True)
        self.unit.addItem(tr("(none)"), "")
        for item in unit_items(window.db):
            self.unit.addItem(f"{item.label} ({item.key})", item.key)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        for label, widget in [
            (tr("User name"), self.name),
            (tr("Name shown"), self.display),
            (tr("Role"), self.role),
            (tr("Community"), self.community),
            (tr("Unit"), self.unit),
            (tr("Password"), self.password),
            (tr("Repeat the password"), self.repeat),
        ]:
            self.form.addRow(label, widget)
        for combo in (self.community, self.unit):
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.name.setFocus()  # Enter anywhere submits (the dialog's default button)

    @staticmethod
    def _chosen(combo: QComboBox) -> str | None:
        index = combo.findText(combo.currentText())
        return str(combo.itemData(index)) or None if index >= 0 else combo.currentText().strip() or None

    def submit(self) -> None:
        """Create the user, or say what is wrong and keep what was typed."""
        if self.password.text() != self.repeat.text():
            self.error.setText(tr("The two passwords differ."))
            self.repeat.setFocus()
            return
        role = str(self.role.currentData())
        try:
            actor = accounts.add_user(
                self.w.db,
                self.w.actor,
                self.name.text().strip(),
                role,
                self.password.text(),
                community=self._chosen(self.community),
                unit=self._chosen(self.unit),
                display_name=self.display.text().strip(),
            )
        except WorkstationError as exc:
            self.error.setText(exc.message)
            return
        self.created = actor.name
        self.accept()


class UsersPage:
    """The accounts list and the administrator's commands on it."""

    title = N_("Users")
    export_name = "users.csv"

    def __init__(self, window: AdminWindow) -> None:
        self.w = window
        self.model = UsersModel(window)
        self.pane = TablePane(
            self.model,
            tr("n add · x disable/enable · p password · u unlock · r role · c community/unit · / search · Ctrl+E"),
            widths=WIDTHS,
        )
        self.pane.setObjectName("usersPane")
        self.pane.table.setObjectName("usersTable")

    def handlers(self) -> dict[str, Callable[[], None]]:
        """The command id -> handler of this page's commands."""
        return {
            "admin.user_add": self.add,
            "admin.user_active": self.toggle_active,
            "admin.user_password": self.reset_password,
            "admin.user_unlock": self.unlock,
            "admin.user_role": self.change_role,
            "admin.user_place": self.set_place,
        }

    def reload(self) -> None:
        """Read the accounts again (the selected one stays selected)."""
        rows = accounts.user_rows(self.w.db, self.w.actor)
        now = utcnow()
        for row in rows:  # a lock after wrong passwords shows until it ends
            until = lockout.failures(self.w.db, lockout.USER, str(row["name"]))[1]
            row["locked_until"] = until if until is not None and until > now else None
        self.pane.set_rows(rows)

    def summary(self) -> str:
        """The counts for the status bar."""
        rows = self.model.rows
        return tr("{n} users · {active} active", n=len(rows), active=sum(1 for r in rows if r["active"]))

    def _user(self) -> Row | None:
        self.w.show_page(self)
        row = self.pane.current()
        if row is None:
            self.w.notify(tr("Select a user first."), error=True)
        return row

    def _run(self, what: Callable[[], Any], done: str, select: str | None = None) -> None:
        try:
            what()
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return
        self.reload()
        if select is not None:
            position = self.model.position_of(select)
            if position is not None:
                self.pane.select(position)
        self.w.notify(done)
        self.w.update_summary()

    def add(self) -> None:
        """``n``: the new-user form."""
        self.w.show_page(self)
        form = UserForm(self.w, self.w)
        try:
            created = form.created if form.exec() else None
        finally:
            form.deleteLater()
            self.w.restore_focus()
        if created:
            self._run(lambda: None, tr("User {name} added: they can sign in now.", name=created), select=created)

    def toggle_active(self) -> None:
        """``x``: disable the selected user (no more sign-in), or enable a disabled one again."""
        row = self._user()
        if row is None:
            return
        name, active = str(row["name"]), not row["active"]
        self._run(
            lambda: accounts.set_active(self.w.db, self.w.actor, name, active),
            tr("{name} enabled: they can sign in again.", name=name)
            if active
            else tr("{name} disabled: they can no longer sign in (x enables again).", name=name),
        )

    def reset_password(self) -> None:
        """``p``: a new password for the selected user, typed twice."""
        row = self._user()
        if row is None:
            return
        name = str(row["name"])
        dialog = PasswordForm(self.w, name)
        try:
            done = bool(dialog.exec())
        finally:
            dialog.deleteLater()
            self.w.restore_focus()
        if done:
            self.w.notify(tr("New password set for {name}: tell them in person.", name=name))

    def unlock(self) -> None:
        """``u``: clear the lock (and the count) of wrong passwords of the selected user."""
        row = self._user()
        if row is None:
            return
        name = str(row["name"])
        self._run(
            lambda: lockout.unlock(self.w.db, self.w.actor, name=name),
            tr("{name} can sign in again: the wrong passwords are forgotten.", name=name),
        )

    def change_role(self) -> None:
        """``r``: another role; station staff then pick a community, unit accounts a unit."""
        row = self._user()
        if row is None:
            return
        name = str(row["name"])
        role = self.w.pick(tr("Role of {name}", name=name), role_items())
        if role is None:
            return
        community = unit = None
        if role == Role.STATION and not row["community_code"]:
            community = self.w.pick(tr("Community of {name}", name=name), community_items(self.w.db))
            if community is None:
                return
        if role == Role.UNIT and not row["unit_code"]:
            unit = self.w.pick(tr("Unit of {name}", name=name), unit_items(self.w.db))
            if unit is None:
                return
        self._run(
            lambda: accounts.change_role(self.w.db, self.w.actor, name, str(role), community=community, unit=unit),
            tr("{name} is now {role}.", name=name, role=role_label(str(role))),
        )

    def set_place(self) -> None:
        """``c``: the community (station staff and others) or the unit (unit accounts)."""
        row = self._user()
        if row is None:
            return
        name = str(row["name"])
        if row["role"] == Role.UNIT:
            unit = self.w.pick(tr("Unit of {name}", name=name), unit_items(self.w.db))
            if unit is not None:
                self._run(
                    lambda: accounts.set_place(self.w.db, self.w.actor, name, unit=str(unit)),
                    tr("{name} now belongs to unit {unit}.", name=name, unit=unit),
                )
            return
        community = self.w.pick(
            tr("Community of {name}", name=name),
            community_items(self.w.db, none=row["role"] != Role.STATION),
        )
        if community is not None:
            self._run(
                lambda: accounts.set_place(self.w.db, self.w.actor, name, community=str(community)),
                tr("{name}'s community changed.", name=name),
            )


class PasswordForm(_Form):
    """A new password for one user, typed twice; Enter submits."""

    def __init__(self, window: AdminWindow, name: str) -> None:
        super().__init__(tr("Reset the password of {name}", name=name), "", window)
        self.setObjectName("passwordForm")
        self.w, self.user = window, name
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(tr("New password"), self.password)
        self.form.addRow(tr("Repeat the password"), self.repeat)
        self.password.setFocus()

    def submit(self) -> None:
        """Set the password, or say what is wrong."""
        if self.password.text() != self.repeat.text():
            self.error.setText(tr("The two passwords differ."))
            self.repeat.setFocus()
            return
        try:
            accounts.reset_password(self.w.db, self.w.actor, self.user, self.password.text())
        except WorkstationError as exc:
            self.error.setText(exc.message)
            return
        self.accept()
