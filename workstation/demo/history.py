"""The historic cases of a demo world, planned in memory exactly as the lifecycle services would write them.

Each case is played from its report to the state it ends in by :class:`PlannedCase`, a replica of
``services.lifecycle.transition`` (same columns changed, same ``before`` snapshot, same event
details, version = number of events, deadlines on the working calendar). Every draw comes from a
``random.Random`` seeded from the world's seed and the case's number, and every time derives from
``now``: the same seed and ``now`` plan the same cases. ``demo.world`` writes them in bulk.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from workstation.demo import phrases
from workstation.demo.reference import Reference
from workstation.demo.texts import GeneratedReport, ReportFactory
from workstation.domain.calendar import WorkingCalendar
from workstation.domain.lifecycle import ACTIONS, RUNNING, Role, State

Progress = Callable[[int, int, str], None]

OPERATORS = tuple(f"坐席{n:02d}" for n in range(1, 11))
LEADS = ("值班长01", "值班长02", "值班长03")

SYSTEM_NAME = "system"

# The state every case ends in, per 100.
STATE_MIX: dict[str, float] = {
    "closed": 70.0,
    "rejected": 6.0,
    "merged": 5.0,
    "reported": 1.2,
    "filed": 0.8,
    "dispatched": 2.5,
    "returned": 0.8,
    "in_progress": 4.0,
    "handled": 2.0,
    "verifying": 2.0,
    "rework": 1.2,
    "suspended": 1.5,
}
# How long ago cases still open were received (seconds): a new report is hours old, a suspended one months.
RECENT: dict[str, tuple[float, float]] = {
    "reported": (300, 8 * 3600),
    "filed": (600, 86400),
    "dispatched": (1800, 4 * 86400),
    "returned": (3600, 3 * 86400),
    "in_progress": (7200, 20 * 86400),
    "handled": (3 * 3600, 10 * 86400),
    "verifying": (4 * 3600, 10 * 86400),
    "rework": (86400, 20 * 86400),
    "suspended": (10 * 86400, 120 * 86400),
}
# Reports per hour of the (local) day, relative.
HOUR_WEIGHTS = (1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 4, 8, 10, 10, 9, 6, 5, 7, 9, 9, 8, 6, 5, 4, 3, 2, 1.5)
_HOURS = tuple(range(24))
_HOUR_CUMULATIVE = tuple(accumulate(HOUR_WEIGHTS))
NO_EXTERNAL_ID = frozenset({"PATROL", "VISIT", "PHONE"})
WRONG_UNITS = ("CG", "STREET", "GRID", "COMMUNITY", "JJ", "ZJ", "HB", "SCJG")
EXTENSION_REASONS = (
    "需要协调多个部门，申请延期",
    "维修材料需要采购，申请延期",
    "需等待天气转好后施工，申请延期",
    "涉及产权单位，需进一步核实，申请延期",
)
SUSPEND_REASONS = ("涉及历史遗留问题，短期内无法解决，挂账处理", "需纳入年度改造计划统一解决，挂账处理")
REWORK_REASONS = ("现场核查问题依旧，未整改到位", "核查发现仍有残留，请彻底处理", "处置结果与现场不符，请重新处理")

# -- the case replica -------------------------------------------------------------------------------


class Ref:
    """A row whose id is known only once every row is planned (a merge target, an extension request)."""

    __slots__ = ("id",)

    def __init__(self) -> None:
        self.id = 0


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class PlannedCase:
    """One case played through the lifecycle in memory, the way ``services.lifecycle`` changes it."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.ref = Ref()
        self.events: list[dict[str, Any]] = []
        self.extensions: list[dict[str, Any]] = []
        self.co_units: list[dict[str, Any]] = []

    @property
    def last_at(self) -> datetime:
        """The time of the last action (the reception before the report)."""
        return self.events[-1]["at"] if self.events else self.row["received_at"]

    def report(self, at: datetime, actor: str, role: str) -> None:
        """What ``services.reports.add_report`` writes."""
        self.row.update(created_at=at, last_actor=actor, last_action_at=at, status="reported", version=1)
        self.events.append(
            {
                "at": at,
                "actor": actor,
                "actor_role": role,
                "action": "report",
                "from_state": None,
                "to_state": "reported",
                "reason": "",
                "details": {"channel": self.row["channel"], "external_id": self.row["external_id"]},
            }
        )

    def act(
        self,
        action: str,
        at: datetime,
        actor: str,
        role: str,
        values: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        reason: str = "",
    ) -> None:
        """What ``services.lifecycle.transition`` writes for one action."""
        spec = ACTIONS[action]
        row = self.row
        if row["status"] not in spec.sources or role not in spec.roles:
            raise AssertionError(f"demo world: {action} by {role} from {row['status']}")  # a bug in the planner
        values = dict(values or {})
        target = spec.target.value if spec.target else row["status"]
        before = {k: _json(row[k]) for k in values}
        before["status"] = row["status"]
        for key, value in values.items():
            row[key] = _utc(value) if isinstance(value, datetime) else value
        version = row["version"] + 1
        row.update(status=target, version=version, last_actor=actor, last_action_at=at)
        self.events.append(
            {
                "at": at,
                "actor": actor,
                "actor_role": role,
                "action": action,
                "from_state": before["status"],
                "to_state": target,
                "reason": reason,
                "details": {
                    **{k: v if isinstance(v, Ref) else _json(v) for k, v in (details or {}).items()},
                    "before": before,
                    "version": version,
                },
            }
        )


