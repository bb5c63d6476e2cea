"""Speed of supervision at district scale: the summaries against a naive GROUP BY over the cases.

One command::

    python bench/dashboard.py [--size 1000000] [--pg URL] [--repeat N] [--wall-hours H]

SQLite: the cached database of ``bench/queue.py`` (built if missing), copied and upgraded with the
program's own migrations (which fill the summaries from the cases: that time is printed too).
PostgreSQL (``--pg``, a server URL whose database is used only to create ``dash_bench``): the same
cases copied in with ``COPY``, the summaries filled by ``stats.rebuild``. On each database, with
``QT_QPA_PLATFORM=offscreen``, the median of N runs after one warm-up of:

* first paint of the supervision window (built, first figures read off the GUI thread, shown);
* one live refresh after a new case (the figures read and shown again; the feed polls every second);
* a month's evaluation (headline and every dimension's table);
* the monthly report, Excel and PDF;

each side by side with the same figures computed by ``GROUP BY`` over the cases table. With
``--wall-hours`` it also runs the wall over an accelerated demo day and prints the Python heap
(tracemalloc) and the resident memory each simulated hour. Prints markdown tables; exits 0.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import and_, func, select, text  # noqa: E402

from workstation import clock  # noqa: E402
from workstation.domain.lifecycle import RUNNING  # noqa: E402
from workstation.models import Case  # noqa: E402
from workstation.services import evaluation as ev  # noqa: E402
from workstation.storage.db import Database  # noqa: E402

NOW = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # the bench's "now": the last day of its cases
MONTH = "2026-10"
TARGETS = {"first paint": 300.0, "refresh": 100.0, "month evaluation": 1000.0}
_RUNNING = sorted(s.value for s in RUNNING)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _queue_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "queue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of ``repeat`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


# -- databases ---------------------------------------------------------------------------------------


def sqlite_db(size: int, seed: int, folder: Path) -> tuple[Database, str]:
    from workstation.services import stats
    from workstation.storage.bootstrap import open_database

    source, _, _ = _queue_bench().build(size, seed, folder)  # cases bulk-inserted: no summaries yet
    work = folder / f"dash-{size}-seed{seed}.sqlite"
    note = "cached"
    if not work.exists():
        partial = work.with_suffix(".building")
        shutil.copyfile(source, partial)
        db = open_database(f"sqlite:///{partial}")
        t0 = time.perf_counter()
        with db.write() as s:
            stats.rebuild(s)  # what the migration does to an existing database
        note = f"summaries filled from the cases in {time.perf_counter() - t0:.0f} s"
        db.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(work)
    copy = folder / f"dash-{size}-work.sqlite"
    shutil.copyfile(work, copy)  # measurements add cases: every run starts from the same ones
    return open_database(f"sqlite:///{copy}"), note


def pg_db(url: str, size: int, seed: int, folder: Path) -> tuple[Database, str]:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from workstation.services import stats
    from workstation.storage.bootstrap import open_database

    bq = _queue_bench()
    source, _, _ = bq.build(size, seed, folder)
    target = make_url(url).set(database="dash_bench")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'dash_bench'")).first()
    db = None
    if exists:
        db = open_database(target.render_as_string(hide_password=False))
        with db.read() as s:
            if s.scalar(select(func.count()).select_from(Case)) != size:
                db.dispose()
                db = None
                with admin.connect() as conn:
                    conn.execute(text('DROP DATABASE "dash_bench" WITH (FORCE)'))
    if db is not None:
        admin.dispose()
        return db, "cached"
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "dash_bench"'))
    admin.dispose()
    db = open_database(target.render_as_string(hide_password=False))
    t0 = time.perf_counter()
    cols = ", ".join(bq.COLUMNS)
    lite = sqlite3.connect(source)
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET timezone = 'UTC'")
        with cur.copy(f"COPY cases ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in lite.execute(f"SELECT {cols} FROM cases ORDER BY id"):
                copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
        raw.commit()
    finally:
        raw.close()
        lite.close()
    copied = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.write() as s:
        stats.rebuild(s)
    rebuilt = time.perf_counter() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return db, f"COPY {copied:.0f} s, summaries {rebuilt:.0f} s"


# -- the naive way -------------------------------------------------------------------------------------


def naive_figures(s: Any, now: datetime) -> dict[str, Any]:
    """What the supervision window shows, by GROUP BY and count over the cases table."""
    out: dict[str, Any] = {}
    for name in ("today", "month", "year", "all"):
        start, end = ev.Period.named(name, now).bounds()

        def count(column: Any, *extra: Any, start: datetime = start, end: datetime = end) -> int:
            where = and_(column >= start, column < end, *extra)
            return int(s.scalar(select(func.count()).select_from(Case).where(where)) or 0)

        out[name] = {
            "reported": count(Case.received_at),
            "filed": count(Case.filed_at),
            "closed": count(Case.closed_at, Case.status == "closed"),
            "closed_of_filed": count(Case.filed_at, Case.status == "closed"),
            "on_time": count(Case.closed_at, Case.status == "closed", Case.handled_at <= Case.deadline_at),
        }
    running = and_(Case.status.in_(_RUNNING), Case.deadline_at < now)
    out["overdue"] = s.scalar(select(func.count()).select_from(Case).where(running))
    out["by_unit"] = s.execute(select(Case.unit_code, func.count()).where(running).group_by(Case.unit_code)).all()
    start, end = ev.Period.named("month", now).bounds()
    month = and_(Case.received_at >= start, Case.received_at < end)
    out["channels"] = s.execute(select(Case.channel, func.count()).where(month).group_by(Case.channel)).all()
    filed = and_(Case.filed_at >= start, Case.filed_at < end)
    out["categories"] = s.execute(
        select(Case.category_code, func.count())
        .where(filed)
        .group_by(Case.category_code)
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    return out


def naive_month(s: Any, period: ev.Period) -> dict[str, Any]:
    """A month's evaluation by GROUP BY over the cases: units and grids."""
    start, end = period.bounds()
    units = ev.naive_evaluation(s, period)
    grids = {}
    for name, column, extra in (
        ("reported", Case.received_at, []),
        ("filed", Case.filed_at, []),
        ("closed", Case.closed_at, [Case.status == "closed"]),
    ):
        rows = s.execute(
            select(Case.grid_code, func.count()).where(column >= start, column < end, *extra).group_by(Case.grid_code)
        )
        grids[name] = dict(rows.all())
    return {"units": units, "grids": grids}


