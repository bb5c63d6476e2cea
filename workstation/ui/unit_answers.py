"""A unit's answer phoned in to the seat (签收, 退回, 处置反馈), recorded on the unit's behalf.

The seat picks which unit answered when the case has co-units, types what the unit said, and the
answer goes through the same path as a response from a unit's system
(``intake.responses.record_for_unit``); the history names both the seat's user and the unit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.i18n import tr
from workstation.intake.responses import record_for_unit
from workstation.services import lifecycle as lc
from workstation.services import photos as photo_store
from workstation.services.errors import ValidationError, WorkstationError
from workstation.ui.lead_actions import ask_text
from workstation.ui.pickers import PickItem
from workstation.ui.station.prompts import TextPrompt

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

_ACTION = {"acknowledge": "acknowledge", "return": "return", "handled": "handle"}


class UnitAnswers:
    """Runs the phoned-in answer commands for the operator's window."""

    def __init__(self, window: MainWindow) -> None:
        self.w = window

    def handlers(self) -> dict[str, Callable[[], None]]:
        """The command id -> handler of each command."""
        return {
            "case.unit_acknowledge": lambda: self.record("acknowledge"),
            "case.unit_return": lambda: self.record("return"),
            "case.unit_result": lambda: self.record("handled"),
        }

    def _unit(self, case: dict[str, Any]) -> str | None:
        """The unit that phoned: the case's unit, or a pick among it and its co-units."""
        co = case.get("co_units", [])
        if not co:
            return str(case["unit_code"])
        items = [PickItem(case["unit_code"], case["unit_name"], tr("main unit"), (case["unit_code"],), True)]
        items += [PickItem(u["code"], u["name"], tr("co-unit"), (u["code"],)) for u in co]
        chosen = self.w.pick(tr("Which unit phoned about case #{id}?", id=case["id"]), items)
        return str(chosen) if chosen else None

    def _photos(self, case_id: int) -> list[str] | None:
        """The photos the unit sent: links kept as they are, files stored now; None when cancelled."""

        def submit(text: str) -> list[str]:
            refs = []
            for token in text.split():
                if photo_store.scheme(token) in ("http", "https", "photo"):
                    refs.append(token)
                    continue
                path = Path(token).expanduser()
                try:
                    data = path.read_bytes()
                except OSError:
                    raise ValidationError(
                        tr("{path} is neither a link nor a file that can be read.", path=token), {"photos": token}
                    ) from None
                ref = f"photo://phoned/{case_id}/{uuid.uuid4().hex[:8]}-{path.name}"
                photo_store.put(self.w.db, ref, data)  # refused when it is not an image or too big
                refs.append(ref)
            return refs

        prompt = TextPrompt(
            tr("Photos of the result"),
            tr("The photos the unit sent: links or file paths, separated by spaces (Enter with none: no photos)."),
            self.w,
            submit=submit,
            example="https://… /home/…/after.jpg",
        )
        try:
            accepted = bool(prompt.exec())
        finally:
            prompt.deleteLater()
            self.w.restore_focus()
        if prompt.failure is not None:
            self.w.notify(prompt.failure.message, error=True)
            return None
        return list(prompt.value) if accepted else None

    def record(self, kind: str) -> None:
        """Ask what the unit said and record it on the unit's behalf."""
        case = self.w.triage._case()
        if case is None:
            return
        try:
            lc.check_allowed(self.w.actor, case["id"], case["status"], _ACTION[kind])
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return
        unit = self._unit(case)
        if unit is None:
            return
        name = next((u["name"] for u in case.get("co_units", []) if u["code"] == unit), case["unit_name"])
        answer: dict[str, Any] = {}
        if kind == "return":
            reason = ask_text(
                self.w,
                tr("{unit} returns case #{id}", unit=name, id=case["id"]),
                tr("Why is the case not theirs, as the unit said it? (required)"),
                required=True,
            )
            if not reason:
                return
            answer["reason"] = reason
        elif kind == "handled":
            result = ask_text(
                self.w,
                tr("Result of {unit} for case #{id}", unit=name, id=case["id"]),
                tr("What the unit did, as it said it (required):"),
                required=True,
            )
            if not result:
                return
            photos = self._photos(case["id"])
            if photos is None:
                return
            answer.update(result=result, photos=photos)
        done = {
            "acknowledge": tr("Recorded for {unit}: case #{id} acknowledged.", unit=name, id=case["id"]),
            "return": tr("Recorded for {unit}: case #{id} returned.", unit=name, id=case["id"]),
            "handled": tr("Recorded for {unit}: result of case #{id}.", unit=name, id=case["id"]),
        }[kind]
        if self.w.triage._run(
            case,
            lambda: record_for_unit(
                self.w.db, self.w.actor, case["id"], kind, unit=unit, expected_version=case["version"], **answer
            ),
            done,
        ):
            self.w.refresh(keep=case["id"], advance=False)
