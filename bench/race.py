"""Seats racing on shared cases: throughput, p99 action latency, refusals by kind, invariant violations.

    python bench/race.py [--seats 8] [--actions 1000] [--cases 200] [--pg URL] [--only sqlite|postgresql]

Each seat is a separate process with its own connections, acting as an operator, a shift lead and the
grid team's unit account, and does what a seat does: looks at a random case (its state and version),
then takes one of the actions the case allows, passing the version it saw (as the window does) —
file, reject, merge (into a case it also looked at), dispatch, add a co-unit, acknowledge, return,
report a result, ask for and decide an extension, verify, close, rework, suspend, resume, reopen,
undo its own last action, or file a new report when it drew a closed case. Seats start together.

Afterwards the database itself is checked (:func:`violations`): no case is lost from every queue (a
merged case leads, through its merges, to a case that is not merged), no transition happened twice
(each case's versions in its history run 2, 3, … without gap or repeat, and every event starts where
the one before ended), every case's version and state match its history, the hash chains verify, and
every refusal a seat got was the clean conflict message (or undo's "nothing of yours to undo").

PostgreSQL runs in a throw-away database created on the server of ``--pg`` (default: the local
server as ``postgres``); SQLite in one temporary file shared by all seats. tests/test_race.py runs a
small version of the same race on both databases.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like standard modules (queue.py): do not let them shadow the real ones.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import itertools
import multiprocessing
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from workstation.i18n import set_language
from workstation.models import Case, CaseEvent, CaseUnit, ExtensionRequest
from workstation.services import accounts, audit
from workstation.services import lifecycle as lc
from workstation.services.errors import ConflictError, ValidationError, WorkstationError
from workstation.services.reports import add_report
from workstation.storage.bootstrap import open_database
from workstation.storage.db import Database

PASSWORD = "race-Seat-9"
REPORT = {
    "channel": "PDA",
    "text": "洞庭湖路与嵩山路交口向西10米，路南侧有非机动车乱停放",
    "grid": "塘西河网格",
    "received_at": "2026-06-04T10:19:00+08:00",
}
CONFLICT = ("was changed by", "nothing of your action was saved")
UNDO_REFUSED = ("Nothing of yours to undo", "Too late to undo")
CO_UNITS = ("CG", "JJ", "HB")
TARGETS = {"throughput": 200.0, "p99_ms": 100.0}


def prepare(url: str, seats: int, cases: int) -> None:
    """Users (an administrator; per seat an operator and a lead; the grid team's unit) and the cases."""
    db = open_database(url)
    try:
        admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
        for i in range(seats):
            accounts.add_user(db, admin, f"op{i}", "operator", PASSWORD)
            accounts.add_user(db, admin, f"lead{i}", "lead", PASSWORD)
        accounts.add_user(db, admin, "gridteam", "unit", PASSWORD, unit="GRID-S13C01G01")
        for n in range(cases):
            add_report(db, {**REPORT, "external_id": f"race-{n}", "text": f"{REPORT['text']} #{n}"})
    finally:
        db.dispose()


@dataclass
class SeatResult:
    """What one seat did."""

    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # "action:ok" / "action:conflict" / ...
    unexpected: list[str] = field(default_factory=list)


def _look(db: Database, rng: random.Random) -> tuple[Any, bool, set[str]] | None:
    """What the seat sees of a random case: its state and version, a pending extension, its co-units."""
    with db.read() as s:
        top = s.scalar(select(func.max(Case.id))) or 0
        pending = (
            select(func.count())
            .select_from(ExtensionRequest)
            .where(ExtensionRequest.case_id == Case.id, ExtensionRequest.status == "pending")
            .scalar_subquery()
        )
        units = select(func.count()).select_from(CaseUnit).where(CaseUnit.case_id == Case.id).scalar_subquery()
        case = s.execute(
            select(Case.id, Case.status, Case.version, pending.label("pending"), units.label("units")).where(
                Case.id == rng.randint(1, top)
            )
        ).first()
        if case is None:
            return None
        codes = set(s.scalars(select(CaseUnit.unit_code).where(CaseUnit.case_id == case.id))) if case.units else set()
    return case, bool(case.pending), codes


def _choose(db: Database, rng: random.Random, me: dict[str, Any], mine: list[int]) -> tuple[str, Any] | None:
    op, lead, unit = me["op"], me["lead"], me["unit"]
    if mine and rng.random() < 0.05:
        cid = mine[-1]
        return "undo", lambda: lc.undo(db, me[me["last_by"].get(cid, "op")], cid)
    looked = _look(db, rng)
    if looked is None:
        return None
    case, pending, units = looked
    cid, v, state = case.id, case.version, case.status
    choices: list[tuple[str, Any]] = []
    if state in ("reported", "returned"):
        choices += [
            ("file", lambda: lc.file(db, op, cid, "0201", expected_version=v)),
            ("reject", lambda: lc.reject(db, op, cid, "重复", expected_version=v)),
        ]
        looked_target = _look(db, rng)
        if looked_target is not None:
            target = looked_target[0]
            if target.id != cid and target.status not in ("merged", "rejected"):
                tv = target.version
                choices.append(
                    (
                        "merge",
                        lambda: lc.merge(db, op, cid, target.id, expected_version=v, expected_into_version=tv),
                    )
                )
    if state in ("filed", "returned"):
        choices.append(("dispatch", lambda: lc.dispatch(db, op, cid, "GRID", expected_version=v)))
    if state in ("dispatched", "in_progress", "rework"):
        choices += [
            ("handle", lambda: lc.handle(db, unit, cid, "已处理", expected_version=v)),
            ("suspend", lambda: lc.suspend(db, lead, cid, "等待施工", expected_version=v)),
            ("redispatch", lambda: lc.dispatch(db, op, cid, "GRID", expected_version=v)),
        ]
        if not pending:
            choices.append(
                (
                    "request_extension",
                    lambda: lc.request_extension(db, unit, cid, "1wd", "材料未到", expected_version=v),
                )
            )
    if state in ("dispatched", "in_progress", "rework", "handled") and pending:
        choices.append(
            ("decide_extension", lambda: lc.decide_extension(db, lead, cid, rng.random() < 0.5, expected_version=v))
        )
    if state == "dispatched":
        choices += [
            ("acknowledge", lambda: lc.acknowledge(db, unit, cid, expected_version=v)),
            ("return", lambda: lc.return_case(db, unit, cid, "不属本单位", expected_version=v)),
        ]
        free = [u for u in CO_UNITS if u not in units]
        if free:
            co = rng.choice(free)
            choices.append(("add_unit", lambda: lc.add_unit(db, op, cid, co, expected_version=v)))
    if state == "handled":
        choices.append(("verify", lambda: lc.verify(db, op, cid, expected_version=v)))
    if state == "verifying":
        choices += [
            ("close", lambda: lc.close(db, op, cid, expected_version=v)),
            ("rework", lambda: lc.rework(db, op, cid, "仍未解决", expected_version=v)),
        ]
    if state == "suspended":
        choices.append(("resume", lambda: lc.resume(db, lead, cid, expected_version=v)))
    if state in ("rejected", "merged"):
        choices.append(("reopen", lambda: lc.reopen(db, lead, cid, "误判", expected_version=v)))
    if state == "closed" or not choices:
        n = rng.randrange(10**9)
        return "report", lambda: add_report(db, {**REPORT, "external_id": f"new-{me['seat']}-{n}"})
    name, act = rng.choice(choices)
    by = "unit" if name in ("handle", "request_extension", "acknowledge", "return") else "op"
    by = "lead" if name in ("suspend", "decide_extension", "resume", "reopen") else by
    return name, (act, cid, by)


def seat(url: str, index: int, actions: int, seed: int, start: Any) -> SeatResult:
    """One seat's share of the race (runs in its own process)."""
    set_language("en")  # the refusals are checked against the program's English messages
    db = Database(url)
    result = SeatResult()
    try:
        me: dict[str, Any] = {
            "seat": index,
            "op": accounts.find_actor(db, f"op{index}"),
            "lead": accounts.find_actor(db, f"lead{index}"),
            "unit": accounts.find_actor(db, "gridteam"),
            "last_by": {},
        }
        rng = random.Random(seed * 1000 + index)
        mine: list[int] = []
        start.wait()
        while sum(result.outcomes.values()) < actions:
            chosen = _choose(db, rng, me, mine)
            if chosen is None:
                continue
            name, what = chosen
            act, cid, by = what if isinstance(what, tuple) else (what, None, None)
            began = time.perf_counter()
            try:
                act()
                kind = "ok"
            except ConflictError as exc:
                kind = "conflict" if all(p in exc.message for p in CONFLICT) else "unclear conflict"
                if kind != "conflict":
                    result.unexpected.append(f"{name}: {exc.message}")
            except ValidationError as exc:
                if name == "undo" and exc.message.startswith(UNDO_REFUSED):
                    kind = "nothing to undo"
                else:
                    kind = "refused"
                    result.unexpected.append(f"{name}: {exc.message}")
            except WorkstationError as exc:
                kind = "refused"
                result.unexpected.append(f"{name}: {type(exc).__name__}: {exc.message}")
            except Exception as exc:  # a database error is a finding, not a crash of the bench
                kind = "error"
                result.unexpected.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            result.latencies.append(time.perf_counter() - began)
            result.outcomes[f"{name}:{kind}"] += 1
            if kind == "ok" and cid is not None:
                mine.append(cid)
                me["last_by"][cid] = by
                del mine[:-5]
            if name == "undo" and mine:
                mine.pop()
    finally:
        db.dispose()
    return result


def violations(url: str) -> list[str]:
    """Every invariant the race must keep, checked from the database alone."""
    db = Database(url)
    found: list[str] = []
    try:
        with db.read() as s:
            cases = {c.id: c for c in s.execute(select(Case.id, Case.status, Case.version, Case.merged_into_id))}
            events: dict[int, list[Any]] = {}
            query = select(
                CaseEvent.case_id, CaseEvent.action, CaseEvent.from_state, CaseEvent.to_state, CaseEvent.details
            )
            for e in s.execute(query.order_by(CaseEvent.case_id, CaseEvent.id)):
                events.setdefault(e.case_id, []).append(e)
        for cid, case in cases.items():
            history = events.get(cid, [])
            if not history or history[0].action != "report":
                found.append(f"case {cid}: history does not start with its report")
                continue
            versions = [e.details["version"] for e in history[1:]]
            if versions != list(range(2, 2 + len(versions))):
                found.append(f"case {cid}: versions in history {versions} (a transition twice, or one lost)")
            if case.version != 1 + len(versions):
                found.append(f"case {cid}: version {case.version} but {1 + len(versions)} in its history")
            for before, after in itertools.pairwise(history):
                if after.from_state != before.to_state:
                    found.append(f"case {cid}: {after.action} from {after.from_state} after {before.to_state}")
            if history[-1].to_state != case.status:
                found.append(f"case {cid}: is {case.status} but its history ends {history[-1].to_state}")
            if (case.status == "merged") != (case.merged_into_id is not None):
                found.append(f"case {cid}: {case.status} with merged_into {case.merged_into_id}")
            seen, at = {cid}, case
            while at.status == "merged":
                at = cases[at.merged_into_id]
                if at.id in seen:
                    found.append(f"case {cid}: lost from every queue (merges form a cycle {sorted(seen)})")
                    break
                seen.add(at.id)
        report = audit.verify(db, accounts.find_actor(db, "admin"))
        found += [f"audit: {b.message}" for b in report.breaks]
    finally:
        db.dispose()
    return found


@dataclass
class RaceResult:
    """One race on one database."""

    database: str
    seats: int
    actions: int
    seconds: float
    latencies: list[float]
    outcomes: Counter[str]
    unexpected: list[str]
    violations: list[str]

    @property
    def throughput(self) -> float:
        """Actions per second, all seats together."""
        return self.actions / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Action latency at percentile ``p`` (0–100), in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000 if ordered else 0.0

    def refusals(self) -> Counter[str]:
        """Refusals by kind (conflict, nothing to undo, and anything unexpected)."""
        out: Counter[str] = Counter()
        for key, n in self.outcomes.items():
            kind = key.split(":", 1)[1]
            if kind != "ok":
                out[kind] += n
        return out


def race(url: str, seats: int, actions: int, cases: int, seed: int = 1) -> RaceResult:
    """Prepare the database, run the seats together, and check the invariants."""
    prepare(url, seats, cases)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(seats + 1)
        with ctx.Pool(seats) as pool:
            pending = [pool.apply_async(seat, (url, i, actions, seed, start)) for i in range(seats)]
            start.wait(timeout=120)
            began = time.perf_counter()
            results = [p.get(timeout=1800) for p in pending]
            seconds = time.perf_counter() - began
    total = RaceResult(make_url(url).get_backend_name(), seats, 0, seconds, [], Counter(), [], [])
    for r in results:
        total.latencies += r.latencies
        total.outcomes += r.outcomes
        total.unexpected += r.unexpected
    total.actions = len(total.latencies)
    total.violations = violations(url) + [f"refusal: {m}" for m in total.unexpected]
    return total


def _pg_database(server: str) -> tuple[str, Any]:
    name = f"ws_race_{int(time.time())}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


def table(results: list[RaceResult]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| database | seats × actions | actions/s | p50 ms | p99 ms | refusals by kind | violations |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for r in results:
        refusals = ", ".join(f"{k} {n}" for k, n in sorted(r.refusals().items())) or "none"
        lines.append(
            f"| {r.database} | {r.seats} × {r.actions // max(r.seats, 1)} | {r.throughput:.0f} | "
            f"{r.percentile(50):.1f} | {r.percentile(99):.1f} | {refusals} | {len(r.violations)} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Run the race on both databases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seats", type=int, default=8)
    parser.add_argument("--actions", type=int, default=1000, help="actions per seat")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    results = []
    if args.only != "sqlite":
        url, drop = _pg_database(args.pg)
        try:
            results.append(race(url, args.seats, args.actions, args.cases))
        finally:
            drop()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            results.append(race(f"sqlite:///{tmp}/race.sqlite", args.seats, args.actions, args.cases))
    print(table(results))
    for r in results:
        counts = ", ".join(f"{k} {n}" for k, n in sorted(r.outcomes.items()))
        print(f"\n{r.database}: {counts}")
        for v in r.violations[:20]:
            print(f"  VIOLATION {v}")
        if r.database == "postgresql":
            ok = r.throughput >= TARGETS["throughput"] and r.percentile(99) <= TARGETS["p99_ms"] and not r.violations
            print(
                f"  target ≥ {TARGETS['throughput']:.0f} actions/s, p99 ≤ {TARGETS['p99_ms']:.0f} ms, "
                f"0 violations: {'met' if ok else 'MISSED'}"
            )
    return 1 if any(r.violations for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
