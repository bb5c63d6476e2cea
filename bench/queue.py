"""Speed of the operator queue at district scale: the workstation's QueueModel against QSqlQueryModel and raw sqlite3.

One command::

    python bench/queue.py [--sizes 250000,1000000] [--dir DIR] [--repeat N] [--seed S]

For each size it builds (once; cached in DIR by size, seed and generator version) a reproducible SQLite
database with ``open_database`` (migrations and reference data) and bulk-inserted cases, copies it to a
working file (the actions write), and measures every implementation in its own child process with
``QT_QPA_PLATFORM=offscreen``: the median of N repeats after one warm-up, and the child's peak memory
(``ru_maxrss``), next to what the interpreter and the imports alone cost in that child. A child prints one
``RESULT {json}`` line and leaves with ``os._exit`` (a QSqlQueryModel holding many rows can crash at
interpreter exit: the child is judged by what it printed). The parent prints one markdown table and the
targets met and missed, and exits 0 regardless.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GENERATOR = 1  # bump when the generated data changes: cached databases are keyed by it
PAGE = 40  # rows a queue view shows at once
BATCH = 20_000
END = datetime(2026, 11, 1, tzinfo=UTC)  # the newest report; reports span the 180 days before it
SPAN_DAYS = 180
OPERATORS = [f"op{i:02d}" for i in range(1, 13)]
TARGETS = {"first": 100.0, "filter": 100.0, "end": 100.0, "action": 30.0, "memory": 300.0}

STATUS_MIX = [
    ("reported", 8.0),
    ("returned", 2.0),
    ("handled", 1.5),
    ("verifying", 1.5),
    ("filed", 1.0),
    ("dispatched", 4.0),
    ("in_progress", 6.0),
    ("rework", 0.5),
    ("suspended", 0.5),
    ("rejected", 3.0),
    ("merged", 2.0),
    ("closed", 70.0),
]
CHANNEL_MIX = [
    ("PDA", 35.0),
    ("12345", 25.0),
    ("PATROL", 10.0),
    ("WECHAT", 8.0),
    ("APP", 7.0),
    ("12319", 5.0),
    ("PHONE", 4.0),
    ("POLICE", 3.0),
    ("VISIT", 2.0),
    ("OPEN311", 1.0),
]
EXTERNAL = {"12345", "12319", "WECHAT", "APP", "POLICE", "OPEN311"}
VERSION = {
    "reported": 1,
    "rejected": 2,
    "merged": 2,
    "filed": 2,
    "dispatched": 3,
    "in_progress": 4,
    "returned": 4,
    "suspended": 5,
    "handled": 5,
    "verifying": 6,
    "closed": 7,
    "rework": 7,
}
FILED = {"filed", "dispatched", "in_progress", "returned", "handled", "verifying", "closed", "rework", "suspended"}
DISPATCHED = FILED - {"filed"}
HANDLED = {"handled", "verifying", "closed", "rework"}
PROBLEMS = [
    "路灯不亮",
    "井盖缺失",
    "占道经营",
    "垃圾堆放未清运",
    "非机动车乱停放",
    "夜间施工噪音扰民",
    "楼顶漏水",
    "行道树倒伏",
    "违章搭建",
    "污水外溢",
    "共享单车堆积",
    "人行道路面破损",
    "广告牌松动",
    "餐馆油烟扰民",
    "绿化带被毁",
    "消防通道被堵",
    "楼道杂物堆积",
    "电动车飞线充电",
    "公交站台损坏",
    "施工围挡破损",
    "路面积水严重",
    "流浪犬聚集",
    "空调外机滴水",
    "机动车乱停放",
]
DETAILS = ["", "，居民多次反映", "，请尽快处理", "，已持续三天", "，存在安全隐患", "，影响通行", "，老人小孩出行不便"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
RESULTS = ["已处理完毕，现场已恢复", "已联系责任单位整改到位", "已清理，后续加强巡查", "已维修，经回访群众满意"]
COLUMNS = (
    "id",
    "version",
    "status",
    "priority",
    "channel",
    "external_id",
    "text",
    "address",
    "lon",
    "lat",
    "grid_code",
    "community_code",
    "street_code",
    "reporter_name",
    "reporter_phone",
    "photos",
    "received_at",
    "created_at",
    "category_code",
    "category_name",
    "category_major",
    "time_limit",
    "closure_standard",
    "unit_code",
    "unit_name",
    "filed_at",
    "dispatched_at",
    "deadline_at",
    "handled_at",
    "closed_at",
    "result_text",
    "result_photos",
    "merged_into_id",
    "supervised_at",
    "source_service",
    "last_actor",
    "last_action_at",
)

# The queue views as plain SQL, shown the way the workstation shows them (grid name, live lease holder).
SELECT = (
    "SELECT c.priority, c.id, c.status, c.channel, c.text, g.name, c.received_at, c.deadline_at, l.holder "
    "FROM cases c LEFT JOIN grids g ON g.code = c.grid_code "
    "LEFT JOIN case_leases l ON l.case_id = c.id AND l.expires_at > '{now}' "
)
SQL_ALL = SELECT + "ORDER BY c.received_at DESC, c.id DESC"
SQL_ALL_REVERSED = SELECT + "ORDER BY c.received_at ASC, c.id ASC"
SQL_NEW = SELECT + "WHERE c.status = 'reported' AND c.channel = '12345' ORDER BY c.priority, c.received_at, c.id"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    ``ru_maxrss`` survives fork and exec on Linux, so a child's figure would start at its parent's size
    (this benchmark's parent holds the generated data); the kernel's ``VmHWM`` counts the child's own
    memory only. Elsewhere ``ru_maxrss`` is all there is.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


# -- building the database ----------------------------------------------------------------------------


def _stamp(cache: dict[int, str], sec: int) -> str:
    """An instant (epoch seconds) as SQLAlchemy stores a UTC datetime in SQLite."""
    day, rest = divmod(sec, 86400)
    date = cache.get(day)
    if date is None:
        date = cache[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{date} {hours:02d}:{minutes:02d}:{seconds:02d}.000000"


def _reference(path: Path) -> dict[str, Any]:
    """Migrate and load reference data with the program's own code; return what the generator draws from."""
    from workstation.services.calendar import calendar_from
    from workstation.storage.bootstrap import open_database

    db = open_database(f"sqlite:///{path}")
    with db.read() as s:
        conn = s.connection().connection.dbapi_connection
        assert conn is not None
        grids = conn.execute(
            "SELECT g.code, g.name, g.community_code, c.street_code, g.min_lon, g.min_lat, g.max_lon, g.max_lat "
            "FROM grids g JOIN communities c ON c.code = g.community_code ORDER BY g.code"
        ).fetchall()
        categories = conn.execute(
            "SELECT code, name, major_name, unit, time_limit, closure_standard, urgency FROM categories "
            "WHERE active ORDER BY code"
        ).fetchall()
        units = dict(conn.execute("SELECT code, name FROM units").fetchall())
        calendar = calendar_from(s)
    db.dispose()
    start = END - timedelta(days=30)
    limits = {c[4]: int((calendar.add(start, c[4]) - start).total_seconds()) for c in categories}
    return {"grids": grids, "categories": categories, "units": units, "limits": limits}


