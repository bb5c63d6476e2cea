"""The account-changes page of the administrator's window: who created, disabled, re-roled or unlocked whom.

Read-only: the record is append-only and hash-chained (``services/account_log.py``); like every list
it can be searched (``/``) and exported (``Ctrl+E``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workstation.domain.lifecycle import N_
from workstation.i18n import role_label, tr
from workstation.services import account_log
from workstation.services.account_log import details_text
from workstation.ui.table_pane import RowsModel, TablePane, local_time

if TYPE_CHECKING:
    from workstation.ui.admin.window import AdminWindow

COLUMNS = [
    ("at", N_("Time")),
    ("actor", N_("By")),
    ("subject", N_("Account")),
    ("action", N_("Change")),
    ("details", N_("Details")),
]


class AccountLogModel(RowsModel):
    """Entries of the record, newest first, as they read."""

    def text(self, row: dict[str, Any], key: str) -> str:
        """One cell: the time in the seat's zone, who with their role, the change and its details in words."""
        if key == "at":
            return local_time(row["at"], None, "%Y-%m-%d %H:%M:%S")
        if key == "actor":
            return f"{row['actor']} ({role_label(row['actor_role'])})"
        if key == "action":
            return str(row["action_label"])
        if key == "details":
            return details_text(row["details"])
        return super().text(row, key)


class AccountLogPage:
    """The record of account changes, newest first."""

    title = N_("Account changes")
    export_name = "account-changes.csv"

    def __init__(self, window: AdminWindow) -> None:
        self.w = window
        self.model = AccountLogModel(COLUMNS, window)
        self.pane = TablePane(self.model, tr("Newest first · / search · Ctrl+E export"))
        self.pane.setObjectName("accountLogPane")
        self.pane.table.setObjectName("accountLogTable")
        for column, width in enumerate((140, 150, 130, 150, 360)):
            self.pane.table.setColumnWidth(column, width)

    def handlers(self) -> dict[str, Callable[[], None]]:
        """The command id -> handler of this page's commands (none but showing it)."""
        return {}

    def reload(self) -> None:
        """Read the record again."""
        self.pane.set_rows(account_log.history(self.w.db, self.w.actor))

    def summary(self) -> str:
        """The count for the status bar."""
        return tr("{n} account changes", n=len(self.model.rows))
