"""Speed of ``workstation serve``: GET requests (a page of 100) and POST requests at district scale.

One command::

    python bench/serve.py [--size 1000000] [--dbs sqlite,postgresql] [--clients 8] [--seconds 10]
                          [--workers 1,2] [--cache-s 5]
                          [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The cases come from ``bench/queue.py``'s cached SQLite build (same generator, same seed); each gets
its "report" event, so the public history is read as in a real database. For PostgreSQL the same
rows are copied in with ``COPY`` (kept in the database ``bench_serve_<size>``; both copies are made
again when their schema revision is not this program's). The server runs as ``python -m workstation
serve`` in its own process, once per ``--workers`` count (1 and 2 by default); the clients are
threads with one kept-alive ``http.client`` connection each (cheap: they share the machine with the
server). Reads ask for a page
of 100 newest first, on a random page of the first 50, with and without ``status=open``; posts send a
new request each (own ``client_request_id``).
Prints one markdown table: requests per second, p50 and p99 latency, the server process's own CPU
time per request (what the machine's other load cannot inflate), and the targets met or missed.
"""

# ruff: noqa: E402  (the imports follow the sys.path fix below)
from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a queue.py: keep it from shadowing the standard library's queue (urllib3 needs it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from http.client import HTTPConnection, HTTPException
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"reads_per_s": 500.0, "posts_per_s": 100.0, "read_p99_ms": 100.0}
PASSWORD = "bench-password-9"


def log(message: str) -> None:
    """Progress on standard error."""
    print(message, file=sys.stderr, flush=True)


def schema_head() -> str:
    """The schema revision this program migrates to (a cached copy at another revision is built again)."""
    from workstation.storage.migrate import head_revision

    return head_revision()


def sqlite_copy(size: int, seed: int, folder: Path) -> str:
    """A working copy of the queue bench's database, with one report event per case, at this schema.

    Kept between runs; made again from the queue bench's build when its schema revision is not this
    program's (a copy the server would otherwise migrate on its first start).
    """
    from sqlalchemy import create_engine

    from workstation.storage.bootstrap import open_database
    from workstation.storage.migrate import current_revision

    bench_queue = _load_queue_bench()
    path, _, _ = bench_queue.build(size, seed, folder)
    work = folder / f"serve-{size}.sqlite"
    if work.exists():
        engine = create_engine(f"sqlite:///{work}")
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
        if current == schema_head():
            fold_counts(f"sqlite:///{work}")
            return f"sqlite:///{work}"
        log(f"[sqlite] {work} is at schema {current}, not {schema_head()}: making it again")
        for leftover in work.parent.glob(work.name + "*"):
            leftover.unlink()
    log(f"[sqlite] copying {path}, migrating it and writing one event per case")
    partial = work.with_suffix(".building")
    shutil.copy(path, partial)
    open_database(f"sqlite:///{partial}").dispose()  # the queue build may predate this schema
    for backup in partial.parent.glob(partial.name + ".*.bak"):
        backup.unlink()
    import sqlite3

    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO case_events (case_id, at, actor, actor_role, action, from_state, to_state, reason, details) "
        "SELECT id, received_at, 'system', 'system', 'report', NULL, 'reported', '', '{}' FROM cases"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    fold_counts(f"sqlite:///{partial}")
    partial.rename(work)
    return f"sqlite:///{work}"


def fold_counts(url: str) -> None:
    """Fold the kept counts' pending deltas (the queue build's million inserts left one per bucket and case),
    as the seats of a working centre do every 30 s."""
    from workstation.services import counts
    from workstation.storage.bootstrap import open_database

    db = open_database(url, upgrade=False, sync=False)
    try:
        started = time.perf_counter()
        folded = counts.compact(db)
        if folded:
            log(f"[sqlite] folded {folded:,} pending count deltas in {time.perf_counter() - started:.0f} s")
    finally:
        db.dispose()


