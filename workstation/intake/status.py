"""Connection state of each source and outbound target, for the window's status bar and the CLI.

Kept in the database (``intake_status``) so every seat, and the command line, sees the same state.
A failure never stops anything: it is recorded with its reason, and the next round catches up from
the stored cursor once the network is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workstation.i18n import tr
from workstation.intake.items import clip
from workstation.models import IntakeStatus, utcnow
from workstation.services.notices import notify
from workstation.storage.db import Database


@dataclass(frozen=True)
class Status:
    """The state of one connection."""

    name: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failures: int
    last_count: int

    @property
    def ok(self) -> bool:
        """Whether the last attempt succeeded."""
        return self.failures == 0 and self.last_success_at is not None


def _record(db: Database, name: str, now: datetime, error: str | None, count: int) -> None:
    for attempt in range(3):
        try:
            with db.write() as s:
                row = s.get(IntakeStatus, name)
                if row is None:
                    row = IntakeStatus(name=name, failures=0, last_count=0)
                    s.add(row)
                row.last_attempt_at = now
                if error is None:
                    row.last_success_at, row.failures, row.last_count = now, 0, count
                else:
                    row.last_failure_at, row.last_error = now, clip(error, 2000)
                    row.failures = (row.failures or 0) + 1
            break
        except IntegrityError:
            if attempt == 2:
                raise
    notify("intake_status", [])


def record_success(db: Database, name: str, count: int = 0, now: datetime | None = None) -> None:
    """A round (or a send) of ``name`` succeeded, with ``count`` items."""
    _record(db, name, now or utcnow(), None, count)


def record_failure(db: Database, name: str, error: str, now: datetime | None = None) -> None:
    """A round (or a send) of ``name`` failed; the reason is kept until the next failure."""
    _record(db, name, now or utcnow(), error, 0)


def read_status(db: Database) -> list[Status]:
    """Every connection's state, by name."""
    with db.read() as s:
        return [
            Status(
                r.name, r.last_attempt_at, r.last_success_at, r.last_failure_at, r.last_error, r.failures, r.last_count
            )
            for r in s.scalars(select(IntakeStatus).order_by(IntakeStatus.name))
        ]


def get_status(db: Database, name: str) -> Status | None:
    """One connection's state."""
    return next((st for st in read_status(db) if st.name == name), None)


def status_line(db: Database) -> str:
    """A compact summary for a status bar: each connection, ✓ or ✗ with the error."""
    parts = []
    for st in read_status(db):
        if st.ok:
            parts.append(f"{st.name} ✓")
        elif st.last_attempt_at is None:
            parts.append(f"{st.name} …")
        else:
            parts.append(f"{st.name} ✗ {clip(st.last_error or '', 60)}")
    return " · ".join(parts) if parts else tr("no connections configured")
