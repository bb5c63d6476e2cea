"""The quarantine: incoming items that could not be imported, kept verbatim until someone decides.

An item can be reprocessed (after editing its payload, or as it is once a mapping or the reference
data was fixed) or discarded with a note. Reprocessing goes through the source's own parser and the
same ingest path as polling, so an item that already became a case is recognised, never created
again. A page kept whole is reprocessed as a page: its items are imported one by one (the bad ones
quarantined individually) and, when the source's cursor still stands where the page was fetched,
the cursor moves past it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select

from workstation.domain.lifecycle import N_, Role
from workstation.i18n import tr
from workstation.intake import ingest
from workstation.intake.base import CursorSource, Source, build_source
from workstation.intake.formats import read_time
from workstation.intake.items import CursorMove, PageError, digest
from workstation.intake.settings import Settings, SourceConfig
from workstation.models import QuarantinedItem, utcnow
from workstation.services.actors import Actor
from workstation.services.errors import NotFoundError, ValidationError
from workstation.services.notices import notify
from workstation.storage.db import Database

STATUSES = ("open", "reprocessed", "discarded")
STATUS_NAMES: dict[str, str] = {"open": N_("open"), "reprocessed": N_("reprocessed"), "discarded": N_("discarded")}
KIND_NAMES: dict[str, str] = {"item": N_("item"), "page": N_("whole page")}
ROLES = (Role.OPERATOR, Role.LEAD, Role.ADMIN, Role.SYSTEM)


@dataclass
class Reprocessed:
    """The outcome of reprocessing: whether it went in, the cases concerned, or the reason it still fails."""

    ok: bool
    case_ids: list[int] = field(default_factory=list)
    reason: str = ""
    quarantined: list[int] = field(default_factory=list)


REPORT_TIME_FIELDS = ("received_at", "accepted_at", "受理时间", "requested_datetime", "at")
"""Where an item says when it was reported: platform, hotline (both spellings), Open311, unit response."""
_XML_TIME = re.compile(r"<(requested_datetime|received_at|accepted_at)>\s*([^<]{1,80}?)\s*</\1>")


def report_time(payload: str) -> tuple[str | None, str | None]:
    """When the quarantined item itself says it was reported: (aware time in ISO form or None, raw text or None).

    The raw text is kept because a time the item could not be imported for (no time zone, unreadable)
    is exactly what the operator needs to see. A whole page has no one time: (None, None).
    """
    raw: Any = None
    text = payload.lstrip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            raw = next((data[k] for k in REPORT_TIME_FIELDS if data.get(k) not in (None, "")), None)
    elif text.startswith("<"):
        found = _XML_TIME.search(text)
        raw = found.group(2) if found else None
    if raw is None:
        return None, None
    raw = str(raw)[:80]
    try:
        when, _ = read_time(raw)
    except ValueError:
        return None, raw
    return when.astimezone(UTC).isoformat(), raw


def report_time_text(item: dict[str, Any], tz: tzinfo | None) -> str:
    """The item's own report time for a list: local time, or its raw text marked when it has no zone."""
    if item.get("reported_at"):
        return datetime.fromisoformat(item["reported_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    raw = item.get("reported_raw")
    if not raw:
        return "—"
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        return tr("{value} (unreadable)", value=raw)
    return tr("{time} (no time zone)", time=naive.strftime("%Y-%m-%d %H:%M"))


def as_dict(row: QuarantinedItem, payload: bool = False) -> dict[str, Any]:
    """One quarantined item as plain data (with its payload when asked)."""
    out: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "source_kind": row.source_kind,
        "kind": row.kind,
        "external_id": row.external_id,
        "reason": row.reason,
        "reported_at": None,
        "reported_raw": None,
        "received_at": row.received_at.isoformat(),
        "last_seen_at": row.last_seen_at.isoformat(),
        "times_seen": row.times_seen,
        "status": row.status,
        "case_id": row.case_id,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "note": row.note,
    }
    if row.kind == "item":
        out["reported_at"], out["reported_raw"] = report_time(row.payload)
    if payload:
        out["payload"] = row.payload
    return out


def list_items(db: Database, status: str | None = "open", source: str | None = None) -> list[dict[str, Any]]:
    """Quarantined items, oldest first.

    Raises:
        ValidationError: unknown status.
    """
    if status is not None and status not in STATUSES:
        raise ValidationError(
            tr("Unknown status {status}: use one of {states}.", status=status, states=", ".join(STATUSES)),
            {"status": status},
        )
    with db.read() as s:
        query = select(QuarantinedItem).order_by(QuarantinedItem.id)
        if status is not None:
            query = query.where(QuarantinedItem.status == status)
        if source is not None:
            query = query.where(QuarantinedItem.source == source)
        return [as_dict(r) for r in s.scalars(query)]


def get_item(db: Database, item_id: int) -> dict[str, Any]:
    """One quarantined item with its payload.

    Raises:
        NotFoundError: no such item.
    """
    with db.read() as s:
        row = s.get(QuarantinedItem, item_id)
        if row is None:
            raise NotFoundError(tr("There is no quarantined item {id}.", id=item_id))
        return as_dict(row, payload=True)


def _open_row(db: Database, item_id: int) -> QuarantinedItem:
    with db.read() as s:
        row = s.get(QuarantinedItem, item_id)
    if row is None:
        raise NotFoundError(tr("There is no quarantined item {id}.", id=item_id))
    if row.status != "open":
        raise ValidationError(
            tr("Quarantined item {id} is already {status}.", id=item_id, status=row.status), {"status": row.status}
        )
    return row


def _source(row: QuarantinedItem, settings: Settings | None) -> Source:
    config = settings.source(row.source) if settings else None
    if config is None or config.kind != row.source_kind:
        config = SourceConfig(name=row.source, kind=row.source_kind, url="")
    return build_source(config)


def _update(db: Database, item_id: int, by: Actor, **values: Any) -> None:
    with db.write() as s:
        row = s.get(QuarantinedItem, item_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        if values.get("status") in ("reprocessed", "discarded"):
            row.decided_by, row.decided_at = by.name, utcnow()
    notify("quarantine", [item_id])


def _still_bad(db: Database, item_id: int, by: Actor, payload: str, reason: str, edited: bool) -> Reprocessed:
    values: dict[str, Any] = {"reason": reason}
    if edited:
        values.update(payload=payload, payload_hash=digest(payload), note=tr("payload edited by {user}", user=by.name))
    _update(db, item_id, by, **values)
    return Reprocessed(False, reason=reason)


def reprocess(
    db: Database, by: Actor, item_id: int, payload: str | None = None, settings: Settings | None = None
) -> Reprocessed:
    """Import a quarantined item again, from its kept payload or an edited one.

    If it still cannot be imported, it stays open with the new reason (and the edited payload).

    Raises:
        NotFoundError: no such item.
        ValidationError: the item is not open any more.
        PermissionDeniedError: the actor may not do this.
    """
    by.require(ROLES, tr("reprocess quarantined items"))
    row = _open_row(db, item_id)
    edited = payload is not None and payload != row.payload
    text = payload if payload is not None else row.payload
    source = _source(row, settings)
    note = tr("payload edited by {user}", user=by.name) if edited else row.note
    extra: dict[str, Any] = {"payload": text, "payload_hash": digest(text), "note": note} if edited else {"note": note}
    if row.kind == "page":
        try:
            page = source.parse_page(text)
        except PageError as exc:
            return _still_bad(db, item_id, by, text, exc.message, edited)
        move = None
        if isinstance(source, CursorSource) and page.next_cursor and ingest.read_cursor(db, row.source) == row.cursor:
            move = CursorMove(row.cursor, page.next_cursor)
        try:
            stored = source.store(db, page.items, move)
        except ingest.CursorMovedError:
            stored = source.store(db, page.items)
        cases = stored.ids("created") + stored.ids("existing") + stored.ids("updated")
        _update(db, item_id, by, status="reprocessed", **extra)
        return Reprocessed(True, cases, quarantined=stored.ids("quarantined"))
    item = source.parse_item(text)
    if not item.ok:
        return _still_bad(db, item_id, by, text, item.reason or "", edited)
    stored = source.store(db, [item], quarantine=False)
    outcome = stored.outcomes[0]
    if outcome.status == "quarantined":
        return _still_bad(db, item_id, by, text, outcome.reason or "", edited)
    case_id = (
        outcome.id
        if outcome.status in ("created", "existing", "updated") and row.source_kind != "unit_responses"
        else None
    )
    _update(db, item_id, by, status="reprocessed", case_id=case_id, **extra)
    return Reprocessed(True, [case_id] if case_id else [], reason=outcome.reason or "")


def discard(db: Database, by: Actor, item_id: int, note: str = "") -> None:
    """Set a quarantined item aside for good (it stays in the table, marked discarded).

    Raises:
        NotFoundError, ValidationError, PermissionDeniedError.
    """
    by.require(ROLES, tr("discard quarantined items"))
    _open_row(db, item_id)
    _update(db, item_id, by, status="discarded", note=note.strip())
