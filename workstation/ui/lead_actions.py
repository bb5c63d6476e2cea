"""The shift lead's work on the selected case: 督办, 挂账 and 恢复, 重新受理, and the extension decision.

Each flow refuses at once (in the status bar) what the lifecycle would refuse for the case's state
or the user's role, asks only what the action needs (a reason, a note, approve or refuse), and runs
the one lifecycle service with the version the lead saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.services import lifecycle as lc
from workstation.services.errors import WorkstationError
from workstation.ui.pickers import PickItem
from workstation.ui.station.prompts import TextPrompt

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

SUSPEND_REASONS = [
    N_("Needs funding or a project that cannot be arranged within the time limit"),
    N_("Depends on a decision of a higher authority"),
    N_("Disputed responsibility: waiting for the district to assign it"),
]


def ask_text(window: Any, title: str, label: str, *, required: bool, example: str = "") -> str | None:
    """One line of text in a dialog; None when it was cancelled. The keyboard returns to the list."""
    prompt = TextPrompt(title, label, window, required=required, example=example)
    try:
        return prompt.text if prompt.exec() else None
    finally:
        prompt.deleteLater()
        window.restore_focus()


class LeadActions:
    """Runs the lead's case commands for the operator's window."""

    def __init__(self, window: MainWindow) -> None:
        self.w = window

    def handlers(self) -> dict[str, Callable[[], None]]:
        """The command id -> handler of each lead command."""
        return {
            "case.supervise": self.supervise,
            "case.suspend": self.suspend,
            "case.resume": self.resume,
            "case.reopen": self.reopen,
            "case.extension": self.extension,
        }

    def _case(self, action: str) -> dict[str, Any] | None:
        """The selected case if the lead may take the action on it now; otherwise say why (None)."""
        case = self.w.triage._case()
        if case is None:
            return None
        try:
            lc.check_allowed(self.w.actor, case["id"], case["status"], action)
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return None
        return case

    def _run(self, case: dict[str, Any], what: Callable[[], lc.Outcome], done: str) -> None:
        if self.w.triage._run(case, what, done):
            self.w.refresh(keep=case["id"], advance=False)

    def supervise(self) -> None:
        """``s``: 督办 an overdue case, with an optional note to the unit."""
        case = self._case("supervise")
        if case is None:
            return
        if not case["overdue"]:
            self.w.notify(tr("Case #{id} is not overdue; supervision is for overdue cases.", id=case["id"]), error=True)
            return
        note = ask_text(
            self.w,
            tr("Supervise case #{id}", id=case["id"]),
            tr("A note to {unit} (optional): Enter supervises.", unit=case["unit_name"] or "-"),
            required=False,
        )
        if note is not None:
            self._run(
                case,
                lambda: lc.supervise(self.w.db, self.w.actor, case["id"], note, expected_version=case["version"]),
                tr("Case #{id} supervised: {unit} is pressed.", id=case["id"], unit=case["unit_name"] or "-"),
            )

    def suspend(self) -> None:
        """``g``: 挂账 with the explanation (a usual one from the list, or typed)."""
        case = self._case("suspend")
        if case is None:
            return
        items = [PickItem(tr(r), tr(r)) for r in SUSPEND_REASONS]
        reason = self.w.pick(
            tr("Suspend case #{id}: why can it not be solved in time?", id=case["id"]),
            items,
            free_text=True,
            hint=tr("Pick a reason, or type your own and press Enter"),
        )
        if reason:
            self._run(
                case,
                lambda: lc.suspend(self.w.db, self.w.actor, case["id"], str(reason), expected_version=case["version"]),
                tr("Case #{id} suspended.", id=case["id"]),
            )

    def resume(self) -> None:
        """``h``: 恢复 a suspended case: it is the unit's again."""
        case = self._case("resume")
        if case is not None:
            self._run(
                case,
                lambda: lc.resume(self.w.db, self.w.actor, case["id"], expected_version=case["version"]),
                tr("Case #{id} resumed: back with {unit}.", id=case["id"], unit=case["unit_name"] or "-"),
            )

    def reopen(self) -> None:
        """``r``: 重新受理 a rejected or merged report, with the reason."""
        case = self._case("reopen")
        if case is None:
            return
        reason = ask_text(
            self.w,
            tr("Reopen case #{id}", id=case["id"]),
            tr("Why is the report taken up again? (required)"),
            required=True,
        )
        if reason:
            self._run(
                case,
                lambda: lc.reopen(self.w.db, self.w.actor, case["id"], reason, expected_version=case["version"]),
                tr("Case #{id} reopened: it is back in the new reports.", id=case["id"]),
            )

    def extension(self) -> None:
        """``e``: approve or refuse the pending extension request; a refusal needs a reason."""
        case = self._case("decide_extension")
        if case is None:
            return
        pending = [x for x in case.get("extensions", []) if x["status"] == "pending"]
        if not pending:
            self.w.notify(tr("Case #{id} has no extension request waiting.", id=case["id"]), error=True)
            return
        req = pending[0]
        detail = tr(
            "{limit} more, asked by {who}: {reason}", limit=req["limit"], who=req["requested_by"], reason=req["reason"]
        )
        choice = self.w.pick(
            tr("Extension for case #{id}", id=case["id"]),
            [PickItem(True, tr("Approve"), detail), PickItem(False, tr("Refuse"), detail)],
        )
        if choice is None:
            return
        reason = ""
        if not choice:
            answer = ask_text(
                self.w, tr("Refuse the extension"), tr("Why is it refused? (required; the unit is told)"), required=True
            )
            if not answer:
                return
            reason = answer
        self._run(
            case,
            lambda: lc.decide_extension(
                self.w.db, self.w.actor, case["id"], bool(choice), reason, expected_version=case["version"]
            ),
            tr("Extension approved for case #{id}.", id=case["id"])
            if choice
            else tr("Extension refused for case #{id}.", id=case["id"]),
        )
