"""Case photos: one row per photo reference (URL or ``photo://``) and the image bytes, stored once by content.

A case keeps its references in ``cases.photos`` (the report's "before" photos) and
``cases.result_photos`` (the unit's "after" photos); ``photos`` says, per reference, whether its
bytes are stored, still to be fetched, or could not be had (with a reason code and detail, so the
reason is shown in the reader's language), and ``photo_blobs`` holds the bytes, keyed by their
SHA-256 so the same image sent twice is stored once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base, utcnow


class PhotoBlob(Base):
    """The bytes of one image (checked by its magic bytes), with its type and size in pixels."""

    __tablename__ = "photo_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    mime: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)


class Photo(Base):
    """One photo reference and what became of it: ``pending`` (to fetch), ``stored`` or ``failed``."""

    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the reference: URLs can be long
    ref: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str] = mapped_column(String(20), default="")  # a code of services.photos.REASONS
    detail: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None]
    blob: Mapped[str | None] = mapped_column(ForeignKey("photo_blobs.sha256"))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_photos_due", "state", "next_try_at"),)