def _load_queue_bench() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_queue", ROOT / "bench" / "queue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def postgres_copy(sqlite_url: str, pg: str, size: int) -> str:
    """The same cases in PostgreSQL (database ``bench_serve_<size>``), kept while its schema is this program's.

    Built with the program's migrations, then bulk-loaded with ``COPY`` while the triggers are off
    (``session_replication_role = replica``: one statement per table, not a trigger per row); the
    kept queue counts are then computed from the cases, as the migration that added them does.
    """
    import sqlite3

    import psycopg

    from workstation.storage import count_buckets
    from workstation.storage.bootstrap import open_database
    from workstation.storage.db import make_engine
    from workstation.storage.migrate import current_revision

    name = f"bench_serve_{size}"
    admin = pg.replace("postgresql+psycopg://", "postgresql://")
    url = re.sub(r"/[^/]*$", f"/{name}", pg)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            engine = make_engine(url)
            try:
                revision = current_revision(engine)
            finally:
                engine.dispose()
            with psycopg.connect(plain) as c:
                done = c.execute("SELECT count(*) FROM cases").fetchone()[0]  # type: ignore[index]
            if revision == schema_head() and done >= size:
                return url
            log(f"[postgresql] {name} is at schema {revision} with {done:,} cases: making it again")
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    log(f"[postgresql] migrating {name} and copying {size:,} cases")
    open_database(url).dispose()
    src = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    cols = [r[1] for r in src.execute("PRAGMA table_info(cases)")]
    with psycopg.connect(plain) as conn:
        conn.execute("SET session_replication_role = replica")  # no trigger fires during the load
        conn.execute("SET maintenance_work_mem = '256MB'")
        with conn.cursor() as cur, cur.copy(f"COPY cases ({', '.join(cols)}) FROM STDIN") as copy:
            for row in src.execute(f"SELECT {', '.join(cols)} FROM cases ORDER BY id"):
                copy.write_row(row)
        log(f"[postgresql] cases copied ({time.perf_counter() - started:.0f} s); one event per case")
        conn.execute(
            "INSERT INTO case_events (case_id, at, actor, actor_role, action, from_state, to_state, reason, details) "
            "SELECT id, received_at, 'system', 'system', 'report', NULL, 'reported', '', '{}' FROM cases"
        )
        conn.execute("DELETE FROM case_count_deltas")
        conn.execute("DELETE FROM case_counts")
        conn.execute(
            "INSERT INTO case_counts (status, dim, value, n) SELECT status, dim, value, n FROM ("
            + count_buckets.truth_sql("postgresql")
            + ") AS truth"
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
        conn.execute("SELECT setval(pg_get_serial_sequence('case_events', 'id'), (SELECT max(id) FROM case_events))")
        conn.commit()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log(f"[postgresql] {name} ready in {time.perf_counter() - started:.0f} s")
    return url


def client_key(url: str) -> str:
    """An API key for the bench's client account (made once per database)."""
    from workstation.services import accounts, tokens
    from workstation.storage.bootstrap import open_database

    db = open_database(url)
    try:
        names = {a.name for a in accounts.list_users(db)}
        if "bench-admin" not in names:
            first = None if accounts.needs_first_admin(db) else accounts.find_actor(db, "admin")
            accounts.add_user(db, first, "bench-admin", "admin", PASSWORD)
        admin = accounts.find_actor(db, "bench-admin")
        if "bench-app" not in names:
            accounts.add_user(db, admin, "bench-app", "operator", PASSWORD)
        return tokens.add_token(db, admin, "bench-app", f"bench {time.time():.0f}")[1]
    finally:
        db.dispose()


def admin_token(url: str) -> str:
    """An API token of the bench's administrator: serving is an administrator's act."""
    from workstation.services import accounts, tokens
    from workstation.storage.bootstrap import open_database

    client_key(url)  # makes the accounts when missing
    db = open_database(url)
    try:
        admin = accounts.find_actor(db, "bench-admin")
        return tokens.add_token(db, admin, "bench-admin", f"serve {time.time():.0f}")[1]
    finally:
        db.dispose()


def start_server(
    url: str, folder: Path, threads: int, cache_s: float, workers: int = 1, root: Path = ROOT
) -> tuple[subprocess.Popen[str], str]:
    """``workstation serve`` in its own process (from the code in ``root``); returns it and its base URL."""
    settings = folder / "serve-settings.json"
    serve: dict[str, Any] = {
        "threads": threads,
        "rate_per_key": 1_000_000,
        "rate_per_address": 1_000_000,
        "cache_s": cache_s,
    }
    if workers > 1:
        serve["workers"] = workers
    settings.write_text(json.dumps({"serve": serve}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "workstation", "serve", "--db", url, "--port", "0", "--config", str(settings)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "WORKSTATION_LANG": "en", "WORKSTATION_TOKEN": admin_token(url)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"http://[\d.]+:(\d+)/", line)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{found.group(1)}"


def cpu_seconds(pid: int) -> float:
    """User and system CPU the server has used, its worker processes included (Linux ``/proc``).

    To tell the server's own cost from the machine's load.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(p) for p in (task / "children").read_text().split()}
    return own + sum(cpu_seconds(child) for child in children)


def exchange(
    conn: HTTPConnection, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a kept-alive connection (``http.client``: the load generator must cost little)."""
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, dict(response.getheaders()), data


def load(base: str, clients: int, seconds: float, one: Any) -> dict[str, float]:
    """``clients`` threads calling ``one(connection, n)`` for ``seconds``; throughput and latency percentiles."""
    host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port or 80
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn = HTTPConnection(host, port, timeout=30)
        n = 0
        while time.perf_counter() < stop:
            began = time.perf_counter()
            try:
                ok = one(conn, i * 10_000_000 + n)
            except (OSError, HTTPException):
                conn.close()
                conn = HTTPConnection(host, port, timeout=30)
                ok = False
            latencies[i].append((time.perf_counter() - began) * 1000)
            failures[i] += 0 if ok else 1
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for lat in latencies for x in lat)
    q = statistics.quantiles(every, n=100) if len(every) > 1 else [every[0]] * 99
    return {"n": len(every), "per_s": len(every) / elapsed, "p50": q[49], "p99": q[98], "failed": sum(failures)}


def measure(
    url: str,
    folder: Path,
    clients: int,
    seconds: float,
    threads: int,
    cache_s: float,
    workers: int = 1,
    root: Path = ROOT,
) -> dict[str, dict[str, float]]:
    """Reads, then posts, against a fresh server process."""
    key = client_key(url)
    proc, base = start_server(url, folder, threads, cache_s, workers, root)
    run = f"{time.time():.0f}"
    try:

        def read(conn: HTTPConnection, n: int) -> bool:
            rng = random.Random(n)
            query: dict[str, Any] = {"page_size": 100, "page": rng.randint(1, 50)}
            if rng.random() < 0.5:
                query["status"] = "open"
            status, headers, _ = exchange(conn, "GET", f"/requests.json?{urlencode(query)}")
            # not parsed: the clients share the machine with the server, and their JSON is not what is measured
            return status == 200 and int(headers.get("X-Total-Count") or 0) >= 100 * query["page"]

        def post(conn: HTTPConnection, n: int) -> bool:
            form = {
                "api_key": key,
                "service_code": "0105",
                "lat": "31.74",
                "long": "117.29",
                "description": "共享单车乱停放",
                "client_request_id": f"bench-{run}-{n}",
            }
            body = urlencode(form).encode()
            kind = {"Content-Type": "application/x-www-form-urlencoded"}
            return exchange(conn, "POST", "/requests.json", body, kind)[0] == 201

        load(base, clients, 2, read)  # warm-up: caches, connections
        before = cpu_seconds(proc.pid)
        reads = load(base, clients, seconds, read)
        middle = cpu_seconds(proc.pid)
        posts = load(base, clients, seconds, post)
        after = cpu_seconds(proc.pid)
        reads["cpu_ms"] = (middle - before) * 1000 / max(1, reads["n"])
        posts["cpu_ms"] = (after - middle) * 1000 / max(1, posts["n"])
        return {"GET requests (page of 100)": reads, "POST requests": posts}
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    """Build or reuse the databases, measure each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--dbs", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--cache-s", type=float, default=5.0, help="the server's cache_s (0: every read queries)")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="server processes; a comma list measures each in turn (default 1,2; 1,2,1,2 for A/B/A/B)",
    )
    parser.add_argument(
        "--server-root",
        type=Path,
        action="append",
        help="serve from this source tree instead (repeatable: A/B against an older version, e.g. from git archive)",
    )
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "workstation-bench")
    args = parser.parse_args()
    sqlite_url = sqlite_copy(args.size, args.seed, args.dir)
    urls = {"sqlite": sqlite_url}
    if "postgresql" in args.dbs:
        urls["postgresql"] = postgres_copy(sqlite_url, args.pg, args.size)
    results: dict[str, dict[str, dict[str, float]]] = {}
    roots = args.server_root or [ROOT]
    for name in args.dbs.split(","):
        for root in roots:
            for workers in (int(w) for w in args.workers.split(",")):
                label = f"{name}, {workers} worker{'s' if workers > 1 else ''}"
                if len(roots) > 1:
                    label += f", {root.name}"
                if label in results:  # A/B/A/B: each run its own row
                    label += f" (run {sum(k.startswith(label) for k in results) + 1})"
                log(f"[{label}] measuring with {args.clients} clients, {args.seconds:.0f} s per phase")
                results[label] = measure(
                    urls[name], args.dir, args.clients, args.seconds, args.threads, args.cache_s, workers, root
                )
    load_avg = os.getloadavg()[0]
    print(
        f"\n{args.size:,} cases, {args.clients} concurrent clients, {args.seconds:.0f} s per phase, "
        f"{os.cpu_count()} cores, load average {load_avg:.1f} at the end, cache_s {args.cache_s:g}\n"
    )
    print("| server | operation | requests | per second | p50 ms | p99 ms | failed | server CPU ms per request |")
    print("|---|---|---|---|---|---|---|---|")
    for label, ops in results.items():
        for op, r in ops.items():
            print(
                f"| {label} | {op} | {r['n']:,} | {r['per_s']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['failed']} "
                f"| {r['cpu_ms']:.1f} |"
            )
    print()
    for label, ops in results.items():
        reads, posts = ops["GET requests (page of 100)"], ops["POST requests"]
        for what, value, target, better in (
            ("reads/s", reads["per_s"], TARGETS["reads_per_s"], True),
            ("posts/s", posts["per_s"], TARGETS["posts_per_s"], True),
            ("read p99 ms", reads["p99"], TARGETS["read_p99_ms"], False),
        ):
            met = value >= target if better else value <= target
            print(f"{label}: {what} {value:,.1f} ({'≥' if better else '≤'} {target:g}): {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
