"""GeoReport v2 peers: requests this centre posted to other GeoReport v2 servers, and what they say of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base, utcnow


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
