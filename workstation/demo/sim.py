"""The live training simulation: a simulated clock, and the world that reacts to the trainee.

Nothing here runs on its own: no threads, no timers, no Qt. The window calls :meth:`Simulation.tick`
(say every 200 ms of real time); each tick does what is due at the simulated ``now``:

- injects the scenario's scripted reports whose offset has come (or, in random mode, reports from
  ``demo.texts`` at an adjustable rate per simulated minute) through ``services.reports.add_report``
  with ``external_id = f"demo-{run}-{key}"``, and records each in ``demo_run_items`` with its answer;
- applies scripted events (unit returns, extension requests, verification failures) as soon as the
  case allows them;
- plays the units: a dispatched unit acknowledges after a few minutes, or returns the case with a
  reason when it is not the unit of the answer key (with a probability), sometimes asks for more
  time, and reports a result (now and then a sloppy one); a grid member verifies a case sent to
  verification and fails sloppy results more often than good ones.

Every write goes through the lifecycle services with the simulated time installed as the program's
clock (``workstation.clock``), so deadlines and histories follow simulated time. Units act as unit
accounts ``unit.<code>`` (role ``unit``); the grid member's verdict is written by ``demo.verifier``
(role ``trainer``, the only non-unit role allowed to close or send back) unless
``Behaviour.verifier_acts`` is off, in which case the verdict is only announced as a :class:`SimEvent`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from workstation import clock as program_clock
from workstation.demo.pictures import picture_for
from workstation.demo.reference import Reference
from workstation.demo.scenarios import EVENT_KINDS, Scenario, ScriptedEvent, ScriptedReport
from workstation.demo.scoring import (
    add_item,
    add_keystrokes,
    create_run,
    expected_unit,
    record_outcomes,
    score_run,
    unit_matches,
)
from workstation.demo.texts import Answer, GeneratedReport, ReportFactory
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import Case, ExtensionRequest, Unit
from workstation.services import lifecycle as lc
from workstation.services import photos
from workstation.services.actors import SYSTEM, Actor
from workstation.services.calendar import load_calendar
from workstation.services.errors import ValidationError, WorkstationError
from workstation.services.reports import add_report
from workstation.storage.db import Database

MIN_SPEED = 1.0
MAX_SPEED = 60.0
SLOPPY_RESULT = "已处理"
PHOTO_CHANNELS = ("PDA", "APP")  # the channels whose reports come with a photo (as in the historic world)
VERIFIER = Actor("demo.verifier", Role.TRAINER.value, display_name="网格员核查（模拟）")


class SimClock:
    """Simulated time: starts at ``start`` and runs at ``speed`` simulated seconds per real second.

    Args:
        start: the simulated instant at creation (aware).
        speed: 1 to 60.
        real: the real clock in seconds (``time.monotonic``; tests hand in their own).
    """

    def __init__(self, start: datetime, speed: float = 1.0, real: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs an aware start")
        self._real = real
        self._check(speed)
        self.start = start.astimezone(UTC)
        self._anchor_sim = self.start
        self._anchor_real = real()
        self._speed = float(speed)
        self._paused = False

    @staticmethod
    def _check(speed: float) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValidationError(
                tr("The speed runs from {low}× to {high}×.", low=int(MIN_SPEED), high=int(MAX_SPEED)),
                {"speed": str(speed)},
            )

    def now(self) -> datetime:
        """The simulated instant (UTC)."""
        if self._paused:
            return self._anchor_sim
        return self._anchor_sim + timedelta(seconds=(self._real() - self._anchor_real) * self._speed)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    @property
    def paused(self) -> bool:
        """Whether simulated time stands still."""
        return self._paused

    def pause(self) -> None:
        """Stop simulated time."""
        if not self._paused:
            self._anchor_sim = self.now()
            self._paused = True

    def resume(self) -> None:
        """Let simulated time run again from where it stopped."""
        if self._paused:
            self._anchor_real = self._real()
            self._paused = False

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (1 to 60).

        Raises:
            ValidationError: out of range.
        """
        self._check(speed)
        self._anchor_sim, self._anchor_real = self.now(), self._real()
        self._speed = float(speed)

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (the trainer's "skip ahead")."""
        self._anchor_sim += timedelta(seconds=max(0.0, seconds))


def start_for(scenario: Scenario | None, after: datetime, tz: Any) -> datetime:
    """Where a scenario's clock starts: the first instant at or after ``after`` at its local start time."""
    if scenario is None or scenario.start is None:
        return after.astimezone(UTC).replace(microsecond=0)
    local = after.astimezone(tz)
    day: date = local.date()
    at = datetime.combine(day, scenario.start, tzinfo=tz)
    if at < local:
        at = datetime.combine(day + timedelta(days=1), scenario.start, tzinfo=tz)
    return at.astimezone(UTC)


@dataclass(frozen=True)
class SimEvent:
    """Something the simulation did, for the window to show."""

    at: datetime
    kind: str
    case_id: int | None
    key: str | None
    text: str


@dataclass
class Behaviour:
    """How the simulated units and grid members behave (delays in simulated seconds)."""

    ack_delay: tuple[float, float] = (120.0, 600.0)
    return_probability: float = 0.85
    extension_probability: float = 0.05
    extension_limit: str = "1wd"
    handle_delay: tuple[float, float] = (900.0, 3600.0)
    sloppy_probability: float = 0.2
    verify_delay: tuple[float, float] = (600.0, 2400.0)
    fail_sloppy: float = 0.7
    fail_good: float = 0.03
    verifier_acts: bool = True


def unit_actor(code: str, name: str = "") -> Actor:
    """The simulated liaison of a unit."""
    return Actor(f"unit.{code}", Role.UNIT.value, unit_code=code, display_name=name or code)


class Simulation:
    """One training run: a scenario (or random mode), a simulated clock, and the trainee's cases.

    Args:
        db: the demo database (never the production one: see ``demo.safety``).
        scenario: the scenario to play, or None for random mode.
        seed: makes the run reproducible (random reports, unit behaviour).
        clock: the simulated clock; default: starts at the scenario's start time, at its speed.
        trainee: the user whose actions are scored.
        rate: random mode, reports per simulated minute.
        behaviour: how units and grid members behave.
    """

    def __init__(
        self,
        db: Database,
        scenario: Scenario | None = None,
        seed: int = 1,
        clock: SimClock | None = None,
        *,
        trainee: str = "trainer",
        rate: float = 1.0,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.db, self.scenario, self.seed, self.trainee = db, scenario, seed, trainee
        if clock is None:
            tz = load_calendar(db).tz
            clock = SimClock(start_for(scenario, program_clock.now(), tz), scenario.speed if scenario else 10.0)
        self.clock = clock
        self.behaviour = behaviour or Behaviour()
        self.rate = rate
        self.run_id: int | None = None
        self.origin = clock.now()
        self._rng = random.Random(seed)
        self._factory: ReportFactory | None = None
        self._pending = sorted(scenario.reports, key=lambda r: (r.offset, r.key)) if scenario else []
        self._events: list[ScriptedEvent] = sorted(scenario.events, key=lambda e: e.offset) if scenario else []
        self._next_at: datetime | None = None
        self._cases: dict[str, int] = {}
        self._keys: dict[int, str] = {}
        self._answers: dict[int, Answer] = {}
        self._expected_units: dict[int, str | None] = {}
        self._unit_names: dict[str, str] = {}
        self._generated: dict[str, GeneratedReport] = {}
        self._scripted: dict[str, ScriptedReport] = {}
        self._asked: set[int] = set()
        self._announced: set[tuple[int, int]] = set()
        self._previous_clock: program_clock.Source | None = None

    # -- the run -----------------------------------------------------------------------------------

    def start(self) -> int:
        """Create the run and install the simulated clock as the program's clock; returns the run id."""
        if self.run_id is None:
            self.origin = self.clock.now().replace(microsecond=0)
            name = self.scenario.name if self.scenario else "random"
            self.run_id = create_run(self.db, name, self.trainee, self.origin, self.clock.speed, self.seed)
            self._previous_clock = program_clock.set_source(self.clock.now)
        return self.run_id

    def finish(self, now: datetime | None = None) -> dict[str, Any]:
        """Record every outcome, close the run, put the real clock back; returns the score."""
        run_id = self.start()
        now = now or self.clock.now()
        with program_clock.using(lambda: now):
            record_outcomes(self.db, run_id, now)
        if self._previous_clock is not None:
            program_clock.set_source(self._previous_clock)
            self._previous_clock = None
        return score_run(self.db, run_id)

    def __enter__(self) -> Simulation:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    @property
    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return (self.clock.now() - self.origin).total_seconds()

    @property
    def done(self) -> bool:
        """A scenario is done when its duration has passed and every scripted report arrived."""
        return self.scenario is not None and not self._pending and self.elapsed >= self.scenario.duration

    def answers(self) -> dict[str, Answer]:
        """The answer of every report injected so far, by key."""
        return {self._keys[c]: a for c, a in self._answers.items()}

    def case_of(self, key: str) -> int | None:
        """The case a report became."""
        return self._cases.get(key)

    def key_of(self, case_id: int) -> str | None:
        """The report key of a case of this run."""
        return self._keys.get(case_id)

    def count_keystrokes(self, case_id: int, count: int) -> bool:
        """Add keystrokes the window counted while the trainee worked on a case of this run."""
        return add_keystrokes(self.db, self.start(), case_id, count)

    def set_rate(self, per_minute: float) -> None:
        """Random mode: reports per simulated minute from now on (0 stops them)."""
        self.rate = max(0.0, per_minute)
        self._next_at = None

    # -- one step ----------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[SimEvent]:
        """Do everything due at ``now`` (default: the simulated clock's now); returns what happened."""
        self.start()
        now = (now or self.clock.now()).astimezone(UTC).replace(microsecond=0)
        out: list[SimEvent] = []
        with program_clock.using(lambda: now):
            out += self._arrivals(now)
            out += self._apply_scripted(now)
            out += self._play_units(now)
        return out

    def _arrivals(self, now: datetime) -> list[SimEvent]:
        out = []
        while self._pending and self.origin + timedelta(seconds=self._pending[0].offset) <= now:
            report = self._pending.pop(0)
            self._scripted[report.key] = report
            at = self.origin + timedelta(seconds=report.offset)
            out.append(self._inject_report(report.key, report.to_report, report.answer, at))
        if self.scenario is None and self.rate > 0:
            if self._next_at is None:
                self._next_at = now + timedelta(seconds=round(self._rng.expovariate(self.rate / 60.0)))
            while self._next_at <= now:
                generated = self.factory.next()
                self._generated[generated.key] = generated
                out.append(self._inject_report(generated.key, generated.to_report, generated.answer, self._next_at))
                self._next_at += timedelta(seconds=max(1, round(self._rng.expovariate(self.rate / 60.0))))
        return out

    @property
    def factory(self) -> ReportFactory:
        """The generator of random reports (reads the reference data on first use)."""
        if self._factory is None:
            self._factory = ReportFactory(Reference.from_db(self.db), random.Random(self.seed), prefix="g")
        return self._factory

    def _inject_report(
        self, key: str, to_report: Callable[..., dict[str, Any]], answer: Answer, at: datetime
    ) -> SimEvent:
        run_id = self.start()
        at = at.replace(microsecond=0)
        report = to_report(at, f"demo-{run_id}-{key}")
        if report["channel"] in PHOTO_CHANNELS:  # a grid member's PDA and the app send a photo with the report
            ref = f"photo://demo-{run_id}-{key}/1.jpg"
            photos.put(self.db, ref, picture_for(ref, photos.BEFORE))
            report["photos"] = [ref]
        added = add_report(self.db, report, SYSTEM)
        if added.created:
            add_item(self.db, run_id, key, added.case_id, at, answer)
        self._cases[key] = added.case_id
        self._keys[added.case_id] = key
        self._answers[added.case_id] = answer
        return SimEvent(at, "report", added.case_id, key, tr("New report {key} arrived.", key=key))

    # -- scripted events ---------------------------------------------------------------------------

    def _apply_scripted(self, now: datetime) -> list[SimEvent]:
        out = []
        for event in list(self._events):
            if self.origin + timedelta(seconds=event.offset) > now:
                break
            case_id = self._cases.get(event.report)
            if case_id is None:
                continue
            with self.db.read() as s:
                case = s.get(Case, case_id)
                if case is None:
                    continue
                status, unit = case.status, case.unit_code
                pending = s.scalar(
                    select(func.count())
                    .select_from(ExtensionRequest)
                    .where(ExtensionRequest.case_id == case_id, ExtensionRequest.status == "pending")
                )
            if status in ("closed", "rejected", "merged"):
                self._events.remove(event)  # it can no longer happen
                continue
            done = self._scripted_action(event, case_id, status, unit, bool(pending), now)
            if done is not None:
                self._events.remove(event)
                out.append(done)
        return out

    def _scripted_action(
        self, event: ScriptedEvent, case_id: int, status: str, unit: str | None, pending: bool, now: datetime
    ) -> SimEvent | None:
        try:
            if event.kind == "unit_return" and status == "dispatched" and unit:
                lc.return_case(self.db, unit_actor(unit), case_id, event.reason)
                return SimEvent(now, "return", case_id, event.report, tr("The unit returned case {id}.", id=case_id))
            if (
                event.kind == "extension_request"
                and status in ("dispatched", "in_progress", "rework")
                and unit
                and not pending
            ):
                lc.request_extension(self.db, unit_actor(unit), case_id, event.limit or "1wd", event.reason)
                text = tr("The unit asks for more time on case {id}.", id=case_id)
                return SimEvent(now, "extension_request", case_id, event.report, text)
            if event.kind == "verification_fail" and status == "verifying":
                lc.rework(self.db, VERIFIER, case_id, event.reason)
                return SimEvent(
                    now, "rework", case_id, event.report, tr("Verification of case {id} failed.", id=case_id)
                )
        except WorkstationError:
            return None
        return None

    def _blocked(self, key: str | None) -> set[str]:
        return {e.kind for e in self._events if e.report == key}

    # -- the units and the grid members --------------------------------------------------------------

    def _play_units(self, now: datetime) -> list[SimEvent]:
        if not self._keys:
            return []
        with self.db.read() as s:
            cases = list(
                s.scalars(
                    select(Case).where(
                        Case.id.in_(list(self._keys)),
                        Case.status.in_(("dispatched", "in_progress", "rework", "verifying")),
                    )
                )
            )
            for case in cases:
                if case.id not in self._expected_units:
                    answer = self._answers.get(case.id)
                    code = expected_unit(s, answer, case.grid_code) if answer else None
                    self._expected_units[case.id] = code
                    unit = s.get(Unit, code) if code else None
                    if unit is not None:
                        self._unit_names[unit.code] = unit.name
        out: list[SimEvent] = []
        for case in sorted(cases, key=lambda c: c.id):
            try:
                event = self._play_unit(case, now)
            except WorkstationError:
                event = None  # the trainee acted first, or has the case open: try again next tick
            if event is not None:
                out.append(event)
        return out

    def _play_unit(self, case: Case, now: datetime) -> SimEvent | None:
        b = self.behaviour
        key = self._keys.get(case.id)
        blocked = self._blocked(key)
        rng = random.Random(f"{self.seed}:{case.id}:{case.version}")
        waited = (now - case.last_action_at).total_seconds()
        unit = case.unit_code or ""
        actor = unit_actor(unit, case.unit_name or "")
        if case.status == "dispatched":
            if "unit_return" in blocked or waited < rng.uniform(*b.ack_delay):
                return None
            expected = self._expected_units.get(case.id)
            if expected and not unit_matches(expected, unit) and rng.random() < b.return_probability:
                right = self._unit_names.get(expected, expected)
                reason = f"经核实，该事项不属于我单位职责范围，建议改派{right}"  # what the unit writes, as data
                lc.return_case(self.db, actor, case.id, reason)
                return SimEvent(now, "return", case.id, key, tr("The unit returned case {id}.", id=case.id))
            lc.acknowledge(self.db, actor, case.id)
            return SimEvent(now, "acknowledge", case.id, key, tr("The unit acknowledged case {id}.", id=case.id))
        if case.status in ("in_progress", "rework"):
            if "extension_request" in blocked:
                return None
            if case.id not in self._asked and random.Random(f"{self.seed}:{case.id}:ext").random() < (
                b.extension_probability
            ):
                if waited < rng.uniform(*b.ack_delay):
                    return None
                self._asked.add(case.id)
                lc.request_extension(self.db, actor, case.id, b.extension_limit, "需要协调相关单位，申请延期")
                return SimEvent(
                    now, "extension_request", case.id, key, tr("The unit asks for more time on case {id}.", id=case.id)
                )
            if waited < rng.uniform(*b.handle_delay):
                return None
            sloppy = rng.random() < b.sloppy_probability
            result = SLOPPY_RESULT if sloppy else f"已处理：{case.closure_standard or '现场已处置完毕'}"
            shot = [] if sloppy else [f"photo://demo/{case.id}-{case.version}.jpg"]
            for ref in shot:
                photos.put(self.db, ref, picture_for(ref, photos.AFTER))
            lc.handle(self.db, actor, case.id, result, shot)
            return SimEvent(now, "handle", case.id, key, tr("The unit reported a result on case {id}.", id=case.id))
        if case.status == "verifying":
            if "verification_fail" in blocked or waited < rng.uniform(*b.verify_delay):
                return None
            sloppy = (case.result_text or "").strip() == SLOPPY_RESULT
            failed = rng.random() < (b.fail_sloppy if sloppy else b.fail_good)
            if not b.verifier_acts:
                if (case.id, case.version) in self._announced:
                    return None
                self._announced.add((case.id, case.version))
                kind = "verification_failed" if failed else "verified"
                text = (
                    tr("The grid member found case {id} not solved.", id=case.id)
                    if failed
                    else tr("The grid member confirmed case {id} is solved.", id=case.id)
                )
                return SimEvent(now, kind, case.id, key, text)
            if failed:
                lc.rework(self.db, VERIFIER, case.id, "网格员现场核查：问题仍未解决，请重新处理")
                return SimEvent(now, "rework", case.id, key, tr("Verification of case {id} failed.", id=case.id))
            lc.close(self.db, VERIFIER, case.id, "网格员现场核查通过")
            return SimEvent(
                now, "close", case.id, key, tr("The grid member confirmed case {id} is solved.", id=case.id)
            )
        return None

    # -- the trainer's hand ------------------------------------------------------------------------

    def inject(
        self, event: ScriptedReport | ScriptedEvent | GeneratedReport | Mapping[str, Any], now: datetime | None = None
    ) -> list[SimEvent]:
        """Inject a chosen event now.

        ``event`` is a scripted report or event, a generated report, or a mapping:
        ``{"kind": "report", "category": "0707", "channel": "12345", "community": "S13C01"}`` (all but
        ``kind`` optional), ``{"kind": "duplicate", "of": KEY, "channel": "WECHAT"}``,
        ``{"kind": "reject", "reason": "vague"}``, or ``{"kind": EVENT_KIND, "report": KEY,
        "reason": "…", "limit": "1wd"}`` with a kind of ``scenarios.EVENT_KINDS``.

        Raises:
            ValidationError: an unknown kind, category, community or report key.
        """
        self.start()
        now = (now or self.clock.now()).astimezone(UTC).replace(microsecond=0)
        if isinstance(event, ScriptedEvent):
            self._events.append(ScriptedEvent(self._offset(now), event.kind, event.report, event.reason, event.limit))
            self._events.sort(key=lambda e: e.offset)
            with program_clock.using(lambda: now):
                return self._apply_scripted(now)
        if isinstance(event, ScriptedReport | GeneratedReport):
            report: ScriptedReport | GeneratedReport = event
        else:
            built = self._build(event)
            if isinstance(built, ScriptedEvent):
                return self.inject(built, now)
            report = built
        key = self._fresh_key(report.key)
        if isinstance(report, GeneratedReport):
            self._generated[key] = report
        else:
            self._scripted[key] = report
        with program_clock.using(lambda: now):
            return [self._inject_report(key, report.to_report, report.answer, now)]

    def _offset(self, now: datetime) -> float:
        return max(0.0, (now - self.origin).total_seconds())

    def _fresh_key(self, key: str) -> str:
        if key not in self._cases:
            return key
        n = 2
        while f"{key}-{n}" in self._cases:
            n += 1
        return f"{key}-{n}"

    def _build(self, data: Mapping[str, Any]) -> GeneratedReport | ScriptedEvent:
        kind = str(data.get("kind") or "report")
        try:
            if kind == "report":
                return self.factory.ordinary(data.get("category"), data.get("channel"), data.get("community"))
            if kind == "reject":
                return self.factory.rejectable(data.get("reason"), data.get("channel"))
            if kind == "duplicate":
                return self.factory.duplicate(self._original(str(data.get("of"))), data.get("channel"))
        except KeyError as exc:
            raise ValidationError(tr("Unknown code {code}.", code=exc.args[0]), {kind: str(exc.args[0])}) from None
        if kind in EVENT_KINDS:
            report = str(data.get("report") or "")
            if report not in self._cases:
                raise ValidationError(tr("No report {key} in this run.", key=report), {"report": report})
            reason = str(data.get("reason") or tr("scripted by the trainer"))
            return ScriptedEvent(0.0, kind, report, reason, data.get("limit"))
        raise ValidationError(tr("Unknown kind of event {kind}.", kind=kind), {"kind": kind})

    def _original(self, key: str) -> GeneratedReport:
        if key in self._generated:
            return self._generated[key]
        scripted = self._scripted.get(key)
        if scripted is None:
            raise ValidationError(tr("No report {key} in this run.", key=key), {"of": key})
        return GeneratedReport(
            key=scripted.key,
            channel=scripted.channel,
            text=scripted.text,
            address=scripted.address,
            lon=scripted.lon,
            lat=scripted.lat,
            grid=self._grid_code(scripted),
            reporter_name=scripted.reporter,
            reporter_phone=scripted.phone,
            urgency=scripted.urgency,
            answer=scripted.answer,
            place=scripted.address,
        )

    def _grid_code(self, report: ScriptedReport) -> str | None:
        case_id = self._cases.get(report.key)
        if case_id is None:
            return None
        with self.db.read() as s:
            return s.scalar(select(Case.grid_code).where(Case.id == case_id))
