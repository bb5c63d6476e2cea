"""The operator's actions on the selected case: pickers, service calls, and what happens next.

Each flow asks what it needs through a picker, calls one service with the version the operator
saw, and reports the outcome; a refused action says why and leaves the case as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workstation import clock
from workstation.assist.categories import suggest_categories, suggest_unit
from workstation.assist.duplicates import merge_candidates
from workstation.assist.hotspots import JOINT_UNIT, hotspots, repeat_of
from workstation.assist.places import locate
from workstation.domain.reasons import REJECT_REASONS, REWORK_REASONS
from workstation.formatting import limit_text
from workstation.i18n import tr
from workstation.models import Case, Category, Unit
from workstation.services import lifecycle as lc
from workstation.services.errors import WorkstationError
from workstation.services.queries import get_case
from workstation.services.territory import place_of
from workstation.ui.pickers import PickItem

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

class Triage:
    """Runs the case commands for a window."""

    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.last_acted: int | None = None

    # -- helpers -----------------------------------------------------------------------------------

    def _case(self) -> dict[str, Any] | None:
        case = self.w.current_case()
        if case is None:
            self.w.notify(tr("Select a case first."))
        return case

    def _run(self, case: dict[str, Any], what: Callable[[], lc.Outcome], done: str) -> bool:
        try:
            what()
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            self.w.refresh(keep=case["id"])
            return False
        self.last_acted = case["id"]
        self.w.count_keystroke_case(case["id"])
        self.w.notify(done)
        return True

    # -- file and dispatch -------------------------------------------------------------------------

    def category_items(self, case: dict[str, Any]) -> list[PickItem]:
        """Suggested categories first (with why), then the whole catalogue."""
        with self.w.db.read() as s:
            suggestions = suggest_categories(s, case["text"], case.get("grid"), limit=3, wait=False)
            cats = s.scalars(select(Category).where(Category.active).order_by(Category.code)).all()
        items = [
            PickItem(sug.code, f"{sug.code} {sug.name}", "; ".join(sug.reasons), (sug.code,), True)
            for sug in suggestions
        ]
        seen = {sug.code for sug in suggestions}
        items += [
            PickItem(
                c.code,
                f"{c.code} {c.name}",
                f"{c.major_name} · {limit_text(c.time_limit)}",
                (c.code, c.major_name, *c.keywords),
            )
            for c in cats
            if c.code not in seen
        ]
        return items

    def file(self) -> None:
        """``f``: pick the category, file, then go straight on to dispatch."""
        case = self._case()
        if case is None:
            return
        code = self.w.pick(tr("File case #{id} under…", id=case["id"]), self.category_items(case))
        if code is None:
            return
        if not self._run(
            case,
            lambda: lc.file(self.w.db, self.w.actor, case["id"], code, expected_version=case["version"]),
            tr("Case #{id} filed as {code}.", id=case["id"], code=code),
        ):
            return
        self.dispatch(case_id=case["id"])

    def unit_items(self, case_id: int, exclude: set[str] | None = None) -> list[PickItem]:
        """The suggested unit first, resolved to the concrete team, office or department; then all units."""
        exclude = exclude or set()
        with self.w.db.read() as s:
            case = s.get(Case, case_id)
            assert case is not None
            suggested = lc.suggested_unit(s, case)
            why = tr("category {code} names this unit", code=case.category_code)
            grid_code = case.grid_code
            if grid_code is None:  # no grid given: the unit follows the place the words name
                from_words = suggest_unit(s, case)
                found = locate(" ".join(part for part in (case.address, case.text) if part))
                grid_code = found.grid_code if found else None
                if from_words is not None:
                    suggested, why = s.get(Unit, from_words.code), from_words.reason
            place = place_of(s, grid_code)
            units = s.scalars(select(Unit).where(Unit.active).order_by(Unit.kind, Unit.code)).all()
            joint = s.get(Unit, JOINT_UNIT)
        repeat = repeat_of(self.w.db, case_id) if case.category_code else None
        local = (
            {f"GRID-{place.grid_code}", f"STREET-{place.street_code}", f"COMMUNITY-{place.community_code}"}
            if place
            else set()
        )
        items = []
        if suggested is not None and suggested.code not in exclude:
            items.append(PickItem(suggested.code, suggested.name, why, (suggested.code,), True))
        if repeat is not None and joint is not None and joint.active and JOINT_UNIT not in exclude:
            earlier = ", ".join(f"#{cid}" for cid in repeat.earlier)
            reason = repeat.reason + "; " + tr("earlier: {cases}", cases=earlier)
            items.append(PickItem(joint.code, joint.name, reason, (joint.code,), True))
        ordered = (
            [u for u in units if u.code in local]
            + [u for u in units if u.kind in ("department", "enterprise")]
            + [u for u in units if u.code not in local and u.kind not in ("department", "enterprise")]
        )
        for u in ordered:
            offered = {item.key for item in items}
            if u.code not in offered and u.code not in exclude:
                items.append(PickItem(u.code, u.name, u.code, (u.code,)))
        return items

    def dispatch(self, case_id: int | None = None) -> None:
        """``d``: dispatch or re-dispatch; the suggested unit is selected, so Enter sends it.

        Right after filing, ``case_id`` is the case just filed (it may have left the queue in view).
        """
        case = get_case(self.w.db, case_id) if case_id is not None else self._case()
        if case is None:
            return
        with self.w.acting(case["id"]):  # the panel shows it and the seat holds it until it is sent
            unit = self.w.pick(tr("Dispatch case #{id} to…", id=case["id"]), self.unit_items(case["id"]))
            sent = unit is not None and self._run(
                case,
                lambda: lc.dispatch(self.w.db, self.w.actor, case["id"], unit, expected_version=case["version"]),
                tr("Case #{id} dispatched.", id=case["id"]),
            )
        if unit is None:
            if case_id is not None:
                self.w.refresh(keep=case["id"], advance=False)
            return
        if sent:
            self.w.refresh(keep=case["id"], advance=True)

    def add_unit(self) -> None:
        """``a``: add a co-unit."""
        case = self._case()
        if case is None:
            return
        exclude = {case["unit_code"], *(u["code"] for u in case.get("co_units", []))}
        unit = self.w.pick(
            tr("Add a co-unit to case #{id}", id=case["id"]),
            [i for i in self.unit_items(case["id"], exclude) if not i.suggested],
        )
        if unit and self._run(
            case,
            lambda: lc.add_unit(self.w.db, self.w.actor, case["id"], unit, expected_version=case["version"]),
            tr("Co-unit added to case #{id}.", id=case["id"]),
        ):
            self.w.refresh(keep=case["id"], advance=False)

    # -- reject, merge -----------------------------------------------------------------------------

    def reject(self) -> None:
        """``x``: reject with a reason from the list, or a typed one."""
        case = self._case()
        if case is None:
            return
        items = [PickItem(tr(r), tr(r)) for r in REJECT_REASONS]
        reason = self.w.pick(
            tr("Reject case #{id}: why?", id=case["id"]),
            items,
            free_text=True,
            hint=tr("Pick a reason, or type your own and press Enter"),
        )
        if reason and self._run(
            case,
            lambda: lc.reject(self.w.db, self.w.actor, case["id"], str(reason), expected_version=case["version"]),
            tr("Case #{id} rejected.", id=case["id"]),
        ):
            self.w.refresh(keep=case["id"], advance=True)

    def hotspots(self) -> None:
        """``Ctrl+Shift+H``: the hot spots of the last 30 days; picking one shows its latest case."""
        spots = hotspots(self.w.db, clock.now())
        items = [
            PickItem(
                spot.case_ids[-1],
                tr("{grid} · {code} {name}", grid=spot.grid_name, code=spot.category, name=spot.category_name),
                tr(
                    "{n} reports: {cases}",
                    n=spot.count,
                    cases=", ".join(f"#{cid}" for cid in spot.case_ids),
                ),
                (spot.grid_name, spot.category, spot.category_name),
                True,
            )
            for spot in spots
        ]
        if not items:
            self.w.notify(tr("No hot spots in the last 30 days."))
            return
        chosen = self.w.pick(tr("Hot spots: repeat complaints for the 4+X joint team"), items)
        if chosen is None:
            return
        self.w.show_queue("all")
        self.w.refresh(select=int(chosen))

    def merge(self) -> None:
        """``m``: merge into a duplicate; likely candidates first, or type a case number."""
        case = self._case()
        if case is None:
            return
        candidates = merge_candidates(self.w.db, case["id"], wait=False)
        items = []
        seen: dict[int, int] = {}  # the version of each candidate shown: a target changed since is a conflict
        for cand in candidates:
            other = get_case(self.w.db, cand.case_id, history=False)
            seen[cand.case_id] = other["version"]
            items.append(
                PickItem(
                    cand.case_id,
                    f"#{cand.case_id} {other['text'][:40]}",
                    "; ".join(cand.reasons),
                    (str(cand.case_id),),
                    True,
                )
            )
        target = self.w.pick(
            tr("Merge case #{id} into…", id=case["id"]),
            items,
            free_text=True,
            hint=tr("Pick a candidate, or type the case number"),
        )
        if target is None:
            return
        try:
            into = int(str(target).lstrip("#"))
        except ValueError:
            self.w.notify(tr("{value} is not a case number.", value=target), error=True)
            return
        if self._run(
            case,
            lambda: lc.merge(
                self.w.db,
                self.w.actor,
                case["id"],
                into,
                expected_version=case["version"],
                expected_into_version=seen.get(into),
            ),
            tr("Case #{id} merged into #{into}.", id=case["id"], into=into),
        ):
            self.w.refresh(keep=case["id"], advance=True)

    # -- verification and closure ------------------------------------------------------------------

    def verify(self) -> None:
        """``v``: send to on-site verification."""
        case = self._case()
        if case and self._run(
            case,
            lambda: lc.verify(self.w.db, self.w.actor, case["id"], expected_version=case["version"]),
            tr("Case #{id} sent to verification.", id=case["id"]),
        ):
            self.w.refresh(keep=case["id"], advance=True)

    def close(self) -> None:
        """``c``: close a verified case."""
        case = self._case()
        if case and self._run(
            case,
            lambda: lc.close(self.w.db, self.w.actor, case["id"], expected_version=case["version"]),
            tr("Case #{id} closed.", id=case["id"]),
        ):
            self.w.refresh(keep=case["id"], advance=True)

    def rework(self) -> None:
        """``w``: back to the unit for rework, with a reason."""
        case = self._case()
        if case is None:
            return
        items = [PickItem(tr(r), tr(r)) for r in REWORK_REASONS]
        reason = self.w.pick(tr("Rework case #{id}: why?", id=case["id"]), items, free_text=True)
        if reason and self._run(
            case,
            lambda: lc.rework(self.w.db, self.w.actor, case["id"], str(reason), expected_version=case["version"]),
            tr("Case #{id} sent back for rework.", id=case["id"]),
        ):
            self.w.refresh(keep=case["id"], advance=True)

    def undo(self) -> None:
        """``Ctrl+Z``: undo this seat's last action, within 30 seconds."""
        if self.last_acted is None:
            self.w.notify(tr("Nothing to undo."), error=True)
            return
        case_id = self.last_acted
        try:
            lc.undo(self.w.db, self.w.actor, case_id)
        except WorkstationError as exc:
            self.w.notify(exc.message, error=True)
            return
        self.last_acted = None
        self.w.notify(tr("Undone: case #{id} is back as it was.", id=case_id))
        self.w.refresh(keep=case_id, advance=False, select=case_id)
