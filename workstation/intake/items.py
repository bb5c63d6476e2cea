"""What a parser hands to the ingest path: one page of items, each understood or with the reason why not."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workstation.services.errors import WorkstationError


class PageError(WorkstationError):
    """A whole page could not be read (malformed JSON or XML, wrong shape); it is quarantined as one."""


@dataclass
class Item:
    """One incoming item.

    Attributes:
        payload: the item's original text, exactly what is kept in quarantine.
        report: the report's fields as ``services.reports.add_report`` takes them, when understood.
        reason: why the item cannot be imported (it goes to quarantine); None when understood.
        notes: what was not understood but did not stop the import (ignored fields, assumptions).
        key: the item's identifier at the source, for messages.
        service_code: the source's service code (Open311), mapped to a category at ingest.
        service_name: the source's own name of its service or type, kept on the case.
        original: the parsed original (JSON value or XML text), kept in the case's first event.
        data: a non-report item's parsed content (unit responses).
        aliases: other external ids the same item had before (an Open311 request first seen by its
            ``token``, later by its ``service_request_id``): a case found under one is this item's case.
        status: the item's status at its source (Open311 ``open`` / ``closed``), recorded on the case.
        status_notes: the source's words on that status.
        updated_at: when the source last changed the item (Open311 ``updated_datetime``).
    """

    payload: str
    report: dict[str, Any] | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    key: str | None = None
    service_code: str | None = None
    service_name: str | None = None
    original: Any = None
    data: dict[str, Any] | None = None
    aliases: list[str] = field(default_factory=list)
    status: str | None = None
    status_notes: str | None = None
    updated_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the item was understood."""
        return self.reason is None


@dataclass
class Page:
    """One page of a feed: its items and where to read on from."""

    items: list[Item]
    next_cursor: str | None = None
    has_more: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CursorMove:
    """Advance a source's cursor from ``expected`` to ``new`` in the ingest transaction (compare-and-set)."""

    expected: str | None
    new: str | None


def digest(text: str) -> str:
    """The SHA-256 of a payload, to recognise the same payload arriving again."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def clip(text: str, limit: int) -> str:
    """Text shortened to ``limit`` characters (with an ellipsis) for messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
