"""User accounts with one role each; station staff belong to a community, unit liaisons to a unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base, utcnow


class User(Base):
    """A person who signs in (or an integration account)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(20))
    community_code: Mapped[str | None] = mapped_column(ForeignKey("communities.code"))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedFilter(Base):
    """A named queue filter a user saved."""

    __tablename__ = "saved_filters"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(50), index=True)
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInFailure(Base):
    """Wrong passwords (or tokens) counted per user name and per source, shared by every seat.

    ``kind`` is ``user`` (the name typed, whether or not it exists) or ``source`` (the host). Past the
    limit the key is locked until ``locked_until``; an administrator may clear it sooner.
    """

    __tablename__ = "sign_in_failures"
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class ApiToken(Base):
    """A revocable API token of an (integration) account; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    owner: Mapped[str] = mapped_column(ForeignKey("users.name"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(50), default=None)


class AccountEvent(Base):
    """One change to an account, an API token or a sign-in lock: who did what to whom, and when.

    Append-only and hash-chained like the case history (``models/chain.py``): the database refuses
    updates and deletes, and ``workstation audit verify`` finds an entry changed, removed or inserted
    by hand. ``details`` holds what changed (the new role, the place; never a password or a token).
    """

    __tablename__ = "account_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(50))
    actor_role: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chain_seq: Mapped[int | None]  # position in its hash chain (models/chain.py)
    chain_hash: Mapped[str | None] = mapped_column(String(64))