def _unit(role: str, grid: tuple[Any, ...]) -> str:
    if role == "GRID":
        return f"GRID-{grid[0]}"
    if role == "COMMUNITY":
        return f"COMMUNITY-{grid[2]}"
    if role == "STREET":
        return f"STREET-{grid[3]}"
    return role


def _cases(n: int, seed: int, ref: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """``n`` cases in the order they arrived (ids grow with the time received)."""
    rng = random.Random(seed)
    end = int(END.timestamp())
    span = SPAN_DAYS * 86400
    received = sorted(end - rng.randrange(span) for _ in range(n))
    statuses = rng.choices([s for s, _ in STATUS_MIX], [w for _, w in STATUS_MIX], k=n)
    channels = rng.choices([c for c, _ in CHANNEL_MIX], [w for _, w in CHANNEL_MIX], k=n)
    grids, categories, units, limits = ref["grids"], ref["categories"], ref["units"], ref["limits"]
    days: dict[int, str] = {}
    for i in range(n):
        case_id = i + 1
        status, channel, rec = statuses[i], channels[i], received[i]
        grid = rng.choice(grids)
        priority = 1 if rng.random() < 0.10 else 2
        external = f"{channel}-{case_id:09d}" if channel in EXTERNAL else None
        reporter = "" if channel in ("PDA", "PATROL", "VISIT") else rng.choice(SURNAMES) + rng.choice(("先生", "女士"))
        phone = f"1{rng.randrange(3, 10)}{rng.randrange(10**9):09d}" if reporter else ""
        text = f"{grid[1]}附近{rng.choice(PROBLEMS)}{rng.choice(DETAILS)}"
        address = f"{grid[1]}{rng.randrange(1, 300)}号"
        lon = grid[4] + (grid[6] - grid[4]) * rng.random()
        lat = grid[5] + (grid[7] - grid[5]) * rng.random()
        cat: tuple[Any, ...] = (None,) * 7
        unit_code = unit_name = filed = dispatched = deadline = handled = closed = result = merged_into = None
        last, actor = rec, "system"
        if status in FILED:
            cat = rng.choice(categories)
            filed = rec + rng.randrange(300, 7200)
            deadline = filed + limits[cat[4]]
            if cat[6] == "urgent":
                priority = 1
            last, actor = filed, rng.choice(OPERATORS)
        if status in DISPATCHED:
            assert filed is not None
            unit_code = _unit(cat[3], grid)
            unit_name = units.get(unit_code, unit_code)
            dispatched = filed + rng.randrange(60, 1800)
            last = dispatched
        if status in ("in_progress", "returned", "suspended") and dispatched is not None:
            last, actor = dispatched + rng.randrange(600, 86400), f"u-{unit_code}".lower()
        if status in HANDLED and dispatched is not None:
            handled = dispatched + rng.randrange(3600, 3 * 86400)
            result = rng.choice(RESULTS)
            last, actor = handled, f"u-{unit_code}".lower()
            if status == "closed":
                closed = handled + rng.randrange(3600, 2 * 86400)
                last, actor = closed, rng.choice(OPERATORS)
        if status in ("rejected", "merged"):
            last, actor = rec + rng.randrange(300, 7200), rng.choice(OPERATORS)
            if status == "merged" and case_id > 1:
                merged_into = rng.randrange(max(1, case_id - 2000), case_id)
        yield (
            case_id,
            VERSION[status],
            status,
            priority,
            channel,
            external,
            text,
            address,
            lon,
            lat,
            grid[0],
            grid[2],
            grid[3],
            reporter,
            phone,
            "[]",
            _stamp(days, rec),
            _stamp(days, rec),
            cat[0],
            cat[1],
            cat[2],
            cat[4],
            cat[5],
            unit_code,
            unit_name,
            *(None if t is None else _stamp(days, t) for t in (filed, dispatched, deadline, handled, closed)),
            result,
            "[]",
            merged_into,
            None,
            None,
            actor,
            _stamp(days, last),
        )


def build(size: int, seed: int, folder: Path) -> tuple[Path, float, bool]:
    """The cached database of ``size`` cases (built if missing); its build time; whether it was built now."""
    path = folder / f"queue-{size}-seed{seed}-g{GENERATOR}.sqlite"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, float(json.loads(meta.read_text())["build_seconds"]), False
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    log(f"[build {size:,}] migrating and loading reference data into {partial}")
    ref = _reference(partial)
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")  # during the build only: the file is renamed into place when done
    conn.execute("PRAGMA cache_size=-400000")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases' AND sql IS NOT NULL"
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    insert = f"INSERT INTO cases ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    rows = _cases(size, seed, ref)
    done = 0
    while done < size:
        batch = [next(rows) for _ in range(min(BATCH, size - done))]
        conn.executemany(insert, batch)
        done += len(batch)
        if done % 100_000 < BATCH or done == size:
            log(f"[build {size:,}] {done:,} cases inserted ({time.perf_counter() - started:.0f} s)")
    log(f"[build {size:,}] creating {len(indexes)} indexes")
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    partial.rename(path)
    seconds = time.perf_counter() - started
    meta.write_text(json.dumps({"size": size, "seed": seed, "generator": GENERATOR, "build_seconds": seconds}))
    log(f"[build {size:,}] done in {seconds:.1f} s: {path} ({path.stat().st_size / 2**20:,.0f} MB)")
    return path, seconds, True


# -- the children: one implementation each --------------------------------------------------------------


class Timer:
    """Times named operations; the first round is a warm-up and is not kept."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.keep = False

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = fn()
        elapsed = (time.perf_counter() - start) * 1000
        if self.keep:
            self.times.setdefault(name, []).append(elapsed)
        return result


def _targets(conn: sqlite3.Connection, slot: int, count: int) -> list[int]:
    """Reported cases for the actions: outside every page read, and disjoint between children."""
    (size,) = conn.execute("SELECT max(id) FROM cases").fetchone()
    start = size // 3 + slot * 5000
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM cases WHERE id > ? AND status = 'reported' AND channel <> '12345' ORDER BY id LIMIT ?",
            (start, count),
        )
    ]
    assert len(ids) == count, "not enough reported cases for the actions"
    return ids


def _category(conn: sqlite3.Connection) -> tuple[Any, ...]:
    """A category handled by the grid team (its unit resolves wherever the case is)."""
    row = conn.execute(
        "SELECT code, name, major_name, time_limit, closure_standard, unit FROM categories "
        "WHERE active AND unit = 'GRID' AND urgency <> 'urgent' ORDER BY code LIMIT 1"
    ).fetchone()
    assert row is not None
    return tuple(row)


def _guard_none(report: dict[str, Any]) -> None:
    """Keep a PySide6 that drops a reference to None on every void call from crashing the child.

    PySide6 6.12.0 on Python 3.11 (where None is not immortal) loses one reference to None per call of
    a method returning void (fetchMore, setQuery, clear, beginResetModel, setObjectName ...); after some
    tens of thousands of calls the interpreter aborts with "none_dealloc: deallocating None". A full
    QSqlQueryModel fetch of a million rows is about 4,000 such calls, so the baseline child would die.
    The child measures the loss and, if there is one, pads None's reference count; the parent reports it.
    """
    import ctypes

    import PySide6
    from PySide6.QtCore import QObject

    report["pyside"] = PySide6.__version__

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    lost = before - sys.getrefcount(None)
    report["none_lost_per_void_call"] = lost / 100
    if lost >= 50 and sys.version_info < (3, 12):
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40  # ob_refcnt is the first field of None


def child_workstation(path: Path, repeat: int, slot: int) -> dict[str, Any]:
    from PySide6.QtCore import QCoreApplication, Qt

    from workstation.domain.lifecycle import Role
    from workstation.services import lifecycle
    from workstation.services import queue as q
    from workstation.services.actors import Actor
    from workstation.storage.bootstrap import open_database
    from workstation.ui.queue_model import QueueModel

    app = QCoreApplication.instance() or QCoreApplication([])
    imports = peak_mb()
    report: dict[str, Any] = {}
    _guard_none(report)
    db = open_database(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    targets = _targets(conn, slot, 2 * (repeat + 1))
    category = _category(conn)[0]
    conn.close()
    operator = Actor("bench-op", Role.OPERATOR.value)
    everything = q.QueueFilter(queue="all", actor="bench-op")
    new_hotline = q.QueueFilter(queue="new", channel="12345", actor="bench-op")
    display = Qt.ItemDataRole.DisplayRole

    def read(model: QueueModel, first: int, last: int) -> None:
        for r in range(first, last):
            for c in range(model.columnCount()):
                model.data(model.index(r, c), display)

    def ids(model: QueueModel, first: int, last: int) -> list[int]:
        return [int(model.id_at(r) or 0) for r in range(first, last)]

    def first_page() -> QueueModel:
        model = QueueModel(db, everything)
        read(model, 0, PAGE)
        return model

    timer = Timer()
    pages: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for round_ in range(repeat + 1):
        timer.keep = round_ > 0
        model = timer("first", first_page)
        n = counts["all"] = model.rowCount()
        pages["first"] = ids(model, 0, PAGE)
        timer("end", lambda m=model, n=n: read(m, n - PAGE, n))
        pages["end"] = ids(model, n - PAGE, n)

        def change(m: QueueModel = model) -> None:
            m.reload(new_hotline)
            read(m, 0, min(PAGE, m.rowCount()))

        timer("filter", change)
        counts["filter"] = model.rowCount()
        pages["filter"] = ids(model, 0, min(PAGE, model.rowCount()))
        other = first_page()
        mid = n // 2
        timer("middle", lambda m=other, mid=mid: read(m, mid, mid + PAGE))
        pages["middle"] = ids(other, mid, mid + PAGE)
        a, b = targets[2 * round_], targets[2 * round_ + 1]

        def file_and_dispatch(case_id: int = a) -> None:
            lifecycle.file(db, operator, case_id, category)
            outcome = lifecycle.dispatch(db, operator, case_id)
            assert outcome.state == "dispatched"

        timer("action", file_and_dispatch)
        timer("file", lambda b=b: lifecycle.file(db, operator, b, category))
        del model, other
    del app
    return {
        "times": timer.times,
        "imports_mb": imports,
        "peak_mb": peak_mb(),
        "pages": pages,
        "counts": counts,
    } | report


def child_qsql(path: Path, repeat: int, slot: int) -> dict[str, Any]:
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtSql import QSqlDatabase, QSqlQuery, QSqlQueryModel

    app = QCoreApplication.instance() or QCoreApplication([])
    imports = peak_mb()
    report: dict[str, Any] = {}
    _guard_none(report)
    conn = sqlite3.connect(path)
    targets = _targets(conn, slot, 2 * (repeat + 1))
    category = _category(conn)
    conn.close()
    con = QSqlDatabase.addDatabase("QSQLITE", "bench")
    con.setDatabaseName(str(path))
    assert con.open(), con.lastError().text()
    for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=30000", "PRAGMA synchronous=NORMAL"):
        QSqlQuery(pragma, con)
    now = _now()
    sql_all, sql_new = SQL_ALL.format(now=now), SQL_NEW.format(now=now)
    display = Qt.ItemDataRole.DisplayRole

    def model_of(sql: str, m: QSqlQueryModel | None = None) -> QSqlQueryModel:
        m = m or QSqlQueryModel()
        m.setQuery(sql, con)
        assert not m.lastError().isValid(), m.lastError().text()
        return m

    def read(m: QSqlQueryModel, first: int, last: int) -> None:
        for r in range(first, last):
            for c in range(m.columnCount()):
                m.data(m.index(r, c), display)

    def ids(m: QSqlQueryModel, first: int, last: int) -> list[int]:
        return [int(m.data(m.index(r, 1), display)) for r in range(first, last)]

    def first_page() -> QSqlQueryModel:
        m = model_of(sql_all)
        read(m, 0, PAGE)
        return m

    def fetch(m: QSqlQueryModel, rows: int | None = None) -> None:
        while m.canFetchMore() and (rows is None or m.rowCount() < rows):
            m.fetchMore()

    def exec_(query: QSqlQuery, sql: str, *values: Any) -> QSqlQuery:
        assert query.prepare(sql), query.lastError().text()
        for v in values:
            query.addBindValue(v)
        assert query.exec(), query.lastError().text()
        return query

    def act(case_id: int, action: str) -> None:
        assert con.transaction()
        query = QSqlQuery(con)
        exec_(query, "SELECT version, status FROM cases WHERE id = ?", case_id)
        assert query.next()
        version, status = int(query.value(0)), str(query.value(1))
        sets, values, details = _action_values(action, case_id, category)
        exec_(query, _UPDATE.format(sets=sets), *values, version + 1, "bench-op", _now(), case_id, version)
        assert query.numRowsAffected() == 1
        exec_(query, _EVENT, case_id, _now(), "bench-op", "operator", action, status, _TARGET[action], "", details)
        assert con.commit()

    timer = Timer()
    pages: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for round_ in range(repeat + 1):
        timer.keep = round_ > 0
        m = timer("first", first_page)
        pages["first"] = ids(m, 0, PAGE)

        def to_end(m: QSqlQueryModel = m) -> None:
            fetch(m)  # QSqlQueryModel reaches the last row only by fetching every row before it
            n = m.rowCount()
            read(m, n - PAGE, n)

        timer("end", to_end)
        n = counts["all"] = m.rowCount()
        pages["end"] = ids(m, n - PAGE, n)

        def change(m: QSqlQueryModel = m) -> None:
            model_of(sql_new, m)
            read(m, 0, min(PAGE, m.rowCount()))

        timer("filter", change)
        fetch(m)
        counts["filter"] = m.rowCount()
        pages["filter"] = ids(m, 0, min(PAGE, m.rowCount()))
        m.clear()
        other = first_page()
        mid = n // 2

        def to_middle(m: QSqlQueryModel = other, mid: int = mid) -> None:
            fetch(m, mid + PAGE)
            read(m, mid, mid + PAGE)

        timer("middle", to_middle)
        pages["middle"] = ids(other, mid, mid + PAGE)
        other.clear()
        del m, other
        QSqlQuery("SELECT 1", con)  # the driver frees the cleared models' rows lazily, on the next statement
        a, b = targets[2 * round_], targets[2 * round_ + 1]
        timer("action", lambda a=a: (act(a, "file"), act(a, "dispatch")))
        timer("file", lambda b=b: act(b, "file"))
    del app
    return {
        "times": timer.times,
        "imports_mb": imports,
        "peak_mb": peak_mb(),
        "pages": pages,
        "counts": counts,
    } | report


def child_sqlite(path: Path, repeat: int, slot: int) -> dict[str, Any]:
    imports = peak_mb()
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=30000", "PRAGMA synchronous=NORMAL"):
        conn.execute(pragma)
    targets = _targets(conn, slot, 2 * (repeat + 1))
    category = _category(conn)
    now = _now()
    sql_all, sql_new, sql_reversed = (s.format(now=now) for s in (SQL_ALL, SQL_NEW, SQL_ALL_REVERSED))
    (n,) = conn.execute("SELECT count(*) FROM cases").fetchone()

    def act(case_id: int, action: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        version, status = conn.execute("SELECT version, status FROM cases WHERE id = ?", (case_id,)).fetchone()
        sets, values, details = _action_values(action, case_id, category)
        cur = conn.execute(_UPDATE.format(sets=sets), (*values, version + 1, "bench-op", _now(), case_id, version))
        assert cur.rowcount == 1
        conn.execute(_EVENT, (case_id, _now(), "bench-op", "operator", action, status, _TARGET[action], "", details))
        conn.execute("COMMIT")

    timer = Timer()
    pages: dict[str, list[int]] = {}
    for round_ in range(repeat + 1):
        timer.keep = round_ > 0
        rows = timer("first", lambda: conn.execute(f"{sql_all} LIMIT {PAGE}").fetchall())
        pages["first"] = [r[1] for r in rows]
        rows = timer("end", lambda: conn.execute(f"{sql_reversed} LIMIT {PAGE}").fetchall()[::-1])
        pages["end"] = [r[1] for r in rows]
        rows = timer("filter", lambda: conn.execute(f"{sql_new} LIMIT {PAGE}").fetchall())
        pages["filter"] = [r[1] for r in rows]
        rows = timer("middle", lambda: conn.execute(f"{sql_all} LIMIT {PAGE} OFFSET {n // 2}").fetchall())
        pages["middle"] = [r[1] for r in rows]
        a, b = targets[2 * round_], targets[2 * round_ + 1]
        timer("action", lambda a=a: (act(a, "file"), act(a, "dispatch")))
        timer("file", lambda b=b: act(b, "file"))
    (filtered,) = conn.execute(f"SELECT count(*) FROM ({sql_new})").fetchone()
    return {
        "times": timer.times,
        "imports_mb": imports,
        "peak_mb": peak_mb(),
        "pages": pages,
        "counts": {"all": n, "filter": filtered},
    }


_UPDATE = "UPDATE cases SET {sets}, version = ?, last_actor = ?, last_action_at = ? WHERE id = ? AND version = ?"
_EVENT = (
    "INSERT INTO case_events (case_id, at, actor, actor_role, action, from_state, to_state, reason, details) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_TARGET = {"file": "filed", "dispatch": "dispatched"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.000000")


def _action_values(action: str, case_id: int, category: tuple[Any, ...]) -> tuple[str, list[Any], str]:
    """The columns and event details the raw baselines write for ``file`` and ``dispatch``."""
    now = _now()
    if action == "file":
        deadline = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S.000000")
        sets = (
            "status = 'filed', category_code = ?, category_name = ?, category_major = ?, time_limit = ?, "
            "closure_standard = ?, filed_at = ?, deadline_at = ?, priority = min(priority, 2)"
        )
        values = [category[0], category[1], category[2], category[3], category[4], now, deadline]
        details = {"category": category[0], "category_name": category[1], "limit": category[3], "deadline": deadline}
    else:
        unit = f"GRID-case{case_id}"  # the raw baselines do not resolve the unit; the value's size is what counts
        sets = "status = 'dispatched', unit_code = ?, unit_name = ?, dispatched_at = ?"
        values = [unit, "网格工作站", now]
        details = {"unit": unit, "unit_name": "网格工作站"}
    details["before"] = {"status": "reported" if action == "file" else "filed"}
    return sets, values, json.dumps(details, ensure_ascii=False)


CHILDREN: dict[str, Callable[[Path, int, int], dict[str, Any]]] = {
    "workstation": child_workstation,
    "QSqlQueryModel": child_qsql,
    "sqlite3": child_sqlite,
}


def run_child(kind: str, path: Path, repeat: int) -> dict[str, Any]:
    """Run one implementation in its own process; judge it by the RESULT line it printed."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--db", str(path)]
    command += ["--repeat", str(repeat)]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            result["exit"] = proc.returncode
            log(f"  {kind}: {time.perf_counter() - started:.1f} s (exit code {proc.returncode})")
            return result
    log(f"  {kind} printed no result (exit code {proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"error": f"no result, exit code {proc.returncode}"}


def child_main(kind: str, path: Path, repeat: int) -> None:
    slot = list(CHILDREN).index(kind)
    result = CHILDREN[kind](path, repeat, slot)
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # never run Qt's teardown of a model holding many rows: the result is already printed


# -- the table ------------------------------------------------------------------------------------------

OPERATIONS = [
    ("first", "first page: open queue All, show 40 rows × 9 columns"),
    ("filter", "filter change (queue New, channel 12345)"),
    ("end", "jump to the last row"),
    ("middle", "jump to the middle row (not a target)"),
    ("action", "file + dispatch, 2 commits"),
    ("file", "file alone, 1 commit"),
]
IMPLS = list(CHILDREN)


def _median(result: dict[str, Any], op: str) -> float | None:
    values = result.get("times", {}).get(op)
    return statistics.median(values) if values else None


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def table(results: dict[int, dict[str, dict[str, Any]]]) -> list[str]:
    sizes = sorted(results)
    head = ["operation (ms, median)"]
    for size in sizes:
        label = f"{size // 1000:,}k" if size < 1_000_000 else f"{size / 1_000_000:g}M"
        head += [f"{label} {kind}" for kind in IMPLS] + [f"{label} ws÷Qt", f"{label} ws÷sqlite3"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for op, title in OPERATIONS:
        cells = [title]
        for size in sizes:
            ws, qt, raw = (_median(results[size][i], op) for i in IMPLS)
            cells += [_ms(ws), _ms(qt), _ms(raw), _ratio(ws, qt), _ratio(ws, raw)]
        lines.append("| " + " | ".join(cells) + " |")
    for key, title in (("peak_mb", "peak memory (MB)"), ("imports_mb", "… of which interpreter + imports (MB)")):
        cells = [title]
        for size in sizes:
            values = [results[size][i].get(key) for i in IMPLS]
            cells += [_ms(v) for v in values]
            cells += [_ratio(values[0], values[1]), _ratio(values[0], values[2])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def verdict(results: dict[int, dict[str, dict[str, Any]]]) -> tuple[list[str], list[str]]:
    """Targets met and missed, judged at the largest size measured."""
    size = max(results)
    ws, qt = results[size]["workstation"], results[size]["QSqlQueryModel"]
    met: list[str] = []
    missed: list[str] = []
    names = {"first": "first page", "filter": "filter change", "end": "jump to end", "action": "file + dispatch"}
    for op, limit in TARGETS.items():
        value = ws.get("peak_mb") if op == "memory" else _median(ws, op)
        name = "peak memory" if op == "memory" else names[op]
        unit = "MB" if op == "memory" else "ms"
        text = f"{name} {_ms(value)} {unit} (target {'<' if op == 'memory' else '≤'} {limit:g} {unit})"
        ok = value is not None and (value < limit if op == "memory" else value <= limit)
        (met if ok else missed).append(text)
    for op in ("first", "filter", "end"):  # the action has no QSqlQueryModel: its column is raw QSqlQuery
        a, b = _median(ws, op), _median(qt, op)
        if a is None or b is None:
            continue
        text = f"{names[op]} vs QSqlQueryModel {_ms(a)} vs {_ms(b)} ms"
        (met if a <= b else missed).append(text)
    return met, missed


def check_pages(size: int, found: dict[str, dict[str, Any]]) -> list[str]:
    """Every implementation showed the same cases on every page (the SQL is equivalent)."""
    problems = []
    base = found["sqlite3"]
    for kind in ("workstation", "QSqlQueryModel"):
        for page, ids in found[kind].get("pages", {}).items():
            if ids != base.get("pages", {}).get(page):
                problems.append(f"{size:,}: {kind} shows other cases than sqlite3 on the {page} page")
        if found[kind].get("counts") != base.get("counts"):
            problems.append(f"{size:,}: {kind} counts {found[kind].get('counts')} vs sqlite3 {base.get('counts')}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,1000000", help="case counts, comma-separated")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "workstation-bench")
    parser.add_argument("--repeat", type=int, default=5, help="measured repeats (after one warm-up)")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.db, args.repeat)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results: dict[int, dict[str, dict[str, Any]]] = {}
    builds: dict[int, str] = {}
    problems: list[str] = []
    paths: dict[int, Path] = {}
    for size in sizes:  # every build first, so no build's disk writes overlap a measurement
        paths[size], seconds, fresh = build(size, args.seed, args.dir)
        builds[size] = f"{size:,}: {seconds:.0f} s" + ("" if fresh else " (cached)")
    for size, path in paths.items():
        work = path.with_name(path.stem + "-work.sqlite")
        for stale in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
            stale.unlink(missing_ok=True)
        shutil.copyfile(path, work)  # the actions write: every run starts from the same cases
        if hasattr(os, "sync"):
            os.sync()  # write the copy out now, not during the measurements
        log(f"[bench {size:,}] {args.repeat} repeats + 1 warm-up per implementation")
        results[size] = {kind: run_child(kind, work, args.repeat) for kind in CHILDREN}
        problems += check_pages(size, results[size])
        problems += [f"{size:,}: {k}: {r['error']}" for k, r in results[size].items() if "error" in r]
        for stale in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
            stale.unlink(missing_ok=True)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print("\n".join(table(results)))
    print()
    largest = max(results)
    counts = results[largest]["sqlite3"].get("counts", {})
    print(
        "The workstation counts the queue for real on opening (its scrollbar is right at once); QSqlQueryModel "
        "knows only the rows it fetched (256 at a time) and reaches the last row by fetching all before it; "
        "sqlite3 reads the 40 rows of the page alone. "
        f"Median of {args.repeat} after one warm-up; each implementation in its own process; seed {args.seed}; "
        f"build {'; '.join(builds.values())}. At {largest:,} cases queue New + channel 12345 holds "
        f"{counts.get('filter', '?'):,} cases. Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, load average at the end {load} (other work on the machine skews the times)."
    )
    met, missed = verdict(results)
    print(f"Targets at {largest:,} cases met: " + ("; ".join(met) or "none") + ".")
    print(f"Targets at {largest:,} cases MISSED: " + ("; ".join(missed) or "none") + ".")
    lost = {r.get("none_lost_per_void_call") for found in results.values() for r in found.values()}
    if any(lost - {None, 0}):
        print(
            f"WARNING: PySide6 {results[largest]['workstation'].get('pyside')} drops a reference to None on every "
            "call of a method returning void (seen with 6.12.0, not with 6.11.3); on Python < 3.12 a long-running "
            "program using it aborts with 'deallocating None'. The Qt children padded None's reference count to finish."
        )
    for problem in problems:
        print(f"WARNING: {problem}")
    return 0


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]  # bench/queue.py is not the queue module
    sys.exit(main())
