"""Speed of ``workstation serve``: GET requests (a page of 100) and POST requests at district scale.

One command::

    python bench/serve.py [--size 1000000] [--dbs sqlite,postgresql] [--clients 8] [--seconds 10]
                          [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The cases come from ``bench/queue.py``'s cached SQLite build (same generator, same seed); each gets
its "report" event, so the public history is read as in a real database. For PostgreSQL the same
rows are copied in with ``COPY`` (once; kept in the database ``bench_serve_<size>``). The server runs
as ``python -m workstation serve`` in its own process; the clients are threads with one kept-alive
``http.client`` connection each (cheap: they share the machine with the server). Reads ask for a page
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


def sqlite_copy(size: int, seed: int, folder: Path) -> str:
    """A working copy of the queue bench's database, with one report event per case and a bench client."""
    bench_queue = _load_queue_bench()
    path, _, _ = bench_queue.build(size, seed, folder)
    work = folder / f"serve-{size}.sqlite"
    if not work.exists():
        log(f"[sqlite] copying {path} and writing one event per case")
        shutil.copy(path, work)
        import sqlite3

        conn = sqlite3.connect(work, isolation_level=None)
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO case_events (case_id, at, actor, actor_role, action, from_state, to_state, reason, details) "
            "SELECT id, received_at, 'system', 'system', 'report', NULL, 'reported', '', '{}' FROM cases"
        )
        conn.execute("COMMIT")
        conn.close()
    return f"sqlite:///{work}"


def _load_queue_bench() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_queue", ROOT / "bench" / "queue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def postgres_copy(sqlite_url: str, pg: str, size: int) -> str:
    """The same cases in PostgreSQL (database ``bench_serve_<size>``, built once)."""
    import sqlite3

    import psycopg

    from workstation.storage.bootstrap import open_database

    name = f"bench_serve_{size}"
    admin = pg.replace("postgresql+psycopg://", "postgresql://")
    url = re.sub(r"/[^/]*$", f"/{name}", pg)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as c:
                if c.execute("SELECT count(*) FROM cases").fetchone()[0] >= size:  # type: ignore[index]
                    return url
            conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"[postgresql] migrating {name} and copying {size:,} cases")
    open_database(url).dispose()
    src = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    cols = [r[1] for r in src.execute("PRAGMA table_info(cases)")]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY cases ({', '.join(cols)}) FROM STDIN") as copy:
            for row in src.execute(f"SELECT {', '.join(cols)} FROM cases ORDER BY id"):
                copy.write_row(row)
        conn.execute(
            "INSERT INTO case_events (case_id, at, actor, actor_role, action, from_state, to_state, reason, details) "
            "SELECT id, received_at, 'system', 'system', 'report', NULL, 'reported', '', '{}' FROM cases"
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
        conn.execute("SELECT setval(pg_get_serial_sequence('case_events', 'id'), (SELECT max(id) FROM case_events))")
        conn.commit()
        conn.execute("ANALYZE")
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


def start_server(url: str, folder: Path, threads: int, cache_s: float) -> tuple[subprocess.Popen[str], str]:
    """``workstation serve`` in its own process; returns it and its base URL."""
    settings = folder / "serve-settings.json"
    settings.write_text(
        json.dumps(
            {
                "serve": {
                    "threads": threads,
                    "rate_per_key": 1_000_000,
                    "rate_per_address": 1_000_000,
                    "cache_s": cache_s,
                }
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "workstation", "serve", "--db", url, "--port", "0", "--config", str(settings)],
        cwd=ROOT,
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
    """User and system CPU the server process has used (Linux ``/proc``), to tell its cost from the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    url: str, folder: Path, clients: int, seconds: float, threads: int, cache_s: float
) -> dict[str, dict[str, float]]:
    """Reads, then posts, against a fresh server process."""
    key = client_key(url)
    proc, base = start_server(url, folder, threads, cache_s)
    run = f"{time.time():.0f}"
    try:

        def read(conn: HTTPConnection, n: int) -> bool:
            rng = random.Random(n)
            query = {"page_size": 100, "page": rng.randint(1, 50)}
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
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "workstation-bench")
    args = parser.parse_args()
    sqlite_url = sqlite_copy(args.size, args.seed, args.dir)
    urls = {"sqlite": sqlite_url}
    if "postgresql" in args.dbs:
        urls["postgresql"] = postgres_copy(sqlite_url, args.pg, args.size)
    results = {}
    for name in args.dbs.split(","):
        log(f"[{name}] measuring with {args.clients} clients, {args.seconds:.0f} s per phase")
        results[name] = measure(urls[name], args.dir, args.clients, args.seconds, args.threads, args.cache_s)
    load_avg = os.getloadavg()[0]
    print(
        f"\n{args.size:,} cases, {args.clients} concurrent clients, {args.seconds:.0f} s per phase, "
        f"{os.cpu_count()} cores, load average {load_avg:.1f} at the end, cache_s {args.cache_s:g}\n"
    )
    print("| database | operation | requests | per second | p50 ms | p99 ms | failed | server CPU ms per request |")
    print("|---|---|---|---|---|---|---|---|")
    for name, ops in results.items():
        for op, r in ops.items():
            print(
                f"| {name} | {op} | {r['n']:,} | {r['per_s']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['failed']} "
                f"| {r['cpu_ms']:.1f} |"
            )
    print()
    for name, ops in results.items():
        reads, posts = ops["GET requests (page of 100)"], ops["POST requests"]
        for label, value, target, better in (
            ("reads/s", reads["per_s"], TARGETS["reads_per_s"], True),
            ("posts/s", posts["per_s"], TARGETS["posts_per_s"], True),
            ("read p99 ms", reads["p99"], TARGETS["read_p99_ms"], False),
        ):
            met = value >= target if better else value <= target
            print(f"{name}: {label} {value:,.1f} ({'≥' if better else '≤'} {target:g}): {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
