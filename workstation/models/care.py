"""Care visits: the roster of the nine priority groups, visits, major changes, campaigns, reveals.

People belong to a grid (and through it to a community, copied for scoping); each membership of a
group has its own period and risk level. Visits record what the visitor saw and what the person
needs; a need another unit must solve becomes a case (``case_id``). Reveals of masked personal
information are an append-only audit: the database refuses updates and deletes of ``care_reveals``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base, utcnow


class CarePerson(Base):
    """A person on a community's roster.

    ``contacts`` holds emergency contacts and guardians as ``{name, relation, phone}`` objects.
    ``version`` guards edits: an update only succeeds against the version the editor saw.
    """

    __tablename__ = "care_people"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str] = mapped_column(String(10), default="")
    birth_date: Mapped[date | None]
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"))
    community_code: Mapped[str] = mapped_column(ForeignKey("communities.code"))
    living: Mapped[str] = mapped_column(String(20), default="")
    visitor: Mapped[str] = mapped_column(String(50), default="")
    contacts: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    health_notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(50), default="")

    __table_args__ = (
        Index("ix_care_people_community", "community_code", "grid_code"),
        Index("ix_care_people_grid", "grid_code"),
    )


class CareMembership(Base):
    """A person's membership of one of the nine groups, from ``since`` until ``until`` (inclusive)."""

    __tablename__ = "care_memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("care_people.id"), index=True)
    group_code: Mapped[str] = mapped_column(ForeignKey("care_groups.code"))
    since: Mapped[date]
    until: Mapped[date | None]
    risk: Mapped[str] = mapped_column(String(10), default="normal")
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50), default="")


class CareVisit(Base):
    """One visit (or attempt): when, by whom, how, whether the person was met, what was seen.

    ``observations`` maps ``health``, ``living``, ``safety`` and ``mood`` to ``{status, note}`` with
    status ``ok`` or ``concern``. ``next_due_at`` overrides the interval for the next visit.
    ``client_key`` makes recording idempotent: the same key never records a second visit.
    """

    __tablename__ = "care_visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("care_people.id"))
    visited_at: Mapped[datetime]
    visitor: Mapped[str] = mapped_column(String(50))
    mode: Mapped[str] = mapped_column(String(10))
    met: Mapped[bool]
    observations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    next_due_at: Mapped[datetime | None]
    next_due_reason: Mapped[str] = mapped_column(Text, default="")
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(50))
    chain_seq: Mapped[int | None]  # position in its hash chain (models/chain.py)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_care_visits_person_at", "person_id", "visited_at"),)


class CareVisitNeed(Base):
    """A need found at a visit; ``case_id`` is the case raised for it in the operator queue."""

    __tablename__ = "care_visit_needs"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("care_visits.id"), index=True)
    seq: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    raise_case: Mapped[bool] = mapped_column(default=False)
    urgent: Mapped[bool] = mapped_column(default=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))

    __table_args__ = (UniqueConstraint("visit_id", "seq"),)


class CareChange(Base):
    """A major change in a person's life that calls for a visit within 24 hours."""

    __tablename__ = "care_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("care_people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(50))


class CareCampaign(Base):
    """A request to visit chosen groups in chosen streets (all streets when empty) by a deadline."""

    __tablename__ = "care_campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    group_codes: Mapped[list[str]]
    street_codes: Mapped[list[str]]
    starts_at: Mapped[datetime]
    deadline: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(50))
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(50))


class CareReveal(Base):
    """One reveal of masked personal information: who, when, whose, which field, and why.

    Append-only: the database refuses updates and deletes of this table. An export with clear
    values is one row with no person and the people it covered in ``details``.
    """

    __tablename__ = "care_reveals"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(50))
    actor_role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("care_people.id"), index=True)
    field: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chain_seq: Mapped[int | None]  # position in its hash chain (models/chain.py)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_care_reveals_actor_at", "actor", "at"),)
