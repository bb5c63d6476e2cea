"""The station's actions: record a visit, raise a case, major change, reveal, export, import a roster.

Each flow asks what it needs (a picker, a prompt, the visit form), calls one care service, and says
the outcome in the status bar; a refused action says why (in red) and what to do next.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog
from sqlalchemy import func, select

from workstation.domain.care import CHANGE_KINDS
from workstation.i18n import tr
from workstation.models import CarePerson, Community, Street
from workstation.services import care_export, care_privacy, care_visits, care_worklist
from workstation.services.errors import WorkstationError
from workstation.ui.pickers import Picker, PickItem
from workstation.ui.station.coverage import CoverageDialog
from workstation.ui.station.import_dialog import ImportDialog
from workstation.ui.station.prompts import ClearValueDialog, TextPrompt
from workstation.ui.station.visit_dialog import VisitDialog

if TYPE_CHECKING:
    from workstation.ui.station.window import StationWindow


def case_list(ids: list[int]) -> str:
    """``#12, #13``."""
    return ", ".join(f"#{i}" for i in ids)


class CareActions:
    """Runs the care commands for a station window."""

    def __init__(self, window: StationWindow) -> None:
        self.w = window

    # -- helpers -----------------------------------------------------------------------------------

    def _page(self) -> dict[str, Any] | None:
        """The selected person's page, read fresh (None, with a message, when nobody is selected)."""
        if self.w.current_person() is None:
            self.w.notify(tr("Select a person first (j / k or the arrow keys)."), error=True)
            return None
        return self.w.current_page()

    def _prompt(self, prompt: TextPrompt) -> bool:
        accepted = bool(prompt.exec())
        prompt.deleteLater()
        self.w.restore_focus()
        if prompt.failure is not None:
            self.w.notify(prompt.failure.message, error=True)
            return False
        return accepted

    def _done(self, person_id: int, text: str) -> None:
        self.w.refresh(keep=person_id, page=True)
        self.w.notify(text)

    # -- community ---------------------------------------------------------------------------------

    def choose_community(self) -> None:
        """Leads and administrators: pick the community whose worklist to show."""
        with self.w.db.read() as s:
            people = dict(
                s.execute(
                    select(CarePerson.community_code, func.count())
                    .where(CarePerson.active.is_(True))
                    .group_by(CarePerson.community_code)
                ).all()
            )
            rows = s.execute(
                select(Community.code, Community.name, Street.name)
                .join(Street, Street.code == Community.street_code)
                .order_by(Community.code)
            ).all()
        items = [
            PickItem(
                code,
                name,
                tr("{street} · {n} people on the roster", street=street, n=people.get(code, 0)),
                (code, street),
                suggested=code == self.w.community,
            )
            for code, name, street in rows
        ]
        items.sort(key=lambda i: (not i.suggested, -people.get(i.key, 0), i.key))
        chosen = self.w.pick(tr("Choose the community"), items, hint=tr("Type the community's name, code or street"))
        if chosen:
            self.w.set_community(chosen)

    # -- visits ------------------------------------------------------------------------------------

    def record_visit(self, focus_needs: bool = False) -> None:
        """``r``: the visit form; Ctrl+Enter saves, needs marked so become cases."""
        page = self._page()
        if page is None:
            return
        person_id = page["id"]

        def save(values: dict[str, Any]) -> care_visits.VisitRecorded:
            return care_visits.record_visit(self.w.db, self.w.actor, person_id, **values)

        dialog = VisitDialog(f"{page['name']} ({page['grid_name']})", save, self.w, focus_needs=focus_needs)
        self.w.current_picker = dialog
        accepted = dialog.exec()
        self.w.current_picker = None
        outcome = dialog.outcome
        dialog.deleteLater()
        self.w.restore_focus()
        if not accepted or outcome is None:
            return
        cases = [c for c in outcome.case_ids if c is not None]
        if not outcome.created:
            text = tr("This visit was already recorded.")
        elif len(cases) == 1:
            text = tr("Visit recorded; case {ids} raised.", ids=case_list(cases))
        elif cases:
            text = tr("Visit recorded; cases {ids} raised.", ids=case_list(cases))
        else:
            text = tr("Visit recorded.")
        self._done(person_id, text)

    def raise_case(self) -> None:
        """``n``: the latest visit's need without a case becomes one (a picker when there are several)."""
        page = self._page()
        if page is None:
            return
        for visit in page["visits"]:
            pending = [n for n in visit["needs"] if not n["case_id"]]
            if pending:
                break
        else:
            self.w.notify(tr("No need without a case: record the visit and type the need."))
            self.record_visit(focus_needs=True)
            return
        need = pending[0]
        if len(pending) > 1:
            items = [
                PickItem(
                    n,
                    n["text"],
                    tr("urgent") if n["urgent"] else "",
                    (str(n["seq"]),),
                    suggested=n["urgent"],
                )
                for n in pending
            ]
            picked = self.w.pick(tr("Which need becomes a case?"), items)
            if not picked:
                return
            need = picked
        try:
            case_id = care_visits.raise_case_from_need(self.w.db, self.w.actor, visit["id"], need["seq"])
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return
        self._done(page["id"], tr("Case #{id} raised: {need}", id=case_id, need=need["text"]))

    def major_change(self) -> None:
        """``u``: a hospital stay, bereavement, living alone, extreme weather: due within 24 hours."""
        page = self._page()
        if page is None:
            return
        items = [PickItem(kind, tr(label), "", (kind,)) for kind, label in CHANGE_KINDS.items()]
        kind = self.w.pick(tr("Major change of {name}", name=page["name"]), items)
        if not kind:
            return

        def submit(note: str) -> int:
            return care_visits.record_major_change(self.w.db, self.w.actor, page["id"], kind, note=note)

        prompt = TextPrompt(
            tr("Major change: {kind}", kind=tr(CHANGE_KINDS[kind])),
            tr("A note (optional): what happened, since when."),
            self.w,
            submit=submit,
        )
        if self._prompt(prompt):
            self._done(
                page["id"],
                tr("Major change recorded: {name} is due for a visit within 24 hours.", name=page["name"]),
            )

    # -- privacy -----------------------------------------------------------------------------------

    def reveal(self) -> None:
        """``s``: one masked field in clear, with a reason; the reveal is recorded."""
        page = self._page()
        if page is None:
            return
        if not page["can_reveal"]:
            try:
                care_privacy.require_reveal(self.w.actor, page["community"], "-")
            except WorkstationError as exc:
                self.w.notify(exc.message, error=True)
            return
        # the label only: the field id still matches when typed, but is not shown
        items = [PickItem(key, tr(label), "", (key,)) for key, label in care_privacy.REVEALABLE.items()]
        field = self.w.pick(tr("Reveal which field of {name}?", name=page["name"]), items)
        if not field:
            return

        def submit(reason: str) -> Any:
            return care_privacy.reveal(self.w.db, self.w.actor, page["id"], field, reason)

        prompt = TextPrompt(
            tr("Reveal: {field}", field=tr(care_privacy.REVEALABLE[field])),
            tr("Why do you need the clear value? The reason is recorded with your name."),
            self.w,
            required=True,
            submit=submit,
        )
        if not self._prompt(prompt):
            return
        shown = ClearValueDialog(
            tr("{field} of {name}", field=tr(care_privacy.REVEALABLE[field]), name=page["name"]),
            prompt.value,
            tr("Recorded: {user}, reason “{reason}”. Esc closes.", user=self.w.actor.name, reason=prompt.text),
            self.w,
        )
        shown.exec()
        shown.deleteLater()
        self.w.restore_focus()
        self.w.notify(tr("Reveal recorded in the audit."))

    # -- the community -----------------------------------------------------------------------------

    def coverage(self) -> None:
        """``g``: the share of people visited on time and the overdue, per grid."""
        if not self.w.community:
            self.w.notify(tr("Choose a community first (Ctrl+1)."), error=True)
            return
        try:
            data = care_worklist.coverage(self.w.db, self.w.actor, self.w.community)
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return
        dialog = CoverageDialog(data, self.w)
        dialog.exec()
        dialog.deleteLater()
        self.w.restore_focus()

    def export(self, path: str | None = None) -> Path | None:
        """``Ctrl+E``: the visit ledger as .xlsx, masked (or in clear with a recorded reason)."""
        if not self.w.community:
            self.w.notify(tr("Choose a community first (Ctrl+1)."), error=True)
            return None
        clear = False
        if care_privacy.may_reveal(self.w.actor, self.w.community):
            items = [
                PickItem(False, tr("Masked (as shown on screen)"), "", ("masked",), suggested=True),
                PickItem(True, tr("In clear (needs a reason; recorded)"), "", ("clear", "unmasked")),
            ]
            picker = Picker(tr("Export the visit ledger"), items, self.w)
            self.w.current_picker = picker
            accepted = picker.exec()
            self.w.current_picker = None
            clear = bool(picker.chosen)
            picker.deleteLater()
            self.w.restore_focus()
            if not accepted:
                return None
        if path is None:
            default = f"{tr('visit-ledger')}-{self.w.community}-{date.today().isoformat()}.xlsx"
            path, _ = QFileDialog.getSaveFileName(self.w, tr("Export the visit ledger"), default, "Excel (*.xlsx)")
            self.w.restore_focus()
        if not path:
            return None
        target = path if path.lower().endswith(".xlsx") else path + ".xlsx"

        def write(reason: str | None) -> care_export.ExportResult:
            return care_export.export_ledger(
                self.w.db, self.w.actor, target, community=self.w.community, reveal_reason=reason
            )

        try:
            if clear:
                prompt = TextPrompt(
                    tr("Export in clear"),
                    tr("Why do you need the ledger in clear? The reason is recorded with your name."),
                    self.w,
                    required=True,
                    submit=write,
                )
                if not self._prompt(prompt):
                    return None
                result = prompt.value
            else:
                result = write(None)
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return None
        word = tr("in clear (recorded)") if result.revealed else tr("masked")
        self.w.notify(tr("{n} visits written to {path}, {word}", n=result.rows, path=result.path, word=word))
        return Path(result.path)

    def import_roster(self, path: str | None = None) -> int:
        """``Ctrl+I``: a roster .xlsx checked row by row, then imported all or nothing; returns how many."""
        if not self.w.community:
            self.w.notify(tr("Choose a community first (Ctrl+1)."), error=True)
            return 0
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.w, tr("Import a roster from Excel"), "", "Excel (*.xlsx)")
            self.w.restore_focus()
        if not path:
            return 0
        try:
            dialog = ImportDialog(
                self.w.db, self.w.actor, Path(path), self.w.community, self.w, label=self.w.community_name
            )
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return 0
        self.w.current_picker = dialog
        accepted = dialog.exec()
        self.w.current_picker = None
        result = dialog.outcome
        dialog.deleteLater()
        self.w.restore_focus()
        if not accepted or result is None:
            return 0
        name = Path(path).name
        if result.bad:
            text = tr(
                "{n} people imported from {file}; {bad} bad rows skipped.",
                n=result.imported,
                file=name,
                bad=len(result.bad_rows),
            )
        else:
            text = tr("{n} people imported from {file}.", n=result.imported, file=name)
        self.w.refresh(page=True)
        self.w.notify(text)
        return result.imported
