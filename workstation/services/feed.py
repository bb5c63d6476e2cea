"""The change feed between seats: every change appends a case event, so events are the feed.

A reader keeps a cursor (the highest event id it has seen) and asks for what came after. A
PostgreSQL transaction can commit a lower id after a higher one: an id skipped below the cursor is
remembered as a gap, and only the gaps are asked for again, for ``GAP_S`` seconds (an id never
committed, from a rolled-back transaction, stops being asked for then). No read re-reads rows it
has already seen.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, or_, select

from workstation.models import CaseEvent
from workstation.services.live_driver import marked
from workstation.storage.db import Database

GAP_S = 10.0  # how long a missing id is waited for (far longer than a commit takes)
MAX_GAPS = 2000  # ids skipped by one jump beyond this (a large rolled-back batch) are not tracked
_COLUMNS = (CaseEvent.id, CaseEvent.case_id, CaseEvent.action)
# built once: the statement read on every change (building and keying a new one costs more than running it);
# the live thread runs it on the driver's connection (see services.live_driver)
_AFTER = marked(select(*_COLUMNS).where(CaseEvent.id > bindparam("cursor")).order_by(CaseEvent.id))


@dataclass
class FeedReader:
    """Reads new case events since the last read."""

    db: Database
    cursor: int = 0
    floor: int = 0  # events at or below are history, never reported
    gaps: dict[int, float] = field(default_factory=dict)  # missing id -> when it was first missed

    def start_at_end(self) -> None:
        """Skip everything already in the database."""
        with self.db.read() as s:
            self.cursor = self.floor = int(s.scalar(select(func.max(CaseEvent.id))) or 0)

    def poll(self, on: Any = None) -> list[tuple[int, int, str]]:
        """New events as (event id, case id, action), oldest first.

        ``on``: a connection held by the caller (the live thread's) to read on, instead of a session.
        """
        now = time.monotonic()
        for gap, since in list(self.gaps.items()):
            if now - since > GAP_S:
                del self.gaps[gap]
        if self.gaps:
            wanted = or_(CaseEvent.id > self.cursor, CaseEvent.id.in_(sorted(self.gaps)))
            statement, params = select(*_COLUMNS).where(wanted).order_by(CaseEvent.id), {}
        else:
            statement, params = _AFTER, {"cursor": self.cursor}
        with nullcontext(on) if on is not None else self.db.read() as s:
            rows = s.execute(statement, params).all()
        fresh = []
        for event_id, case_id, action in rows:
            event_id = int(event_id)
            if event_id <= self.cursor:
                if self.gaps.pop(event_id, None) is None:
                    continue
            else:
                if event_id - self.cursor - 1 <= MAX_GAPS:
                    for missing in range(self.cursor + 1, event_id):
                        self.gaps[missing] = now
                self.cursor = event_id
            fresh.append((event_id, int(case_id), str(action)))
        return fresh
