"""Integration over HTTP: feed cursors, connection state, quarantine, service mappings, the outbox.

These tables belong to ``workstation.intake``: reports arriving from other systems, dispatch orders
and status changes leaving for the units' systems, and the units' answers coming back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base, utcnow


class IntakeCursor(Base):
    """Where a source's feed was last read up to; written in the transaction of the items it covers."""

    __tablename__ = "intake_cursors"
    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntakeStatus(Base):
    """The connection state of one source or outbound target, for the window's status bar."""

    __tablename__ = "intake_status"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=0)
    last_count: Mapped[int] = mapped_column(default=0)


class QuarantinedItem(Base):
    """An incoming item (or a whole page) that could not be imported, kept verbatim with the reason.

    ``kind`` is ``item`` or ``page``; ``status`` is ``open``, ``reprocessed`` or ``discarded``.
    The same payload arriving again while its row is open is counted, not stored twice.
    """

    __tablename__ = "intake_quarantine"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    source_kind: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10), default="item")
    external_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    cursor: Mapped[str | None] = mapped_column(String(1000))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    times_seen: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default="open")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_intake_quarantine_status", "status", "id"),
        Index("ix_intake_quarantine_hash", "source", "payload_hash"),
        # a repeated post, and a re-delivered item closing its held copy, look it up by the source's own id
        Index("ix_intake_quarantine_external", "source", "external_id"),
    )


class ServiceMapping(Base):
    """A source's own service code and the catalogue category it stands for (none yet: uncategorised)."""

    __tablename__ = "service_mappings"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    service_code: Mapped[str] = mapped_column(String(100))
    service_name: Mapped[str] = mapped_column(String(200), default="")
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(50), default="")

    __table_args__ = (UniqueConstraint("source", "service_code"),)


class OutboundTarget(Base):
    """Where outbound messages go: a unit system's webhook, or an Open311 peer's update endpoint.

    Credentials are never stored here: the sender takes them from the settings file by target name.
    """

    __tablename__ = "outbound_targets"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(1000))
    units: Mapped[list[str]] = mapped_column(default=list)
    source: Mapped[str | None] = mapped_column(String(80))
    events: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """One outbound message, written in the transaction of the change that causes it.

    ``status`` is ``pending``, ``sent`` or ``failed``; ``uuid`` is sent as the Idempotency-Key.
    The sender gives up once ``attempts`` reaches ``budget``; a manual retry raises the budget.
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    target: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    url: Mapped[str] = mapped_column(String(1000))
    content_type: Mapped[str] = mapped_column(String(10), default="json")
    body: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    budget: Mapped[int] = mapped_column(default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    response_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_case", "case_id"),
    )


class UnitResponse(Base):
    """A unit system's answer (acknowledge, return, extension, handled), remembered by its id.

    ``outcome`` is ``applied``, ``ignored`` (late, harmless) or ``refused`` (incompatible), with the reason.
    """

    __tablename__ = "unit_responses"
    response_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None]
    type: Mapped[str] = mapped_column(String(20))
    responded_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    event_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chain_seq: Mapped[int | None]  # position in its hash chain (models/chain.py)
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_unit_responses_case", "case_id"),)