# -- planning ---------------------------------------------------------------------------------------


def _gap(rng: random.Random, low: float, high: float) -> timedelta:
    """A log-uniform wait between ``low`` and ``high`` seconds, in whole seconds."""
    return timedelta(seconds=round(math.exp(rng.uniform(math.log(low), math.log(high)))))


@dataclass
class Plan:
    """One case of the world: its number, the state it ends in, its report, and once played its case."""

    index: int
    state: str
    report: GeneratedReport
    received: datetime
    case: PlannedCase | None = None
    original: Plan | None = None


class Planner:
    """Plays each planned case from its report to its final state."""

    def __init__(self, ref: Reference, cal: WorkingCalendar, seed: int, now: datetime) -> None:
        self.ref, self.cal, self.seed, self.now = ref, cal, seed, now

    def unit_name(self, code: str) -> str:
        """A unit's name (its code when unknown)."""
        return self.ref.units.get(code, code)

    def _row(self, plan: Plan, received: datetime) -> dict[str, Any]:
        r = plan.report
        grid = self.ref.grids.get(r.grid or "")
        local = received.astimezone(self.cal.tz)
        external = None if r.channel in NO_EXTERNAL_ID else f"{r.channel}-{local:%Y%m%d}-{self.seed}-{plan.index:05d}"
        priority = 1 if r.urgency == "urgent" else 2
        return {
            "version": 1,
            "status": "reported",
            "priority": priority,
            "channel": r.channel,
            "external_id": external,
            "text": r.text,
            "address": r.address,
            "lon": r.lon,
            "lat": r.lat,
            "grid_code": grid.code if grid else None,
            "community_code": grid.community_code if grid else None,
            "street_code": grid.street_code if grid else None,
            "reporter_name": r.reporter_name,
            "reporter_phone": r.reporter_phone,
            "photos": [f"photo://{external or r.key}/1.jpg"] if r.channel in ("PDA", "APP") else [],
            "received_at": received,
            "created_at": received,
            "category_code": None,
            "category_name": None,
            "category_major": None,
            "time_limit": None,
            "closure_standard": None,
            "unit_code": None,
            "unit_name": None,
            "filed_at": None,
            "dispatched_at": None,
            "deadline_at": None,
            "handled_at": None,
            "closed_at": None,
            "result_text": None,
            "result_photos": [],
            "merged_into_id": None,
            "supervised_at": None,
            "source_service": None,
            "last_actor": "",
            "last_action_at": received,
        }

    def play(self, plan: Plan) -> PlannedCase:
        """The case of a plan, shifted back in time until its last action lies before ``now``."""
        shift = timedelta(0)
        for attempt in range(40):
            received = plan.received - shift
            case = self._play(plan, received)
            overshoot = case.last_at - (self.now - timedelta(seconds=60))
            if overshoot <= timedelta(0):
                plan.received = received
                return case
            shift += overshoot + timedelta(minutes=10 * (attempt + 1))
        raise AssertionError("demo world: a case does not fit before now")  # pragma: no cover

    def _play(self, plan: Plan, received: datetime) -> PlannedCase:
        rng = random.Random(self.seed * 1_000_003 + plan.index)
        case = PlannedCase(self._row(plan, received))
        r, row, state = plan.report, case.row, plan.state
        operator = rng.choice(OPERATORS)
        lead = rng.choice(LEADS)
        t = received + timedelta(seconds=rng.randint(5, 180))
        if r.channel == "PHONE":
            case.report(t, operator, Role.OPERATOR)
        else:
            case.report(t, SYSTEM_NAME, Role.SYSTEM)
        if state == "reported":
            return case
        t += _gap(rng, 60, 40 * 60)
        if state == "rejected":
            case.act("reject", t, operator, Role.OPERATOR, reason=phrases.REJECT_REASONS[r.answer.reject or "vague"])
            return case
        if state == "merged":
            assert plan.original is not None and plan.original.case is not None
            target = plan.original.case.ref
            case.act("merge", t, operator, Role.OPERATOR, values={"merged_into_id": target}, details={"into": target})
            return case
        cat = self.ref.categories[r.answer.category or ""]
        deadline = self.cal.add(t, cat.time_limit)
        case.act(
            "file",
            t,
            operator,
            Role.OPERATOR,
            values={
                "category_code": cat.code,
                "category_name": cat.name,
                "category_major": cat.major_name,
                "time_limit": cat.time_limit,
                "closure_standard": cat.closure_standard,
                "filed_at": t,
                "deadline_at": deadline,
                "priority": min(row["priority"], 1 if cat.urgency == "urgent" else 2),
            },
            details={"category": cat.code, "category_name": cat.name, "limit": cat.time_limit, "deadline": deadline},
        )
        if state == "filed":
            return self._supervise_if_late(case, rng, lead)
        right = self.ref.unit_at(cat.unit, r.grid) or "CG"
        t += _gap(rng, 30, 15 * 60)
        if state == "returned" or rng.random() < 0.06:
            wrong = [u for u in (self.ref.unit_at(w, r.grid) for w in WRONG_UNITS) if u and u != right]
            first = rng.choice(wrong)
            self._dispatch(case, t, operator, first)
            t += _gap(rng, 600, 6 * 3600)
            reason = f"经核实，该事项不属于我单位职责范围，建议派至{self.unit_name(right)}"
            case.act("return", t, f"unit.{first}", Role.UNIT, reason=reason)
            if state == "returned":
                return case
            t += _gap(rng, 300, 3600)
            self._dispatch(case, t, operator, right, from_returned=cat.time_limit)
        else:
            self._dispatch(case, t, operator, right)
        unit_actor = f"unit.{right}"
        if rng.random() < 0.03:
            co = rng.choice([u for u in ("CG", "JJ", "GA", "SCJG") if u != right])
            t += _gap(rng, 120, 3600)
            case.co_units.append(
                {"unit_code": co, "unit_name": self.unit_name(co), "added_at": t, "added_by": operator}
            )
            case.act("add_unit", t, operator, Role.OPERATOR, details={"unit": co, "unit_name": self.unit_name(co)})
        if state == "dispatched":
            return self._supervise_if_late(case, rng, lead)
        t += _gap(rng, 300, 4 * 3600)
        case.act("acknowledge", t, unit_actor, Role.UNIT)
        if state == "suspended" or rng.random() < 0.05:
            t = self._extension(case, rng, t, unit_actor, lead, approve=state == "suspended" or rng.random() < 0.8)
        if state == "suspended":
            t += _gap(rng, 86400, 10 * 86400)
            case.act("suspend", t, lead, Role.LEAD, reason=rng.choice(SUSPEND_REASONS))
            return case
        if state == "in_progress":
            return self._supervise_if_late(case, rng, lead)
        t = self._handle(case, rng, t, unit_actor, lead, cat.closure_standard)
        if state == "handled":
            return case
        staff = self.ref.grids[r.grid].staff if r.grid in self.ref.grids else ()
        verifier = f"网格员{rng.choice(staff)}" if staff else ""
        t += _gap(rng, 600, 8 * 3600)
        case.act("verify", t, operator, Role.OPERATOR, details={"verifier": verifier})
        if state == "verifying":
            return case
        if state == "rework" or rng.random() < 0.06:
            t += _gap(rng, 1800, 86400)
            limit = rng.choice(("4wh", "1wd", None))
            values: dict[str, Any] = {"handled_at": None}
            details: dict[str, Any] = {}
            if limit:
                new = self.cal.add(t, limit)
                values["deadline_at"] = new
                details = {"limit": limit, "deadline": new}
            reason = rng.choice(REWORK_REASONS)
            case.act("rework", t, operator, Role.OPERATOR, values=values, details=details, reason=reason)
            if state == "rework":
                return self._supervise_if_late(case, rng, lead)
            t += _gap(rng, 600, 3 * 3600)
            case.act("acknowledge", t, unit_actor, Role.UNIT)
            t = self._handle(case, rng, t, unit_actor, lead, cat.closure_standard, sloppy=False)
            t += _gap(rng, 600, 8 * 3600)
            case.act("verify", t, operator, Role.OPERATOR, details={"verifier": verifier})
        t += _gap(rng, 1200, 86400)
        case.act(
            "close",
            t,
            operator,
            Role.OPERATOR,
            values={"closed_at": t},
            details={"closure_standard": row["closure_standard"] or ""},
        )
        return case

    def _dispatch(
        self, case: PlannedCase, t: datetime, operator: str, unit: str, from_returned: str | None = None
    ) -> None:
        name = self.unit_name(unit)
        values: dict[str, Any] = {"unit_code": unit, "unit_name": name, "dispatched_at": t}
        if from_returned:
            values["deadline_at"] = self.cal.add(t, from_returned)
        case.act("dispatch", t, operator, Role.OPERATOR, values=values, details={"unit": unit, "unit_name": name})

    def _extension(
        self, case: PlannedCase, rng: random.Random, t: datetime, unit_actor: str, lead: str, approve: bool
    ) -> datetime:
        limit = rng.choice(("1wd", "2wd", "3wd"))
        reason = rng.choice(EXTENSION_REASONS)
        t += _gap(rng, 1800, 86400)
        request = {
            "ref": Ref(),
            "case": case,
            "requested_at": t,
            "requested_by": unit_actor,
            "time_limit": limit,
            "reason": reason,
            "status": "pending",
            "decided_by": None,
            "decided_at": None,
            "decision_reason": None,
            "new_deadline_at": None,
        }
        case.extensions.append(request)
        case.act("request_extension", t, unit_actor, Role.UNIT, details={"limit": limit}, reason=reason)
        t += _gap(rng, 600, 4 * 3600)
        decision = "" if approve else "时限内可以完成，不同意延期"
        values: dict[str, Any] = {}
        details: dict[str, Any] = {"approved": approve, "limit": limit, "request": request["ref"]}
        request.update(status="approved" if approve else "refused", decided_by=lead, decided_at=t)
        request["decision_reason"] = decision
        if approve:
            current = case.row["deadline_at"]
            new = self.cal.add(max(current or t, t), limit)
            request["new_deadline_at"] = _utc(new)
            values["deadline_at"] = new
            details["deadline"] = new
        case.act("decide_extension", t, lead, Role.LEAD, values=values, details=details, reason=decision)
        return t

    def _handle(
        self,
        case: PlannedCase,
        rng: random.Random,
        t: datetime,
        unit_actor: str,
        lead: str,
        standard: str,
        sloppy: bool | None = None,
    ) -> datetime:
        deadline = case.row["deadline_at"]
        window = (deadline - t).total_seconds() if deadline else 0
        if window <= 60:
            wait = _gap(rng, 1800, 86400)
        else:
            late = rng.random() < 0.12
            wait = timedelta(seconds=round(window * (rng.uniform(1.05, 2.0) if late else rng.uniform(0.1, 0.9))))
        done = t + max(wait, timedelta(seconds=60))
        start = max(deadline or done, case.last_at) + timedelta(minutes=30)
        if deadline and done - start > timedelta(minutes=30) and rng.random() < 0.4:
            at = start + timedelta(seconds=round(rng.uniform(0, (done - start).total_seconds() - 60)))
            case.act(
                "supervise",
                at,
                lead,
                Role.LEAD,
                values={"supervised_at": at},
                details={"unit": case.row["unit_code"]},
                reason="已超期，请抓紧办理",
            )
        sloppy = rng.random() < 0.1 if sloppy is None else sloppy
        result = "已处理" if sloppy else rng.choice((f"已处理：{standard}", f"{standard}，已拍照留存", standard))
        photos = [] if sloppy else [f"photo://result/{case.row['external_id'] or 'case'}-{len(case.events)}.jpg"]
        case.act(
            "handle",
            done,
            unit_actor,
            Role.UNIT,
            values={"result_text": result, "result_photos": photos, "handled_at": done},
            details={"photos": photos},
            reason=result,
        )
        return done

    def _supervise_if_late(self, case: PlannedCase, rng: random.Random, lead: str) -> PlannedCase:
        deadline = case.row["deadline_at"]
        latest = self.now - timedelta(minutes=5)
        if not deadline or State(case.row["status"]) not in RUNNING:
            return case
        start = max(deadline, case.last_at) + timedelta(minutes=30)
        if start < latest and rng.random() < 0.4:
            at = start + timedelta(seconds=round(rng.uniform(0, (latest - start).total_seconds())))
            case.act(
                "supervise",
                at,
                lead,
                Role.LEAD,
                values={"supervised_at": at},
                details={"unit": case.row["unit_code"]},
                reason="已超期，请抓紧办理",
            )
        return case


