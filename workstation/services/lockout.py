"""Lockout after repeated wrong passwords, per user name and per source, kept in the database.

Every seat and every command line reads and writes the same ``sign_in_failures`` rows, so moving to
another seat does not reset the count. The numbers:

- a user name (existing or not, so a lock says nothing about whether the name exists) is locked for
  :data:`LOCK` after :data:`USER_LIMIT` wrong passwords with no more than :data:`WINDOW` between them;
  a right password resets its count;
- a source (the host a seat or a command runs on) is locked for :data:`LOCK` after
  :data:`SOURCE_LIMIT` failures (wrong passwords for any name, or wrong API tokens) in the same way.

An administrator clears a lock sooner with :func:`unlock` (``workstation user unlock``).
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import SignInFailure, utcnow
from workstation.services import account_log
from workstation.services.actors import Actor
from workstation.services.errors import AuthenticationError, NotFoundError
from workstation.storage.db import Database

USER_LIMIT: Final = 5
SOURCE_LIMIT: Final = 20
WINDOW: Final = timedelta(minutes=15)
LOCK: Final = timedelta(minutes=15)
USER: Final = "user"
SOURCE: Final = "source"


def this_source() -> str:
    """The source of sign-ins made here: this computer's host name."""
    return socket.gethostname() or "localhost"


def check(db: Database, name: str | None, source: str, now: datetime | None = None) -> None:
    """Refuse at once while the user name or the source is locked (before any password is checked).

    Raises:
        AuthenticationError: naming the lock, until when, and how to clear it.
    """
    with db.read() as s:
        check_in(s, name, source, now)


_FAILURES = SignInFailure.__table__.c
_LOCKED = select(_FAILURES.locked_until).where(_FAILURES.kind == bindparam("kind"), _FAILURES.key == bindparam("key"))
# the source's lock as a column of another query (an API token's: the token and the lock in one round trip)
SOURCE_LOCK = (
    select(_FAILURES.locked_until)
    .where(_FAILURES.kind == SOURCE, _FAILURES.key == bindparam("source"))
    .scalar_subquery()
    .label("source_locked_until")
)


def check_in(s: Session, name: str | None, source: str, now: datetime | None = None) -> None:
    """:func:`check` in the caller's transaction.

    Raises:
        AuthenticationError: naming the lock, until when, and how to clear it.
    """
    now = now or utcnow()
    keys = [(SOURCE, source)] + ([(USER, name)] if name else [])
    for kind, key in keys:
        refuse(kind, key, s.execute(_LOCKED, {"kind": kind, "key": key}).scalar(), now)


def refuse(kind: str, key: str, locked_until: datetime | None, now: datetime) -> None:
    """Refuse while ``locked_until`` (the key's lock, read by the caller) is still ahead.

    Raises:
        AuthenticationError: naming the lock, until when, and how to clear it.
    """
    if locked_until is None or locked_until <= now:
        return
    minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
    if kind == USER:
        message = tr(
            "Too many wrong passwords for {name}: signing in is locked for {n} more minute(s). "
            "An administrator can unlock it now: workstation user unlock {name}",
            name=key,
            n=minutes,
        )
    else:
        message = tr(
            "Too many failed sign-ins from {source}: signing in from here is locked for {n} more "
            "minute(s). An administrator can unlock it now: workstation user unlock --source {source}",
            source=key,
            n=minutes,
        )
    raise AuthenticationError(message)


def record_failure(db: Database, name: str | None, source: str, now: datetime | None = None) -> None:
    """Count one failure against the name (if any) and the source; lock either past its limit."""
    now = now or utcnow()
    keys = [(SOURCE, source, SOURCE_LIMIT)] + ([(USER, name[:200], USER_LIMIT)] if name else [])
    for kind, key, limit in keys:
        for _attempt in range(3):  # two seats may create the same row at once: the loser counts again
            try:
                _count(db, kind, key, limit, now)
                break
            except IntegrityError:
                continue


def _count(db: Database, kind: str, key: str, limit: int, now: datetime) -> None:
    with db.write() as s:
        row = s.get(SignInFailure, (kind, key))
        if row is None:
            s.add(SignInFailure(kind=kind, key=key, failures=0, first_at=now, last_at=now))
            s.flush()
        elif row.last_at < now - WINDOW and (row.locked_until is None or row.locked_until <= now):
            s.execute(
                update(SignInFailure)
                .where(SignInFailure.kind == kind, SignInFailure.key == key)
                .values(failures=0, first_at=now, locked_until=None)
            )
        # one atomic increment, so two seats failing at once both count
        s.execute(
            update(SignInFailure)
            .where(SignInFailure.kind == kind, SignInFailure.key == key)
            .values(failures=SignInFailure.failures + 1, last_at=now)
        )
        s.execute(
            update(SignInFailure)
            .where(SignInFailure.kind == kind, SignInFailure.key == key, SignInFailure.failures >= limit)
            .values(locked_until=now + LOCK)
        )


def record_success(db: Database, name: str) -> None:
    """A right password clears the count of that user name (not of the source)."""
    with db.write() as s:
        s.execute(delete(SignInFailure).where(SignInFailure.kind == USER, SignInFailure.key == name))


def failures(db: Database, kind: str, key: str) -> tuple[int, datetime | None]:
    """The current count and lock end of one key (0, None when it has none)."""
    with db.read() as s:
        row = s.get(SignInFailure, (kind, key))
        return (row.failures, row.locked_until) if row else (0, None)


def unlock(db: Database, by: Actor, *, name: str | None = None, source: str | None = None) -> None:
    """Clear the count and lock of a user name or a source (administrators only).

    Raises:
        PermissionDeniedError: not an administrator.
        NotFoundError: nothing was counted against it.
    """
    by.require([Role.ADMIN], tr("unlock sign-ins"))
    kind, key = (USER, name) if name else (SOURCE, source or "")
    with db.write() as s:
        found = s.scalar(select(SignInFailure).where(SignInFailure.kind == kind, SignInFailure.key == key))
        if found is None:
            raise NotFoundError(tr("No failed sign-ins are counted against {key}.", key=key))
        s.delete(found)
        account_log.record(s, by, key, "unlock", kind=kind)