# -- measurements ------------------------------------------------------------------------------------


def measure(db: Database, repeat: int, folder: Path, naive_repeat: int = 1) -> dict[str, tuple[float, float | None]]:
    """(workstation ms, naive ms) per operation."""
    from PySide6.QtWidgets import QApplication

    from workstation.commands.keymap import Keymap
    from workstation.services import monthly
    from workstation.services import supervision as sup
    from workstation.services.actors import Actor
    from workstation.services.reports import add_report
    from workstation.ui.report_pdf import write_pdf
    from workstation.ui.supervision.window import SupervisionWindow

    app = QApplication.instance() or QApplication([])
    from PySide6.QtCore import QSettings

    settings = QSettings(str(folder / "dash-bench.ini"), QSettings.Format.IniFormat)
    actor = Actor("bench", "lead")
    keymap = Keymap.load(None)
    period = ev.Period.month(MONTH)
    out: dict[str, tuple[float, float | None]] = {}

    def first_paint() -> None:
        w = SupervisionWindow(db, actor, keymap, settings, lambda flt: None)
        w.show()
        while w.figures is None:
            app.processEvents()
            time.sleep(0.001)
        app.processEvents()
        w.close()
        w.deleteLater()
        app.processEvents()

    with db.read() as s:
        naive_first = timed(lambda: naive_figures(s, NOW), naive_repeat)
    out["first paint"] = (timed(first_paint, repeat), naive_first)

    window = SupervisionWindow(db, actor, keymap, settings, lambda flt: None)
    window.show()
    while window.figures is None:
        app.processEvents()
    window.feed.stop()
    n = [0]

    def refresh() -> None:
        n[0] += 1
        add_report(db, {"channel": "PDA", "text": f"测试 {n[0]}", "grid": "塘西河网格", "received_at": NOW.isoformat()})
        window.show_figures(sup.figures(db, actor.name, NOW))
        app.processEvents()

    def naive_refresh() -> None:
        n[0] += 1
        add_report(db, {"channel": "PDA", "text": f"测试 {n[0]}", "grid": "塘西河网格", "received_at": NOW.isoformat()})
        with db.read() as s:
            naive_figures(s, NOW)

    out["refresh"] = (timed(refresh, repeat), timed(naive_refresh, naive_repeat))
    window.close()

    def evaluation() -> None:
        with db.read() as s:
            ev.evaluate(s, period, now=NOW)

    def naive_evaluation() -> None:
        with db.read() as s:
            naive_month(s, period)

    out["month evaluation"] = (timed(evaluation, repeat), timed(naive_evaluation, naive_repeat))
    xlsx, pdf = folder / "dash-report.xlsx", folder / "dash-report.pdf"
    out["monthly report, Excel"] = (
        timed(lambda: monthly.write_xlsx(monthly.build(db, MONTH, NOW), xlsx), max(1, repeat // 2)),
        None,
    )
    out["monthly report, PDF"] = (
        timed(lambda: write_pdf(db, monthly.build(db, MONTH, NOW), pdf), max(1, repeat // 2)),
        None,
    )
    return out


def wall_child(hours: int, with_wall: bool) -> None:
    """One run of the accelerated demo day, with or without the wall; prints one JSON line per hour."""
    import json

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from workstation.commands.keymap import Keymap
    from workstation.demo.launch import open_demo
    from workstation.demo.sim import SimClock, Simulation
    from workstation.services import supervision as sup
    from workstation.ui.supervision.wall import WallWindow

    app = QApplication.instance() or QApplication([])
    db, actor = open_demo()
    sim = Simulation(db, clock=SimClock(clock.now(), 1.0), rate=1.0)
    sim.start()
    wall = None
    if with_wall:
        ini = Path(tempfile.mkdtemp()) / "w.ini"
        wall = WallWindow(db, actor, Keymap.load(None), QSettings(str(ini), QSettings.Format.IniFormat))
        wall.resize(1600, 900)
        wall.show()
        wall.feed.stop()  # driven below: one read per simulated 5 minutes
    tracemalloc.start()

    def rss() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    for minute in range(hours * 60 + 1):
        sim.clock.advance(60)
        sim.tick()
        if wall is not None and minute % 5 == 0:
            wall.show_figures(sup.figures(db, actor.name, care=False))
            wall.grab()  # paint it, as the screen would
        if wall is not None and minute % 15 == 0:
            wall.next_view()
        app.processEvents()
        if minute % 60 == 0:
            with db.read() as s:
                cases = s.scalar(select(func.count()).select_from(Case))
            heap = tracemalloc.get_traced_memory()[0] / 2**20
            print(json.dumps({"hour": minute // 60, "cases": cases, "heap": heap, "rss": rss()}), flush=True)
    os._exit(0)


def wall_memory(hours: int) -> list[str]:
    """The demo day alone and with the wall, each in its own process: memory hour by hour."""
    import json
    import subprocess

    runs = {}
    for kind in ("alone", "wall"):
        cmd = [sys.executable, __file__, "--wall-child", kind, "--wall-hours", str(hours)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        runs[kind] = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    rows = [
        "| simulated hour | cases | RSS demo alone (MB) | RSS demo + wall (MB) | wall's share (MB) "
        "| Python heap with wall (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for a, w in zip(runs["alone"], runs["wall"], strict=False):
        share = w["rss"] - a["rss"]
        rows.append(
            f"| {w['hour']} | {w['cases']:,} | {a['rss']:.1f} | {w['rss']:.1f} | {share:.1f} | {w['heap']:.1f} |"
        )
    if len(runs["wall"]) > 2 and len(runs["alone"]) > 2:
        grew = (runs["wall"][-1]["rss"] - runs["alone"][-1]["rss"]) - (runs["wall"][1]["rss"] - runs["alone"][1]["rss"])
        rows.append(f"\nThe wall's share from hour 1 to hour {hours}: {grew:+.1f} MB.")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "workstation-bench-dash")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-repeat", type=int, default=1, help="repeats of the (slow) GROUP BY baselines")
    parser.add_argument("--pg", default="", help="a PostgreSQL server URL (postgresql+psycopg://…/postgres)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--wall-hours", type=int, default=0, help="run the wall over this many simulated hours")
    parser.add_argument("--wall-child", choices=["alone", "wall"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.wall_child:
        wall_child(args.wall_hours, args.wall_child == "wall")
    clock.set_source(lambda: NOW)  # figures as of the bench's last day
    results: dict[str, dict[str, tuple[float, float | None]]] = {}
    notes: list[str] = []
    if not args.skip_sqlite:
        db, note = sqlite_db(args.size, args.seed, args.dir)
        notes.append(f"SQLite: {note}")
        log(f"[sqlite {args.size:,}] measuring")
        results["SQLite"] = measure(db, args.repeat, args.dir, args.naive_repeat)
        db.dispose()
    if args.pg:
        db, note = pg_db(args.pg, args.size, args.seed, args.dir)
        notes.append(f"PostgreSQL: {note}")
        log(f"[postgresql {args.size:,}] measuring")
        results["PostgreSQL"] = measure(db, args.repeat, args.dir, args.naive_repeat)
        db.dispose()
    clock.set_source(None)
    kinds = list(results)
    if not kinds:
        if args.wall_hours:
            print(f"The wall over an accelerated demo day ({args.wall_hours} simulated hours, one report a minute):")
            print("\n".join(wall_memory(args.wall_hours)))
        return 0
    head = "| operation (ms, median) | " + " | ".join(f"{k} summaries | {k} GROUP BY" for k in kinds) + " | target |"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.size:,} cases, month {MONTH}, repeat {args.repeat} (baselines {args.naive_repeat}), load {load}")
    print(head)
    print("|---|" + "---|---|" * len(kinds) + "---|")
    for op in next(iter(results.values()), {}):
        cells = []
        for k in kinds:
            ours, naive = results[k][op]
            cells += [f"{ours:,.1f}", "—" if naive is None else f"{naive:,.1f}"]
        target = TARGETS.get(op)
        print(f"| {op} | " + " | ".join(cells) + f" | {f'≤ {target:.0f}' if target else ''} |")
    missed = [f"{k} {op}" for k in kinds for op, t in TARGETS.items() if results[k][op][0] > t]
    print("; ".join(notes))
    print("Targets missed: " + (", ".join(missed) or "none"))
    if args.wall_hours:
        print()
        print(f"The wall over an accelerated demo day ({args.wall_hours} simulated hours, one report a minute):")
        print("\n".join(wall_memory(args.wall_hours)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
