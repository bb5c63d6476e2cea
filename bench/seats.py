"""Many seats on one database: the live path under a steady stream of changes.

One command::

    python bench/seats.py [--pg URL] [--cases 1000000] [--rate 5] [--seconds 30] [--pg-seats 1,10,40]
                          [--sqlite-seats 1,4] [--dir DIR]

builds (once; cached) a PostgreSQL database and an SQLite file with ``--cases`` cases (the kept counts
rebuilt by ``services.counts.check(repair=True)`` after a bulk seed with the triggers off), then for
each number of seats N starts N seat processes and one writer process. Every seat is the real live
path offscreen: a ``QueueModel`` on the "new" queue in a ``QTableView``, the window's ``LiveFeed``
(the live thread: PostgreSQL ``LISTEN``, SQLite poll), applying each change to the model on the GUI
thread; a 10 ms ``QTimer`` measures the event loop's stalls. The writer adds changes through the
services at ``--rate`` per second (new reports and filings, alternately) and notes when each commit
returned. It prints one markdown table:

- server CPU: the CPU time of the PostgreSQL backends serving the bench database (``/proc``), per
  second of wall time, over the measured seconds (so 1.00 is one core busy);
- visible p50/p99: from a commit returning at the writer to the change applied in a seat's model,
  over all seats and changes;
- worst feed slot: the longest time the GUI thread spent applying a change (what the feed costs the
  window), and worst stall: the longest gap of the event loop beyond its 10 ms tick, whatever caused
  it (on a shared 2-core machine, mostly other processes);

and the targets met or missed. Exits 0 regardless.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# bench/queue.py would shadow the standard library's queue module (psycopg needs it): the project root instead
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

SEED_VERSION = 1
TICK_MS = 10
TARGET_P99_S = 1.0
TARGET_STALL_MS = 50.0
TARGET_CPU = 1.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- building ------------------------------------------------------------------------------------------


def _seed_pg(url: str, cases: int) -> None:
    from sqlalchemy import text

    from workstation.services import accounts, counts
    from workstation.storage import count_buckets
    from workstation.storage.bootstrap import open_database

    db = open_database(url)
    with db.write() as s:  # the triggers of this code (a cached database may hold older ones)
        for statement in [*count_buckets.drop_sql("postgresql"), *count_buckets.trigger_sql("postgresql")]:
            s.execute(text(statement))
    seeded = f"{SEED_VERSION}:{cases}"  # the writers of earlier runs added a few hundred: still this seed
    with db.read() as s:
        marker = s.scalar(text("SELECT value FROM meta WHERE key = 'bench.seats'"))
    if marker == seeded:
        db.dispose()
        return
    log(f"[build] PostgreSQL: seeding {cases:,} cases (triggers off, counts rebuilt after)")
    started = time.perf_counter()
    with db.engine.begin() as conn:
        # no triggers during the seed (case_events' append-only trigger refuses even the TRUNCATE)
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE case_events, case_leases, case_units, extension_requests, cases CASCADE"))
        conn.execute(text(_seed_sql("postgresql", cases)))
        conn.execute(text("DELETE FROM meta WHERE key = 'bench.seats'"))
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('bench.seats', :v)"), {"v": seeded})
    counts.check(db, repair=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE cases"))
        conn.execute(text("VACUUM ANALYZE case_counts"))
    _users(db, accounts)
    db.dispose()
    log(f"[build] done in {time.perf_counter() - started:.0f} s")


def _seed_sqlite(path: Path, cases: int) -> str:
    from sqlalchemy import text

    from workstation.services import accounts, counts
    from workstation.storage import count_buckets
    from workstation.storage.bootstrap import open_database

    url = f"sqlite:///{path}"
    if path.exists():
        return url
    log(f"[build] SQLite: seeding {cases:,} cases")
    db = open_database(url)
    with db.write() as s:
        for statement in count_buckets.drop_sql("sqlite"):
            s.execute(text(statement))
        s.execute(text(_seed_sql("sqlite", cases)))
        for statement in count_buckets.trigger_sql("sqlite"):
            s.execute(text(statement))
    counts.check(db, repair=True)
    _users(db, accounts)
    db.dispose()
    return url


def _users(db: Any, accounts: Any) -> None:
    from sqlalchemy import text

    with db.read() as s:
        if s.scalar(text("SELECT count(*) FROM users WHERE name = 'admin'")):
            return
    admin = accounts.add_user(db, None, "admin", "admin", "bench-password-1")
    accounts.add_user(db, admin, "writer", "operator", "bench-password-1")


def _seed_sql(dialect: str, cases: int) -> str:
    """One INSERT … SELECT of ``cases`` cases spread over statuses, channels, grids and six months."""
    if dialect == "postgresql":
        series = f"generate_series(1, {cases}) AS g(i)"
        ago = "now() - make_interval(secs => i * 15)"
        later = "now() - make_interval(secs => i * 15) + interval '3 days'"
        text_ = "'座位测试 ' || i"
    else:
        series = (
            f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {cases}) SELECT i FROM s) AS g"
        )
        ago = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i * 15) || ' seconds')"
        later = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i * 15) || ' seconds', '+3 days')"
        text_ = "'座位测试 ' || i"
    status = (
        "CASE WHEN i % 50 = 0 THEN 'reported' WHEN i % 50 = 1 THEN 'returned' WHEN i % 50 IN (2, 3) THEN 'handled' "
        "WHEN i % 50 IN (4, 5, 6) THEN 'dispatched' WHEN i % 50 = 7 THEN 'verifying' ELSE 'closed' END"
    )
    channel = "CASE i % 4 WHEN 0 THEN 'PDA' WHEN 1 THEN '12345' WHEN 2 THEN 'PATROL' ELSE '12319' END"
    return (
        "INSERT INTO cases (version, status, priority, channel, text, address, grid_code, community_code, "
        "street_code, reporter_name, reporter_phone, photos, received_at, created_at, deadline_at, last_actor, "
        "last_action_at, result_photos) "
        f"SELECT 1, {status}, 1 + i % 3, {channel}, {text_}, '', gr.code, gr.community_code, co.street_code, "
        f"'', '', '[]', {ago}, {ago}, CASE WHEN i % 50 BETWEEN 1 AND 6 THEN {later} END, 'op' || (i % 40), "
        f"{ago}, '[]' FROM {series} "
        "JOIN (SELECT code, community_code, row_number() OVER (ORDER BY code) - 1 AS k FROM grids) AS gr "
        "ON gr.k = i % (SELECT count(*) FROM grids) "
        "JOIN communities AS co ON co.code = gr.community_code"
    )


# -- the seat and the writer (child processes) -----------------------------------------------------------


def child_seat(url: str, name: str, seconds: float, out: Path, ready: Path) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QHeaderView, QTableView

    from workstation.services import queue as q
    from workstation.services.live import View
    from workstation.storage.db import Database
    from workstation.ui.live import LiveFeed
    from workstation.ui.queue_model import QueueModel

    app = QApplication([])
    db = Database(url)
    flt = q.QueueFilter(queue="new", actor=name)
    model = QueueModel(db, flt)
    table = QTableView()  # set up as the window's queue table is
    table.setModel(model)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(26)
    table.setWordWrap(False)
    table.resize(1000, 600)
    table.show()
    app.processEvents()

    def view() -> View:
        first = max(table.rowAt(0), 0)
        last = table.rowAt(table.viewport().height() - 1)
        return View(flt, **model.view_of(first, last if last >= 0 else first + 40))

    feed = LiveFeed(db, name, view())
    seen: dict[int, float] = {}
    worst_slot = [0.0]

    rereads = [0, 0]

    def apply(snapshot: Any) -> None:
        started = time.perf_counter()
        rereads[0] += snapshot.view.blocks is not None
        rereads[1] += 1
        model.apply(snapshot.view)
        now = time.time()
        table.viewport().update()
        feed.publish(view())
        for event_id, _, _ in snapshot.events:
            seen.setdefault(event_id, now)
        worst_slot[0] = max(worst_slot[0], time.perf_counter() - started)

    feed.changed.connect(apply)
    feed.start()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0] - TICK_MS / 1000)
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    timer.start()
    ready.write_text("ready")
    go = ready.with_suffix(".go")
    while not go.exists():
        app.processEvents()
        time.sleep(0.01)
    gaps.clear()
    worst_slot[0] = 0.0
    cpu_start = time.process_time()
    last[0] = time.perf_counter()
    stop = ready.with_suffix(".stop")
    watch = QTimer()
    watch.setInterval(200)
    watch.timeout.connect(lambda: app.quit() if stop.exists() else None)
    watch.start()
    app.exec()
    cpu = time.process_time() - cpu_start
    feed.stop()
    result = {"seen": seen, "worst_stall": max(gaps, default=0.0), "worst_slot": worst_slot[0], "cpu": cpu}
    result["rereads"] = rereads
    out.write_text(json.dumps(result))
    os._exit(0)


def child_writer(url: str, rate: float, seconds: float, out: Path) -> None:
    from sqlalchemy import select

    from workstation.models import Case, CaseEvent
    from workstation.services import lifecycle, reports
    from workstation.services.actors import Actor
    from workstation.storage.db import Database

    os.nice(-10) if os.geteuid() == 0 else None  # the writer stands for other machines: keep its pace
    db = Database(url)
    writer = Actor(name="writer", role="operator")
    commits: dict[int, float] = {}
    step = 1.0 / rate
    next_at = time.monotonic()
    end = next_at + seconds
    n = 0
    while time.monotonic() < end:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += step
        n += 1
        if n % 2:
            added = reports.add_report(
                db,
                {
                    "channel": "PDA",
                    "external_id": f"bench-{os.getpid()}-{n}",
                    "text": f"座位测试 新上报 {n}",
                    "received_at": datetime.now(UTC).isoformat(),
                },
            )
            done = time.time()
            case_id = added.case_id
        else:
            with db.read() as s:
                case_id = s.scalar(select(Case.id).where(Case.status == "reported").order_by(Case.id.desc()).limit(1))
            lifecycle.file(db, writer, int(case_id or 0), "0201")
            done = time.time()
        with db.read() as s:
            event_id = s.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc()))
        commits[int(event_id or 0)] = done
    out.write_text(json.dumps(commits))
    os._exit(0)


# -- the run ---------------------------------------------------------------------------------------------


def _backend_ticks(admin_url: str, dbname: str) -> dict[int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url)
    with engine.connect() as conn:
        pids = [
            int(p)
            for p in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": dbname}).scalars()
        ]
    engine.dispose()
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError):
            continue
    return out


def run(
    url: str, seats: int, rate: float, seconds: float, work: Path, admin: str | None, dbname: str | None
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(dir=work))
    me = str(Path(__file__).resolve())
    procs = []
    for k in range(seats):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    me,
                    "--child",
                    "seat",
                    "--url",
                    url,
                    "--name",
                    f"seat{k}",
                    "--seconds",
                    str(seconds + 2),
                    "--out",
                    str(folder / f"seat{k}.json"),
                ]
            )
        )
    deadline = time.monotonic() + 300
    while sum((folder / f"seat{k}.json.ready").exists() for k in range(seats)) < seats:
        if time.monotonic() > deadline:
            raise SystemExit("seats did not start")
        time.sleep(0.2)
    time.sleep(1.0)
    for k in range(seats):
        (folder / f"seat{k}.json.go").write_text("go")
    writer = subprocess.Popen(
        [
            sys.executable,
            me,
            "--child",
            "writer",
            "--url",
            url,
            "--rate",
            str(rate),
            "--seconds",
            str(seconds),
            "--out",
            str(folder / "writer.json"),
        ]
    )
    ticks_before = _backend_ticks(admin, dbname) if admin and dbname else {}
    started = time.monotonic()
    writer.wait()
    time.sleep(2.0)  # the last changes reach the seats
    ticks_after = _backend_ticks(admin, dbname) if admin and dbname else {}
    wall = time.monotonic() - started
    for k in range(seats):
        (folder / f"seat{k}.json.stop").write_text("stop")
    for p in procs:
        p.wait()
    commits = {int(k): v for k, v in json.loads((folder / "writer.json").read_text()).items()}
    latencies: list[float] = []
    missed = 0
    stalls, slots, seat_cpu = [], [], 0.0
    for k in range(seats):
        result = json.loads((folder / f"seat{k}.json").read_text())
        seen = {int(e): t for e, t in result["seen"].items()}
        for event_id, at in commits.items():
            if event_id in seen:
                latencies.append(max(seen[event_id] - at, 0.0))
            else:
                missed += 1
        stalls.append(result["worst_stall"])
        slots.append(result["worst_slot"])
        seat_cpu += result["cpu"]
    cpu = None
    if ticks_after:
        hz = os.sysconf("SC_CLK_TCK")
        used = sum(t - ticks_before.get(pid, t) for pid, t in ticks_after.items() if pid in ticks_before)
        cpu = used / hz / wall
    latencies.sort()
    return {
        "seats": seats,
        "changes": len(commits),
        "cpu": cpu,
        "p50": statistics.median(latencies) if latencies else None,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
        "missed": missed,
        "slot_ms": max(slots) * 1000,
        "stall_ms": max(stalls) * 1000,
        "seat_ms": seat_cpu / seats / max(len(commits), 1) * 1000,
    }


def _fmt(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:.2f}{unit}" if unit != " ms" else f"{v:.0f}{unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres", help="a server (admin URL); '' skips"
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--pg-seats", default="1,10,40")
    parser.add_argument("--sqlite-seats", default="1,4")
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "ws-bench-seats"))
    parser.add_argument("--child", choices=["seat", "writer"])
    parser.add_argument("--url")
    parser.add_argument("--name", default="seat")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child == "seat":
        child_seat(args.url, args.name, args.seconds, Path(args.out), Path(args.out + ".ready"))
    if args.child == "writer":
        child_writer(args.url, args.rate, args.seconds, Path(args.out))
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    if args.pg:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        dbname = f"ws_bench_seats_{args.cases}"
        engine = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": dbname}).first():
                conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        engine.dispose()
        url = make_url(args.pg).set(database=dbname).render_as_string(hide_password=False)
        _seed_pg(url, args.cases)
        for n in [int(x) for x in args.pg_seats.split(",") if x]:
            log(f"[run] PostgreSQL, {n} seats")
            rows.append(("PostgreSQL", run(url, n, args.rate, args.seconds, work, args.pg, dbname)))
    sqlite_url = _seed_sqlite(work / f"seats-{args.cases}-v{SEED_VERSION}.sqlite", args.cases)
    for n in [int(x) for x in args.sqlite_seats.split(",") if x]:
        log(f"[run] SQLite, {n} seats")
        rows.append(("SQLite", run(sqlite_url, n, args.rate, args.seconds, work, None, None)))
    print(f"{args.cases:,} cases, {args.rate:g} changes/s for {args.seconds:g} s\n")
    print(
        "| database | seats | changes | server CPU (cores) | visible p50 | visible p99 | missed "
        "| worst feed slot | worst stall | seat CPU per change |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, r in rows:
        print(
            f"| {kind} | {r['seats']} | {r['changes']} | {_fmt(r['cpu'])} | {_fmt(r['p50'], ' s')} | "
            f"{_fmt(r['p99'], ' s')} | {r['missed']} | {r['slot_ms']:.0f} ms | {r['stall_ms']:.0f} ms | "
            f"{r['seat_ms']:.1f} ms |"
        )
    top = [r for kind, r in rows if kind == "PostgreSQL"]
    if top:
        r = top[-1]
        met = {
            f"p99 visible <= {TARGET_P99_S:g} s": r["p99"] is not None and r["p99"] <= TARGET_P99_S,
            f"feed slot <= {TARGET_STALL_MS:g} ms": r["slot_ms"] <= TARGET_STALL_MS,
            f"server CPU < {TARGET_CPU:g} core": r["cpu"] is not None and r["cpu"] < TARGET_CPU,
        }
        print(f"\nat {r['seats']} seats: " + "; ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in met.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
