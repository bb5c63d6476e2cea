"""Cases (a report from arrival to closure), their append-only history, co-units and extensions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base, utcnow

QUEUE_FILTER_COLUMNS = ("channel", "category_code", "grid_code", "community_code", "street_code")


class Case(Base):
    """One report and everything decided about it.

    Category and unit are copied at the moment they are decided, so a later catalogue version never
    rewrites history. ``version`` guards every change: an update only succeeds against the version
    the actor saw.
    """

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="reported")
    priority: Mapped[int] = mapped_column(default=2)
    channel: Mapped[str] = mapped_column(String(12))
    external_id: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float | None]
    lat: Mapped[float | None]
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"))
    community_code: Mapped[str | None] = mapped_column(ForeignKey("communities.code"))
    street_code: Mapped[str | None] = mapped_column(ForeignKey("streets.code"))
    reporter_name: Mapped[str] = mapped_column(String(50), default="")
    reporter_phone: Mapped[str] = mapped_column(String(30), default="")
    photos: Mapped[list[str]] = mapped_column(default=list)
    received_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    category_code: Mapped[str | None] = mapped_column(String(8))
    category_name: Mapped[str | None] = mapped_column(String(100))
    category_major: Mapped[str | None] = mapped_column(String(50))
    time_limit: Mapped[str | None] = mapped_column(String(10))
    closure_standard: Mapped[str | None] = mapped_column(String(500))
    unit_code: Mapped[str | None] = mapped_column(String(40))
    unit_name: Mapped[str | None] = mapped_column(String(100))
    filed_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    result_text: Mapped[str | None] = mapped_column(Text)
    result_photos: Mapped[list[str]] = mapped_column(default=list)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    supervised_at: Mapped[datetime | None]
    source_service: Mapped[str | None] = mapped_column(String(100))
    last_actor: Mapped[str] = mapped_column(String(50), default="")
    last_action_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        # The queue order first, then the columns queues filter on: counting a filtered queue reads
        # the index alone instead of visiting every case of the status (bench/queue.py).
        Index("ix_cases_queue", "status", "priority", "received_at", "id", *QUEUE_FILTER_COLUMNS),
        Index("ix_cases_received", "received_at", "id"),
        Index("ix_cases_deadline", "deadline_at"),
        Index("ix_cases_grid", "grid_code"),
        Index("ix_cases_last_action", "last_action_at"),
        Index("ix_cases_actor_action", "last_actor", "last_action_at"),
        Index("ix_cases_status_deadline", "status", "deadline_at", *QUEUE_FILTER_COLUMNS),
        Index("ix_cases_community", "community_code", "received_at"),
        Index("ix_cases_street", "street_code", "received_at"),
    )


class CaseEvent(Base):
    """One entry of a case's history: who did what, when, from which state to which, and why.

    Append-only: the database refuses updates and deletes of this table.
    """

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(50))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chain_seq: Mapped[int | None]  # position in its hash chain (models/chain.py)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_case_events_actor_at", "actor", "at"),)


class CaseUnit(Base):
    """A co-unit (加派) added to a dispatched case."""

    __tablename__ = "case_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(40))
    unit_name: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(50))


class ExtensionRequest(Base):
    """A unit's request for more time (延期) and the shift lead's decision."""

    __tablename__ = "extension_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(50))
    time_limit: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    new_deadline_at: Mapped[datetime | None]


class CaseLease(Base):
    """A seat's hold on a case it has open, so two operators do not work the same report.

    A lease expires on its own when the seat stops renewing it (the seat went away).
    """

    __tablename__ = "case_leases"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(50))
    seat: Mapped[str] = mapped_column(String(100))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class CaseCount(Base):
    """The kept count of one bucket of cases (see ``storage.count_buckets``), as last folded."""

    __tablename__ = "case_counts"
    dim: Mapped[str] = mapped_column(String(12), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class CaseCountDelta(Base):
    """A change of a bucket's count (+1/-1) appended by a trigger, not yet folded into ``case_counts``."""

    __tablename__ = "case_count_deltas"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    dim: Mapped[str] = mapped_column(String(12))
    value: Mapped[str] = mapped_column(String(100))
    n: Mapped[int] = mapped_column(Integer)
