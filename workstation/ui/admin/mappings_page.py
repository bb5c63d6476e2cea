"""The service-mappings page of the administrator's window: each source's codes and their categories.

The same rows as the quarantine dialog's mapping tab (unmapped codes first, with the reports they
left waiting); ``e`` or Enter picks the category a code stands for, or none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.intake import mappings
from workstation.services.errors import WorkstationError
from workstation.ui.pickers import PickItem
from workstation.ui.quarantine_view import MappingModel, mapping_rows
from workstation.ui.table_pane import TablePane
from workstation.ui.triage import Triage

if TYPE_CHECKING:
    from workstation.ui.admin.window import AdminWindow


class MappingsPage:
    """Every mapping row and the administrator's edit of it."""

    title = N_("Service mappings")
    export_name = "service-mappings.csv"

    def __init__(self, window: AdminWindow) -> None:
        self.w = window
        self.model = MappingModel(window)
        self.pane = TablePane(self.model, tr("e or Enter: map to a category · / search · Ctrl+E export"))
        self.pane.setObjectName("mappingsPane")
        self.pane.table.setObjectName("mappingsTable")
        self.pane.activated.connect(self.edit)
        for column, width in enumerate((120, 110, 220, 120)):
            self.pane.table.setColumnWidth(column, width)

    def handlers(self) -> dict[str, Callable[[], None]]:
        """The command id -> handler of this page's commands."""
        return {"admin.mapping_edit": self.edit}

    def reload(self) -> None:
        """Read the mappings again."""
        self.pane.set_rows(mapping_rows(self.w.db))

    def summary(self) -> str:
        """The counts for the status bar."""
        rows = self.model.rows
        return tr(
            "{n} service codes · {unmapped} unmapped",
            n=len(rows),
            unmapped=sum(1 for r in rows if r["category_code"] is None),
        )

    def edit(self) -> None:
        """``e``: the category the selected code stands for (suggested from its name), or none."""
        self.w.show_page(self)
        row = self.pane.current()
        if row is None:
            self.w.notify(tr("No service code selected: the sources list theirs when they are first polled."))
            return
        name = str(row["service_name"] or row["service_code"])
        items = Triage(self.w).category_items({"text": name, "grid": None})  # type: ignore[arg-type]
        items.append(PickItem("", tr("none: reports arrive uncategorised"), "", ("none",)))
        code = self.w.pick(
            tr(
                "{source}: service {code} ({name}) stands for…",
                source=row["source"],
                code=row["service_code"],
                name=name,
            ),
            items,
        )
        if code is None:
            return
        try:
            mappings.set_mapping(self.w.db, self.w.actor, str(row["source"]), str(row["service_code"]), code or None)
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return
        self.reload()
        self.w.update_summary()
        self.w.notify(
            tr(
                "{source} service {code} now maps to {category}: its next reports arrive categorised.",
                source=row["source"],
                code=row["service_code"],
                category=code,
            )
            if code
            else tr("{source} service {code} is unmapped again.", source=row["source"], code=row["service_code"])
        )