def _received(rng: random.Random, state: str, now: datetime, days: int, tz: Any) -> datetime:
    if state in RECENT:
        low, high = RECENT[state]
        return now - timedelta(seconds=round(rng.uniform(low, high)))
    local_now = now.astimezone(tz)
    while True:
        day = (local_now - timedelta(days=rng.uniform(0, days))).date()
        hour = rng.choices(_HOURS, cum_weights=_HOUR_CUMULATIVE)[0]
        at = datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59), tzinfo=tz)
        at = at.astimezone(UTC)
        if at < now - timedelta(minutes=30):
            return at


def plan_world(
    ref: Reference,
    cal: WorkingCalendar,
    seed: int,
    count: int,
    now: datetime,
    days: int = 180,
    progress: Progress | None = None,
    mix: Mapping[str, float] | None = None,
) -> list[Plan]:
    """Every case of the world, played to its final state in memory (nothing is written).

    ``mix`` replaces ``STATE_MIX`` (the final states per 100), e.g. to leave no case waiting at the desk.
    """
    rng = random.Random(seed)
    factory = ReportFactory(ref, random.Random(seed + 7919), prefix="w")
    mix = mix or STATE_MIX
    states = list(mix)
    weights = list(accumulate(mix[s] for s in states))
    planner = Planner(ref, cal, seed, now)
    plans: list[Plan] = []
    merged: list[Plan] = []
    uncovered = sorted(ref.categories, reverse=True)
    for index in range(count):
        state = rng.choices(states, cum_weights=weights)[0]
        if state == "rejected" or (state == "reported" and rng.random() < 0.1):
            report = factory.rejectable()
        elif state not in ("merged", "reported") and uncovered:
            report = factory.ordinary(uncovered.pop())  # every category occurs, however rare
        else:
            report = factory.ordinary()
        plan = Plan(index, state, report, _received(rng, state, now, days, cal.tz))
        if state == "merged":
            merged.append(plan)
            continue
        plan.case = planner.play(plan)
        plans.append(plan)
        if progress and index % 500 == 0:
            progress(index, count, "planning cases")
    settled = now - timedelta(hours=3)
    originals = [
        p
        for p in plans
        if p.state not in ("rejected", "reported") and p.report.answer.category and p.received < settled
    ]
    for plan in merged:
        if originals:
            original = rng.choice(originals)
            plan.original = original
            plan.report = factory.duplicate(original.report)
            room = (now - original.received).total_seconds() - 3600
            plan.received = original.received + _gap(rng, 300, min(2 * 86400, room))
        else:
            plan.state = "reported"
        plan.case = planner.play(plan)
        plans.append(plan)
    if progress:
        progress(count, count, "planning cases")
    plans.sort(key=lambda p: (p.received, p.index))
    return plans
