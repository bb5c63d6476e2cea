"""``demo``: seed a demo world, list and check training scenarios, score a training run."""

from __future__ import annotations

import argparse
import sys

from workstation.cli import common
from workstation.demo.safety import DemoSafetyError, is_production
from workstation.demo.scenarios import ScenarioError, list_scenarios, load_scenario
from workstation.demo.scoring import score_run
from workstation.demo.world import seed_world
from workstation.domain.lifecycle import Role
from workstation.formatting import duration
from workstation.i18n import tr
from workstation.services.errors import ValidationError
from workstation.services.reports import parse_time


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    demo = sub.add_parser("demo", help="demo and training mode", parents=opts)
    ds = demo.add_subparsers(dest="cmd", metavar="CMD")
    seed = ds.add_parser("seed", help="write a demo world (users and historic cases) into a database", parents=opts)
    seed.add_argument("--seed", type=int, default=1, help="the same seed gives the same world (default 1)")
    seed.add_argument("--cases", type=int, default=20000, help="historic cases (default 20000)")
    seed.add_argument("--people", type=int, default=2000, help="people on the care roster (default 2000)")
    seed.add_argument("--now", metavar="ISO_TIME", help="the instant the world ends at (default: now, to the hour)")
    seed.set_defaults(handler=demo_seed)
    score = ds.add_parser("score", help="the score of a training run", parents=opts)
    score.add_argument("run", type=int, metavar="RUN_ID")
    score.add_argument("--json", action="store_true", help="print the whole score as one JSON object")
    score.set_defaults(handler=demo_score)
    scen = ds.add_parser("scenarios", help="list the shipped training scenarios", parents=opts)
    scen.add_argument("--json", action="store_true", help="one JSON line per scenario")
    scen.set_defaults(handler=demo_scenarios)
    check = ds.add_parser("check", help="validate a scenario file (exit 1 with each line and reason)", parents=opts)
    check.add_argument("file", metavar="FILE")
    check.set_defaults(handler=demo_check)


class _ProgressLine:
    """``progress(done, total, label)`` as one line on standard error (on a terminal)."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int, label: str) -> None:
        if self.live:
            sys.stderr.write(f"\r{tr(label)}: {done}/{total}\033[K")
            sys.stderr.flush()
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


@common.no_identity
def demo_seed(args: argparse.Namespace) -> int:
    """Seed a demo world into the database named by ``--db`` (never the configured production one)."""
    url = getattr(args, "db", None)
    if not url:
        raise ValidationError(tr("Say which database to fill: --db URL."), {"db": tr("required")})
    if is_production(url):
        raise DemoSafetyError(tr("Refusing to write demo data into the configured production database {url}.", url=url))
    now = None
    if args.now:
        try:
            now = parse_time(args.now)
        except ValueError as exc:
            raise ValidationError(
                tr("--now {value}: {reason}", value=args.now, reason=exc), {"now": str(exc)}
            ) from None
    db = common.database(args)
    progress = _ProgressLine()
    try:
        world = seed_world(db, args.seed, args.cases, args.people, progress, now=now)
    finally:
        progress.finish()
    print(
        tr(
            "seeded {cases} cases ({events} history events), {users} users and {people} people in {seconds} s",
            cases=world.cases,
            events=world.events,
            users=world.users,
            people=world.people,
            seconds=f"{world.seconds:.1f}",
        ),
        file=sys.stderr,
    )
    return 0


def demo_score(args: argparse.Namespace) -> int:
    """Print a run's score."""
    db = common.database(args)
    common.actor(db, args, [Role.TRAINER, Role.LEAD, Role.ADMIN], tr("read training scores"))
    result = score_run(db, args.run)
    if args.json:
        common.emit_json(result)
        return 0
    run = result["run"]
    titles = {sc.name: sc.title for sc in list_scenarios()}
    scenario = titles.get(run["scenario"], run["scenario"])
    print(tr("run {id}: {scenario}, trainee {trainee}", id=run["id"], scenario=scenario, trainee=run["trainee"]))
    d, f = result["dispatch_seconds"], result["first_action_seconds"]
    print(
        tr(
            "reports: {n}, acted on: {acted}, correct: {correct}",
            n=result["items"],
            acted=result["acted_on"],
            correct=result["correct"],
        )
    )
    print(
        tr(
            "to first action: median {median}, 90th percentile {p90}",
            median=duration(f["median"]),
            p90=duration(f["p90"]),
        )
    )
    print(
        tr("to dispatch: median {median}, 90th percentile {p90}", median=duration(d["median"]), p90=duration(d["p90"]))
    )
    for key, label in (("category", tr("category")), ("unit", tr("unit"))):
        part = result[key]
        print(
            tr("{what}: {correct} of {expected} right", what=label, correct=part["correct"], expected=part["expected"])
        )
    r, m = result["reject"], result["merge"]
    print(
        tr(
            "rejects: {correct} of {expected} right, {wrong} wrongly rejected",
            correct=r["correct"],
            expected=r["expected"],
            wrong=r["wrong"],
        )
    )
    print(tr("merges: {correct} of {expected} right", correct=m["correct"], expected=m["expected"]))
    print(tr("deadlines missed: {n}", n=result["deadlines_missed"]))
    per_case = result["keystrokes"]["per_case"]
    print(tr("keystrokes per case: {n}", n="—" if per_case is None else per_case))
    return 0


@common.no_identity
def demo_scenarios(args: argparse.Namespace) -> int:
    """List the shipped scenarios."""
    for sc in list_scenarios():
        if args.json:
            common.emit_json(
                {
                    "name": sc.name,
                    "title": sc.title,
                    "reports": len(sc.reports),
                    "events": len(sc.events),
                    "duration": sc.duration,
                    "speed": sc.speed,
                    "description": sc.description,
                }
            )
        else:
            minutes = round(sc.duration / 60)
            print(f"{sc.name:<20} {sc.title:<12}\t" + tr("{n} reports, {m} min", n=len(sc.reports), m=minutes))
    return 0


@common.no_identity
def demo_check(args: argparse.Namespace) -> int:
    """Validate one scenario file."""
    try:
        sc = load_scenario(args.file)
    except ScenarioError as exc:
        for line in exc.message.splitlines():
            print(line, file=sys.stderr)
        return 1
    print(tr("{file}: valid, {n} reports and {m} events", file=args.file, n=len(sc.reports), m=len(sc.events)))
    return 0
