"""GeoReport v2 server and peers: requests clients posted to this centre, and requests it posted to peers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base, utcnow


class GeoReportPost(Base):
    """One ``POST requests`` a client made: its token, its own id (for idempotency) and where it went.

    ``external_id`` is the case's external id on channel OPEN311 (the case may not exist yet while the
    request waits in quarantine: ``quarantine_id``); ``GET tokens/{token}`` resolves it.
    """

    __tablename__ = "georeport_posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    client: Mapped[str] = mapped_column(String(50))
    client_request_id: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(100), index=True)
    quarantine_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("client", "client_request_id"),)


class GeoReportOutbound(Base):
    """A case this centre posted (or is to post) to a peer GeoReport v2 server, and what the peer says."""

    __tablename__ = "georeport_outbound"
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(80))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    unit_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    service_request_id: Mapped[str | None] = mapped_column(String(100))
    token: Mapped[str | None] = mapped_column(String(100))
    remote_status: Mapped[str | None] = mapped_column(String(20))
    remote_notes: Mapped[str | None] = mapped_column(Text)
    remote_updated_at: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    polled_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("target", "case_id"),
        Index("ix_georeport_outbound_due", "status", "next_attempt_at"),
    )
