"""Back up a centre's PostgreSQL database and prove the backup restores: dump, restore, compare.

One command (run it with the nightly backup, or at least weekly)::

    python scripts/pg_backup_check.py --db postgresql://ws_owner@HOST/grid [--out FILE] [--keep]

1. ``pg_dump --format=custom`` of the database into ``--out`` (default: a file named by the database
   and the time, in the current folder): that file is the backup;
2. ``pg_restore`` of that file into a new scratch database on the same server;
3. compares the two: the schema revision, the row count of every table, the triggers (history kept
   append-only, queue counts kept, the seats' change notice) and the kept queue counts against a real
   count of the restored cases (``services.counts.check``);
4. drops the scratch database (``--keep`` leaves it for a look).

Prints what it compared and exits 0 only when the restore is complete and equal; 1 otherwise. The
role in ``--db`` needs ``CREATEDB`` (for the scratch database). ``pg_dump`` and ``pg_restore`` of the
server's major version must be on ``PATH``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from workstation.services import counts
from workstation.storage.db import Database, resolve_db_url

TRIGGERS = ("cases_count_insert_delete", "cases_count_update", "case_events_notify", "case_events_append_only")


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options of the PostgreSQL tools, and their environment (the password, if any)."""
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tables(engine: object) -> dict[str, int]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        names = sorted(inspect(conn).get_table_names())
        return {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() or 0) for n in names}


def _triggers(engine: object) -> set[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())


def _revision(engine: object) -> list[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def check(db_url: str, out: Path | None = None, keep: bool = False) -> tuple[bool, list[str]]:
    """Dump, restore into a scratch database, compare; returns (all equal, report lines)."""
    url = make_url(resolve_db_url(db_url))
    if url.get_backend_name() != "postgresql":
        return False, [f"not a PostgreSQL database: {url.render_as_string()}"]
    tool_args, env = _libpq(url)
    name = str(url.database)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dump = out or Path(f"{name}-{stamp}.dump")
    report = []
    subprocess.run(
        ["pg_dump", *tool_args, "--format=custom", "--file", str(dump), "--dbname", name], env=env, check=True
    )
    report.append(f"backup: {dump} ({dump.stat().st_size:,} bytes)")
    scratch = f"{name}_restore_check_{os.getpid()}"[:63]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    restored_url = url.set(database=scratch)
    ok = True
    try:
        subprocess.run(
            ["pg_restore", *tool_args, "--no-owner", "--exit-on-error", "--dbname", scratch, str(dump)],
            env=env,
            check=True,
        )
        source, restored = create_engine(url), create_engine(restored_url)
        try:
            before, after = _tables(source), _tables(restored)
            for table in sorted(set(before) | set(after)):
                if before.get(table) != after.get(table):
                    ok = False
                    report.append(f"DIFFERENT {table}: {before.get(table)} rows, restored {after.get(table)}")
            report.append(f"tables: {len(after)} restored, {sum(after.values()):,} rows")
            if _revision(source) != _revision(restored):
                ok = False
                report.append(f"DIFFERENT schema revision: {_revision(source)} vs {_revision(restored)}")
            missing = [t for t in TRIGGERS if t not in _triggers(restored)]
            if missing:
                ok = False
                report.append(f"MISSING triggers: {', '.join(missing)}")
        finally:
            source.dispose()
            restored.dispose()
        db = Database(restored_url.render_as_string(hide_password=False))
        try:
            wrong = counts.check(db)
        finally:
            db.dispose()
        if wrong:
            ok = False
            report.append(f"WRONG kept counts in the restore: {len(wrong)} buckets")
        else:
            report.append("kept queue counts equal a real count of the restored cases")
    except subprocess.CalledProcessError as exc:
        ok = False
        report.append(f"FAILED: {' '.join(str(a) for a in exc.cmd[:1])} exited {exc.returncode}")
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()
    report.append("restore check: OK" if ok else "restore check: FAILED")
    return ok, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the database URL (a role that may create databases)")
    parser.add_argument("--out", help="the backup file to write (default: NAME-TIME.dump here)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database of the restore")
    args = parser.parse_args()
    out = Path(args.out) if args.out else None
    if out is None and not os.access(".", os.W_OK):
        out = Path(tempfile.gettempdir()) / "workstation-backup.dump"
    ok, report = check(args.db, out, args.keep)
    print("\n".join(report))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
