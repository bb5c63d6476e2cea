"""Intake throughput: a burst of feed items over local HTTP into a fresh SQLite database.

    python bench/intake.py [--items 10000] [--page 500] [--single 1000] [--poison 0.01] [--open311 100000]

Builds a brand-new database in a temporary folder, serves the items from an ``http.server`` on
127.0.0.1 in a thread with the platform feed protocol, and reads them with the same poller and
ingest path as production (batched: one transaction per page, idempotent per item, bad items
quarantined one by one). For comparison it also times ``add_report`` one transaction per item
(on ``--single`` items) and a raw ``sqlite3`` ``executemany`` of the same rows (the floor).

Then the same burst again with ``--poison`` of its items hostile (dates the database cannot store,
far futures, NUL bytes, lone surrogates, booleans and huge integers as ids, points outside the
territory): every good item must be imported, every poison item quarantined, and the throughput is
compared with the clean burst (target: at least 80 %). Last, a local GeoReport v2 server holding
``--open311`` requests (newest first, its own default page size of 100, 404 past the last page) is
read to the end, round after round at the default ``max_pages`` of 50, and nothing may be missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like standard modules (queue.py): do not let them shadow the real ones.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import logging
import re
import sqlite3
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from statistics import mean, median
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.georeport: the deployed-like server
import workstation.intake  # noqa: F401 - source kinds and hooks, as in the program
from workstation.intake.poller import Poller
from workstation.intake.settings import Retry, Settings, SourceConfig
from workstation.models import Case, Grid, QuarantinedItem
from workstation.services.reports import add_report
from workstation.storage.bootstrap import open_database

TARGET = 1000.0  # items per second into SQLite


def make_items(grids: list[tuple[str, float, float]], n: int, prefix: str = "B") -> list[dict[str, Any]]:
    """Items spread over the district: two in three name their grid, one in three gives only a point."""
    items = []
    for i in range(n):
        code, lon, lat = grids[i % len(grids)]
        item: dict[str, Any] = {
            "id": f"{prefix}-{i:06d}",
            "channel": ("APP", "WECHAT", "PDA", "12345")[i % 4],
            "text": f"第{i}号：路面破损，井盖缺失，请尽快处理",
            "address": f"包河区某路{i % 300}号",
            "reporter": {"name": "市民", "phone": "13800000000"},
            "received_at": "2026-06-04T10:19:00+08:00",
            "photos": [f"https://platform.example/media/{i}.jpg"],
        }
        if i % 3 == 2:
            item["lon"], item["lat"] = lon, lat
        else:
            item["grid"] = code
        items.append(item)
    return items


POISON: list[dict[str, Any]] = [
    {"received_at": "0001-01-01T00:00:00+08:00"},
    {"received_at": "9999-12-31T23:59:59-05:00"},
    {"received_at": "2098-01-01T00:00:00+08:00"},
    {"text": "井盖\x00缺失"},
    {"text": "井盖\ud800缺失"},
    {"id": True},
    {"id": 10**200},
    {"grid": None, "lon": 1e-320, "lat": 1e-320},
    {"grid": None, "lon": -91.0, "lat": 31.7},
    {"received_at": "2026-06-04T10:19:00\x00+08:00"},
]


def poison(items: list[dict[str, Any]], share: float) -> set[int]:
    """Make ``share`` of the items hostile, spread evenly; returns their positions."""
    if share <= 0:
        return set()
    step = max(1, round(1 / share))
    bad = set(range(step // 2, len(items), step))
    for n, i in enumerate(sorted(bad)):
        items[i] = {**items[i], **POISON[n % len(POISON)]}
    return bad


def feed_round(db: Any, url: str, items: int, page: int, name: str) -> tuple[Any, float]:
    config = SourceConfig(
        name=name,
        kind="platform",
        url=url,
        page_limit=page,
        max_pages=items // max(1, page) + 2,
        retry=Retry(timeout_s=60.0, attempts=1),
    )
    started = time.perf_counter()
    result = Poller(db, Settings(sources=(config,))).poll_all()[0]
    return result, time.perf_counter() - started


def open311_run(db: Any, total: int) -> tuple[int, int, int, float]:
    """Serve ``total`` requests like a deployed GeoReport v2 server and read them to the end.

    Returns (requests stored, rounds, pages, seconds).
    """
    from datetime import UTC, datetime

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from tests.georeport import GeoReportServer

    geo = GeoReportServer()
    geo.add(total, now=datetime.now(UTC), step_s=0.5)
    geo.frozen = True
    server = make_server("127.0.0.1", 0, geo.wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/open311/v2"
    config = SourceConfig(
        name="geo", kind="open311", url=url, retry=Retry(timeout_s=60.0, attempts=2), options={"sync_services": False}
    )
    poller = Poller(db, Settings(sources=(config,)))
    rounds = pages = 0
    started = time.perf_counter()
    while True:
        rounds += 1
        result = poller.poll_all()[0]
        pages += result.pages
        if not result.ok or result.cursor is None or not result.cursor.startswith("{"):  # a sweep under way
            break
        if rounds > total // 100 + 10:
            break
    seconds = time.perf_counter() - started
    server.shutdown()
    with db.read() as s:
        stored = s.scalar(select(func.count()).select_from(Case).where(Case.external_id.like("geo:%")))
    return int(stored or 0), rounds, pages, seconds


def serve(items: list[dict[str, Any]]) -> tuple[ThreadingHTTPServer, str]:
    """The platform feed over HTTP on 127.0.0.1 (cursor = offset)."""

    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            start = int(query.get("cursor", ["0"])[0])
            limit = int(query.get("limit", ["100"])[0])
            chunk = items[start : start + limit]
            end = start + len(chunk)
            text = json.dumps(
                {"items": chunk, "next_cursor": str(end), "has_more": end < len(items)}, ensure_ascii=False
            )
            body = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group(0)):04x}", text).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/feed"


def baseline(path: Path, items: list[dict[str, Any]]) -> float:
    """Seconds for a raw sqlite3 executemany of the same rows (same pragmas, one transaction)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE cases (id INTEGER PRIMARY KEY, channel TEXT, external_id TEXT, text TEXT, address TEXT,"
        " lon REAL, lat REAL, grid_code TEXT, reporter_name TEXT, reporter_phone TEXT, photos TEXT,"
        " received_at TEXT, UNIQUE (channel, external_id))"
    )
    rows = [
        (
            it["channel"],
            it["id"],
            it["text"],
            it["address"],
            it.get("lon"),
            it.get("lat"),
            it.get("grid"),
            it["reporter"]["name"],
            it["reporter"]["phone"],
            json.dumps(it["photos"]),
            it["received_at"],
        )
        for it in items
    ]
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO cases (channel, external_id, text, address, lon, lat, grid_code, reporter_name,"
        " reporter_phone, photos, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=500, help="items per page (one transaction each)")
    parser.add_argument("--single", type=int, default=1_000, help="items for the add_report comparison (0: skip)")
    parser.add_argument("--repeat", type=int, default=4, help="pairs of clean and poisoned bursts (ABBA order)")
    parser.add_argument("--poison", type=float, default=0.01, help="share of hostile items in the second burst")
    parser.add_argument("--open311", type=int, default=100_000, help="requests on the GeoReport server (0: skip)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
        folder = Path(tmp)
        print(f"building a fresh database in {folder} ...", file=sys.stderr)
        db = open_database(f"sqlite:///{folder / 'bench.sqlite'}")
        with db.read() as s:
            grids = [
                (g.code, mean(p[0] for p in g.polygon), mean(p[1] for p in g.polygon))
                for g in s.scalars(select(Grid).order_by(Grid.code))
            ]
        items = make_items(grids, args.items)
        server, url = serve(items)
        result, feed_s = feed_round(db, url, args.items, args.page, "bench")
        server.shutdown()
        with db.read() as s:
            stored = s.scalar(select(func.count()).select_from(Case).where(Case.external_id.like("B-%")))
            held = s.scalar(select(func.count()).select_from(QuarantinedItem))
        if not result.ok or stored != args.items or held:
            print(f"bench failed: {result.line()} (stored {stored}, quarantined {held})", file=sys.stderr)
            return 1
        rows = [(f"HTTP feed -> batched ingest ({args.page}/txn)", args.items, feed_s)]
        if args.single:
            singles = make_items(grids, args.single, prefix="S")
            started = time.perf_counter()
            for it in singles:
                add_report(
                    db,
                    {
                        "channel": it["channel"],
                        "external_id": it["id"],
                        "text": it["text"],
                        "address": it["address"],
                        "lon": it.get("lon"),
                        "lat": it.get("lat"),
                        "grid": it.get("grid"),
                        "reporter_name": it["reporter"]["name"],
                        "reporter_phone": it["reporter"]["phone"],
                        "received_at": it["received_at"],
                        "photos": it["photos"],
                    },
                )
            rows.append(("add_report, one transaction per item", args.single, time.perf_counter() - started))
        clean_runs: list[float] = []
        poison_runs: list[float] = []
        good_in = held = 0
        bad: set[int] = set()
        poison_ok = True
        for run in range(args.repeat):  # clean and poisoned bursts in ABBA order: noise and growth hit both
            for kind in ("clean", "poisoned") if run % 2 == 0 else ("poisoned", "clean"):
                burst = make_items(grids, args.items, prefix=f"{kind[0].upper()}{run}")
                marked = poison(burst, args.poison) if kind == "poisoned" else set()
                server, url = serve(burst)
                presult, seconds = feed_round(db, url, args.items, args.page, f"{kind}{run}")
                server.shutdown()
                if kind == "clean":
                    clean_runs.append(seconds)
                    continue
                bad = marked
                poison_runs.append(seconds)
                with db.read() as s:
                    good_in = s.scalar(select(func.count()).select_from(Case).where(Case.external_id.like(f"P{run}-%")))
                    held = s.scalar(
                        select(func.count())
                        .select_from(QuarantinedItem)
                        .where(QuarantinedItem.source == f"poisoned{run}")
                    )
                poison_ok = poison_ok and presult.ok and good_in == args.items - len(bad) and held == len(bad)
        poison_s = median(poison_runs)
        rows.append((f"clean burst again (median of {args.repeat})", args.items, median(clean_runs)))
        rows.append((f"the same burst with {len(bad)} poison items ({args.poison:.0%}, median)", args.items, poison_s))
        geo_line = None
        if args.open311:
            stored311, rounds, pages, geo_s = open311_run(db, args.open311)
            rows.append((f"GeoReport v2 server, newest first, {pages} pages in {rounds} rounds", stored311, geo_s))
            geo_line = (stored311, args.open311)
        db.dispose()
        base_s = baseline(folder / "baseline.sqlite", items)
        rows.append(("baseline: raw sqlite3 executemany", args.items, base_s))
    width = max(len(r[0]) for r in rows)
    print(f"{'path':<{width}}  {'items':>7}  {'seconds':>8}  {'items/s':>9}")
    for name, n, seconds in rows:
        print(f"{name:<{width}}  {n:>7}  {seconds:>8.2f}  {n / seconds:>9.0f}")
    rate = args.items / feed_s
    ratio = rate / (args.items / base_s)
    print(f"ratio batched ingest / baseline: {ratio:.3f}  (the raw insert is {feed_s / base_s:.0f}x faster)")
    print(f"target >= {TARGET:.0f} items/s into SQLite: {'met' if rate >= TARGET else 'NOT met'} ({rate:.0f} items/s)")
    poison_ratio = median(clean_runs) / poison_s
    print(
        f"poisoned burst: {good_in} good items imported of {args.items - len(bad)}, {held} of {len(bad)} poison "
        f"quarantined; throughput {poison_ratio:.0%} of the clean burst (medians of {args.repeat} runs each, "
        f"ABBA order; target >= 80 %): "
        f"{'met' if poison_ok and poison_ratio >= 0.8 else 'NOT met'}"
    )
    ok = rate >= TARGET and poison_ok and poison_ratio >= 0.8
    if geo_line is not None:
        verdict = "no loss" if geo_line[0] == geo_line[1] else "LOST SOME"
        print(f"GeoReport v2 server: {geo_line[0]} of {geo_line[1]} requests read ({verdict})")
        ok = ok and geo_line[0] == geo_line[1]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
