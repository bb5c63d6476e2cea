"""Leases: a seat's hold on the case it has open, so two operators never work the same report.

A lease lasts ``TTL`` and the seat renews it while the case stays open; when a seat goes away its
leases simply expire. Taking a lease is a conditional write that holds on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from workstation.i18n import tr
from workstation.models import CaseLease, utcnow
from workstation.services.actors import Actor
from workstation.services.errors import ConflictError
from workstation.storage.db import Database

TTL = timedelta(seconds=60)


class TakenError(ConflictError):
    """Another seat holds the case."""


def acquire(
    db: Database, by: Actor, case_id: int, seat: str, ttl: timedelta = TTL, now: datetime | None = None
) -> datetime:
    """Take or renew the lease on a case; returns when it expires.

    Raises:
        TakenError: another user holds a live lease on it.
    """
    now = now or utcnow()
    expires = now + ttl
    for _ in range(2):
        try:
            with db.write() as s:
                done = s.execute(
                    update(CaseLease)
                    .where(CaseLease.case_id == case_id, (CaseLease.holder == by.name) | (CaseLease.expires_at <= now))
                    .values(holder=by.name, seat=seat, expires_at=expires, acquired_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if done == 1:
                    return expires
                current = s.get(CaseLease, case_id)
                if current is None:
                    s.add(CaseLease(case_id=case_id, holder=by.name, seat=seat, acquired_at=now, expires_at=expires))
                    s.flush()
                    return expires
                raise TakenError(
                    tr(
                        "Case {id} is open at {who}'s seat; it is theirs until they move on.",
                        id=case_id,
                        who=current.holder,
                    ),
                    current.holder,
                    current.acquired_at,
                )
        except IntegrityError:
            continue  # another seat inserted at the same moment: look again
    raise TakenError(tr("Case {id} was just taken by another seat.", id=case_id))


def release(db: Database, by: Actor, case_id: int) -> None:
    """Give the case back (when the seat moves to another case or closes)."""
    with db.write() as s:
        s.execute(delete(CaseLease).where(CaseLease.case_id == case_id, CaseLease.holder == by.name))


def release_all(db: Database, by: Actor, seat: str) -> None:
    """Give back every case this seat holds (at sign-out)."""
    with db.write() as s:
        s.execute(delete(CaseLease).where(CaseLease.holder == by.name, CaseLease.seat == seat))


def holder(db: Database, case_id: int, now: datetime | None = None) -> str | None:
    """Who holds a live lease on the case, if anyone."""
    with db.read() as s:
        lease = s.scalar(
            select(CaseLease).where(CaseLease.case_id == case_id, CaseLease.expires_at > (now or utcnow()))
        )
        return lease.holder if lease else None
