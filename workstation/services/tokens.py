"""Revocable API tokens: how an integration account proves who it is on the command line.

An administrator creates a token for an account (``workstation user token add``); the token is shown
once and only its SHA-256 is stored (a token is 32 random bytes, so a fast hash is enough: there is
nothing to guess). Each use records its time; a revoked token, or one whose account was deactivated,
no longer proves anything.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import ApiToken, User, utcnow
from workstation.services import account_log, lockout
from workstation.services.actors import Actor
from workstation.services.errors import NotFoundError, ValidationError
from workstation.storage.db import Database

PREFIX: Final = "wst_"


@dataclass(frozen=True)
class TokenInfo:
    """One token as an administrator sees it (never the token itself)."""

    id: int
    name: str
    owner: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def add_token(db: Database, by: Actor, owner: str, name: str) -> tuple[TokenInfo, str]:
    """Create a token for ``owner``; return it with the token in clear (shown once, never stored).

    Raises:
        PermissionDeniedError: not an administrator.
        ValidationError: no name, or no active account ``owner``.
    """
    by.require([Role.ADMIN], tr("manage API tokens"))
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError(tr("Give the token a name of 1 to 80 characters."), {"name": tr("required")})
    token = PREFIX + secrets.token_urlsafe(32)
    with db.write() as s:
        user = s.scalar(select(User).where(User.name == owner))
        if user is None or not user.active:
            raise ValidationError(tr("No active user named {name}.", name=owner), {"owner": tr("unknown")})
        row = ApiToken(name=name, owner=owner, token_hash=digest(token), created_by=by.name, created_at=utcnow())
        s.add(row)
        s.flush()
        account_log.record(s, by, owner, "token_add", token=row.id, name=name)
        return _info(row), token


def list_tokens(db: Database, by: Actor) -> list[TokenInfo]:
    """Every token, newest first.

    Raises:
        PermissionDeniedError: not an administrator.
    """
    by.require([Role.ADMIN], tr("manage API tokens"))
    with db.read() as s:
        return [_info(t) for t in s.scalars(select(ApiToken).order_by(ApiToken.id.desc()))]


def revoke_token(db: Database, by: Actor, token_id: int) -> TokenInfo:
    """Revoke a token for good.

    Raises:
        PermissionDeniedError: not an administrator.
        NotFoundError: no such token, or it was revoked already.
    """
    by.require([Role.ADMIN], tr("manage API tokens"))
    with db.write() as s:
        done = s.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_by=by.name)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFoundError(tr("There is no unrevoked token {id}.", id=token_id))
        row = s.get(ApiToken, token_id)
        assert row is not None
        s.refresh(row)
        account_log.record(s, by, row.owner, "token_revoke", token=row.id, name=row.name)
        return _info(row)


# built once: every post through ``workstation serve`` runs them (Core columns: no ORM loading)
_TOKEN_TABLE: Table = ApiToken.__table__  # type: ignore[assignment]
_TOKENS, _USERS = _TOKEN_TABLE.c, User.__table__.c
_OWNER = (
    select(
        lockout.SOURCE_LOCK,
        _TOKENS.id,
        _TOKENS.last_used_at,
        _USERS.name,
        _USERS.role,
        _USERS.community_code,
        _USERS.unit_code,
        _USERS.display_name,
        _USERS.active,
    )
    .join_from(_TOKEN_TABLE, User.__table__, _USERS.name == _TOKENS.owner)
    .where(_TOKENS.token_hash == bindparam("hash"), _TOKENS.revoked_at.is_(None))
)
_USED = _TOKEN_TABLE.update().where(_TOKENS.id == bindparam("token_id")).values(last_used_at=bindparam("at"))


def owner_in(s: Session, token: str, source: str) -> Actor | None:
    """The active account a valid, unrevoked token belongs to, as an actor (recording the use), else None.

    In the caller's (writing) transaction, after the source's lock (``lockout``): the token, its
    account and the lock in one query.

    Raises:
        AuthenticationError: the source is locked.
    """
    now = utcnow()
    found = s.execute(_OWNER, {"hash": digest(token), "source": source}).first()
    if found is None:
        lockout.check_in(s, None, source, now)  # a locked source is told so, whatever the token
        return None
    lockout.refuse(lockout.SOURCE, source, found.source_locked_until, now)
    if not found.active:
        return None
    if found.last_used_at != now:  # kept to the second: a client posting many times a second writes it once
        s.execute(_USED, {"token_id": found.id, "at": now})
    return Actor(found.name, found.role, found.community_code, found.unit_code, found.display_name or found.name)


def _info(t: ApiToken) -> TokenInfo:
    return TokenInfo(t.id, t.name, t.owner, t.created_at, t.created_by, t.last_used_at, t.revoked_at)
