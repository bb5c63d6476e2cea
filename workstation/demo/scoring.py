"""A trainee's score: pure figures from facts, and the facts of a stored run read from the cases' histories.

:func:`score` takes one :class:`ItemFacts` per injected report (what was expected, what the trainee
did and when) and returns a JSON-serialisable dictionary:

- ``dispatch_seconds``: from arrival to the first dispatch, ``median`` and ``p90`` (nearest rank:
  the smallest value that at least 90 % of the values do not exceed), over reports answered with a
  category that were dispatched; ``first_action_seconds`` likewise, to the trainee's first action.
- ``category``/``unit``: expected, correct, accuracy (``None`` when nothing was expected); the unit
  counts over reports answered with a category that were dispatched.
- ``reject``: expected, correct, and ``wrong`` (rejected although the answer was to file or merge).
- ``merge``: expected, correct (merged into the original, directly or through merged reports).
- ``deadlines_missed``; ``keystrokes``: total and per case acted on.

:func:`score_run` reads a run from ``demo_runs``/``demo_run_items``, derives the facts from the
cases' ``case_events`` (only the trainee's own events count as their actions), and scores them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workstation.demo.texts import Answer
from workstation.i18n import tr
from workstation.models import Case, CaseEvent, DemoRun, DemoRunItem, utcnow
from workstation.services.errors import NotFoundError
from workstation.services.territory import place_of, resolve_unit
from workstation.storage.db import Database

TERRITORIAL = ("GRID", "STREET", "COMMUNITY")


@dataclass(frozen=True)
class ItemFacts:
    """What was expected of one report and what the trainee did with it.

    ``expected_unit`` is the concrete unit the answer's unit means at the report's place (or the
    answer's own code when it could not be resolved); ``merged_into`` is the key of the report it
    ended up merged into, following merges to the original.
    """

    key: str
    expected: Answer
    arrival: datetime
    first_action: datetime | None = None
    dispatched: datetime | None = None
    category: str | None = None
    unit: str | None = None
    expected_unit: str | None = None
    rejected: bool = False
    merged_into: str | None = None
    keystrokes: int = 0
    deadline_missed: bool = False

    @property
    def outcome(self) -> str:
        """``rejected``, ``merged``, ``dispatched``, ``filed`` or ``open``."""
        if self.rejected:
            return "rejected"
        if self.merged_into:
            return "merged"
        if self.dispatched:
            return "dispatched"
        return "filed" if self.category else "open"


def unit_matches(expected: str | None, actual: str | None) -> bool:
    """Whether the dispatched unit is the expected one (an unresolved GRID matches any grid team)."""
    if not expected or not actual:
        return False
    if expected in TERRITORIAL:
        return actual.startswith(f"{expected}-")
    return actual == expected


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {"count": len(ordered), "median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


def _ratio(correct: int, expected: int) -> float | None:
    return round(correct / expected, 3) if expected else None


def _correct(item: ItemFacts) -> bool:
    answer = item.expected
    if answer.kind == "reject":
        return item.rejected
    if answer.kind == "merge":
        return item.merged_into == answer.merge
    return (
        not item.rejected
        and not item.merged_into
        and item.category == answer.category
        and (not answer.unit or unit_matches(item.expected_unit or answer.unit, item.unit))
    )


def score(items: Sequence[ItemFacts]) -> dict[str, Any]:
    """The score of a run from its facts (see the module docstring); JSON-serialisable."""
    to_file = [i for i in items if i.expected.kind == "file"]
    dispatched = [i for i in to_file if i.dispatched is not None]
    with_unit = [i for i in dispatched if i.expected.unit]
    rejects = [i for i in items if i.expected.kind == "reject"]
    merges = [i for i in items if i.expected.kind == "merge"]
    acted = [i for i in items if i.first_action is not None]
    keystrokes = sum(i.keystrokes for i in items)
    per_item = [
        {
            "key": i.key,
            "expected": i.expected.to_dict(),
            "outcome": i.outcome,
            "category": i.category,
            "unit": i.unit,
            "merged_into": i.merged_into,
            "correct": _correct(i),
            "first_action_seconds": (i.first_action - i.arrival).total_seconds() if i.first_action else None,
            "dispatch_seconds": (i.dispatched - i.arrival).total_seconds() if i.dispatched else None,
            "deadline_missed": i.deadline_missed,
            "keystrokes": i.keystrokes,
        }
        for i in items
    ]
    return {
        "items": len(items),
        "acted_on": len(acted),
        "correct": sum(1 for i in items if _correct(i)),
        "dispatch_seconds": _stats([(i.dispatched - i.arrival).total_seconds() for i in dispatched if i.dispatched]),
        "first_action_seconds": _stats([(i.first_action - i.arrival).total_seconds() for i in acted if i.first_action]),
        "category": {
            "expected": len(to_file),
            "correct": sum(1 for i in to_file if i.category == i.expected.category),
            "accuracy": _ratio(sum(1 for i in to_file if i.category == i.expected.category), len(to_file)),
        },
        "unit": {
            "expected": len(with_unit),
            "correct": sum(1 for i in with_unit if unit_matches(i.expected_unit or i.expected.unit, i.unit)),
            "accuracy": _ratio(
                sum(1 for i in with_unit if unit_matches(i.expected_unit or i.expected.unit, i.unit)), len(with_unit)
            ),
        },
        "reject": {
            "expected": len(rejects),
            "correct": sum(1 for i in rejects if i.rejected),
            "wrong": sum(1 for i in items if i.rejected and i.expected.kind != "reject"),
        },
        "merge": {
            "expected": len(merges),
            "correct": sum(1 for i in merges if i.merged_into == i.expected.merge),
        },
        "deadlines_missed": sum(1 for i in items if i.deadline_missed),
        "keystrokes": {"total": keystrokes, "per_case": round(keystrokes / len(acted), 1) if acted else None},
        "per_item": per_item,
    }


# -- stored runs ------------------------------------------------------------------------------------


def create_run(db: Database, scenario: str, trainee: str, started_at: datetime, speed: float, seed: int) -> int:
    """Start a run; returns its id."""
    with db.write() as s:
        run = DemoRun(scenario=scenario, trainee=trainee, started_at=started_at, speed=speed, seed=seed)
        s.add(run)
        s.flush()
        return run.id


def add_item(db: Database, run_id: int, key: str, case_id: int, arrival: datetime, expected: Answer) -> None:
    """Record one report injected during a run, with its answer."""
    with db.write() as s:
        s.add(DemoRunItem(run_id=run_id, key=key, case_id=case_id, arrival_at=arrival, expected=expected.to_dict()))


def add_keystrokes(db: Database, run_id: int, case_id: int, count: int) -> bool:
    """Add keystrokes the window counted on a case of the run; False when the case is not the run's."""
    with db.write() as s:
        done = s.execute(
            update(DemoRunItem)
            .where(DemoRunItem.run_id == run_id, DemoRunItem.case_id == case_id)
            .values(keystrokes=DemoRunItem.keystrokes + count)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    return bool(done)


def expected_unit(s: Session, answer: Answer, grid: str | None) -> str | None:
    """The concrete unit an answer's unit means at a grid (GRID/STREET/COMMUNITY resolved)."""
    if not answer.unit:
        return None
    if answer.unit in TERRITORIAL:
        unit = resolve_unit(s, answer.unit, place_of(s, grid))
        return unit.code if unit else answer.unit
    return answer.unit


def run_facts(db: Database, run_id: int, now: datetime | None = None) -> tuple[DemoRun, list[ItemFacts]]:
    """The run and the facts of each of its reports, from the cases as they are now.

    Raises:
        NotFoundError: no such run.
    """
    with db.read() as s:
        run = s.get(DemoRun, run_id)
        if run is None:
            raise NotFoundError(tr("There is no demo run {id}.", id=run_id))
        end = now or run.finished_at or utcnow()
        items = list(s.scalars(select(DemoRunItem).where(DemoRunItem.run_id == run_id).order_by(DemoRunItem.id)))
        case_ids = [i.case_id for i in items if i.case_id is not None]
        cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
        events: dict[int, list[CaseEvent]] = {}
        if case_ids:
            query = select(CaseEvent).where(CaseEvent.case_id.in_(case_ids)).order_by(CaseEvent.id)
            for event in s.scalars(query):
                events.setdefault(event.case_id, []).append(event)
        key_of = {i.case_id: i.key for i in items if i.case_id is not None}
        facts = []
        for item in items:
            case = cases.get(item.case_id or 0)
            answer = Answer.from_dict(item.expected)
            if case is None:
                facts.append(ItemFacts(item.key, answer, item.arrival_at, keystrokes=item.keystrokes))
                continue
            history = events.get(case.id, [])
            mine = [e for e in history if e.actor == run.trainee and e.action != "report"]
            dispatch = next((e.at for e in history if e.action == "dispatch"), None)
            handled = next((e.at for e in history if e.action == "handle"), None)
            target = case.merged_into_id if case.status == "merged" else None
            seen: set[int] = set()
            while target is not None and target not in seen:  # follow merges to the original
                seen.add(target)
                nxt = cases.get(target)
                if nxt is None or nxt.status != "merged" or nxt.merged_into_id is None:
                    break
                target = nxt.merged_into_id
            missed = case.deadline_at is not None and (handled or end) > case.deadline_at
            facts.append(
                ItemFacts(
                    key=item.key,
                    expected=answer,
                    arrival=item.arrival_at,
                    first_action=mine[0].at if mine else None,
                    dispatched=dispatch,
                    category=case.category_code,
                    unit=case.unit_code,
                    expected_unit=expected_unit(s, answer, case.grid_code),
                    rejected=case.status == "rejected",
                    merged_into=key_of.get(target) if target is not None else None,
                    keystrokes=item.keystrokes,
                    deadline_missed=missed,
                )
            )
        s.expunge(run)
        return run, facts


def record_outcomes(db: Database, run_id: int, now: datetime | None = None) -> None:
    """Store each item's outcome (as of ``now``) in ``demo_run_items``, and close the run at ``now``."""
    _run, facts = run_facts(db, run_id, now)
    end = now or utcnow()
    with db.write() as s:
        for fact in facts:
            s.execute(
                update(DemoRunItem)
                .where(DemoRunItem.run_id == run_id, DemoRunItem.key == fact.key)
                .values(
                    outcome=fact.outcome,
                    category_code=fact.category,
                    unit_code=fact.unit,
                    merged_into_key=fact.merged_into,
                    first_action_at=fact.first_action,
                    dispatched_at=fact.dispatched,
                    deadline_missed=fact.deadline_missed,
                )
                .execution_options(synchronize_session=False)
            )
        s.execute(
            update(DemoRun)
            .where(DemoRun.id == run_id)
            .values(finished_at=end)
            .execution_options(synchronize_session=False)
        )


def score_run(db: Database, run_id: int) -> dict[str, Any]:
    """The score of a stored run, computed from what the trainee really did (the cases' histories).

    Raises:
        NotFoundError: no such run.
    """
    run, facts = run_facts(db, run_id)
    out = score(facts)
    out["run"] = {
        "id": run.id,
        "scenario": run.scenario,
        "trainee": run.trainee,
        "started": run.started_at.isoformat(),
        "finished": run.finished_at.isoformat() if run.finished_at else None,
        "speed": run.speed,
        "seed": run.seed,
    }
    return out
