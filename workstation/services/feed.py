"""The change feed between seats: every change appends a case event, so events are the feed.

A reader keeps a cursor (the highest event id it has seen) and asks for what came after. Because a
PostgreSQL transaction can commit a lower id after a higher one, each read also looks back over a
short window and drops what it has already seen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import func, select

from workstation.models import CaseEvent
from workstation.storage.db import Database

LOOK_BACK = 500


@dataclass
class FeedReader:
    """Reads new case events since the last read."""

    db: Database
    cursor: int = 0
    floor: int = 0  # events at or below are history, never reported
    _seen: deque[int] = field(default_factory=lambda: deque(maxlen=LOOK_BACK * 10))
    _seen_set: set[int] = field(default_factory=set)

    def start_at_end(self) -> None:
        """Skip everything already in the database."""
        with self.db.read() as s:
            self.cursor = self.floor = int(s.scalar(select(func.max(CaseEvent.id))) or 0)

    def poll(self) -> list[tuple[int, int, str]]:
        """New events as (event id, case id, action), oldest first."""
        low = max(self.floor, self.cursor - LOOK_BACK)
        with self.db.read() as s:
            rows = s.execute(
                select(CaseEvent.id, CaseEvent.case_id, CaseEvent.action)
                .where(CaseEvent.id > low)
                .order_by(CaseEvent.id)
            ).all()
        fresh = []
        for event_id, case_id, action in rows:
            if event_id in self._seen_set:
                continue
            fresh.append((int(event_id), int(case_id), str(action)))
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(int(event_id))
            self._seen_set.add(int(event_id))
        if rows:
            self.cursor = max(self.cursor, int(rows[-1][0]))
        return fresh
