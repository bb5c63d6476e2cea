"""A backup of a centre's PostgreSQL database restores complete (scripts/pg_backup_check.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import article_report
from workstation.services import accounts, lifecycle, reports

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "pg_backup_check.py"


def _run(url: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--db", url, "--out", str(out)], capture_output=True, text=True, timeout=300
    )


def test_a_backup_restores_complete_with_its_triggers_and_counts(fresh_db: Any, tmp_path: Path) -> None:
    db = fresh_db()
    if db.dialect != "postgresql":
        pytest.skip("pg_dump and pg_restore are PostgreSQL's")
    admin = accounts.add_user(db, None, "admin", "admin", "correct-horse-9")
    op = accounts.add_user(db, admin, "op1", "operator", "correct-horse-9")
    ids = [reports.add_report(db, article_report(external_id=f"B{i}")).case_id for i in range(3)]
    lifecycle.file(db, op, ids[0], "0201")
    done = _run(db.url, tmp_path / "grid.dump")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restore check: OK" in done.stdout
    assert "kept queue counts equal" in done.stdout
    assert (tmp_path / "grid.dump").stat().st_size > 0

    with db.write() as s:  # a database whose kept counts went wrong: its backup is not passed as good
        s.execute(text("INSERT INTO case_count_deltas (status, dim, value, n) VALUES ('reported', '', '', 5)"))
    bad = _run(db.url, tmp_path / "bad.dump")
    assert bad.returncode == 1
    assert "WRONG kept counts" in bad.stdout and "restore check: FAILED" in bad.stdout
