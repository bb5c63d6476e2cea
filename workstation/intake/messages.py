"""The outbound messages one lifecycle event causes, and their bodies.

Unit webhooks (JSON, ``POST`` to the target's URL, header ``Idempotency-Key: <message_id>``)::

    {
      "message_id": "5b0c…",                 // also the Idempotency-Key header
      "type": "dispatch_order",              // or "withdrawal", "status_change"
      "unit": "CG",                          // the unit the message is for
      "case": {"id": 42, "version": 4, "status": "dispatched", "channel": "12345",
               "external_id": "…", "text": "…", "address": "…", "lon": 117.28, "lat": 31.74,
               "grid": "S13C01G01", "community": "S13C01", "street": "S13",
               "category": {"code": "0201", "name": "…", "major": "…"}, "time_limit": "2wh",
               "deadline_at": "…", "closure_standard": "…", "photos": [], "received_at": "…",
               "reporter": {"name": "…", "phone": "…"}},      // reporter: dispatch orders only
      "event": {"id": 77, "action": "dispatch", "from": "filed", "to": "dispatched",
                "at": "2026-06-04T02:30:00+00:00", "actor": "op1", "reason": "…"},
      "respond": {"case_id": 42, "unit": "CG"}   // what the unit's responses must name
    }

``dispatch_order`` goes to the unit a case is dispatched to (and to a co-unit when added);
``withdrawal`` to a unit a case is taken from (re-dispatch elsewhere, or an undone dispatch);
``status_change`` to the case's units on every later action that concerns them. Actions a unit's
own system reported (its responses) are not echoed back to that unit.

Open311 peers get the GeoReport "servicerequestupdates" form (``application/x-www-form-urlencoded``):
``service_request_id``, ``update_id`` (the message id), ``updated_datetime``, ``status`` (open or
closed), ``external_status_code`` (the workstation's state) and ``description``; the sender adds the
``api_key`` from the settings file.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import FINAL
from workstation.models import Case, CaseEvent, CaseUnit, OutboundTarget

UNIT_SYSTEM = "unit-system:"
# Actions that concern the units already working on a case.
UNIT_ACTIONS = frozenset(
    {
        "return",
        "acknowledge",
        "handle",
        "request_extension",
        "decide_extension",
        "verify",
        "close",
        "rework",
        "supervise",
        "suspend",
        "resume",
    }
)


def unit_system_name(unit_code: str) -> str:
    """The actor name under which a unit's own system acts."""
    return (UNIT_SYSTEM + unit_code)[:50]


@dataclass(frozen=True)
class Message:
    """One message to write to the outbox."""

    uuid: str
    target: OutboundTarget
    kind: str
    content_type: str
    body: dict[str, Any]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def case_body(case: Case, reporter: bool) -> dict[str, Any]:
    """The case as a unit system sees it."""
    body: dict[str, Any] = {
        "id": case.id,
        "version": case.version,
        "status": case.status,
        "channel": case.channel,
        "external_id": case.external_id,
        "text": case.text,
        "address": case.address,
        "lon": case.lon,
        "lat": case.lat,
        "grid": case.grid_code,
        "community": case.community_code,
        "street": case.street_code,
        "category": {"code": case.category_code, "name": case.category_name, "major": case.category_major},
        "time_limit": case.time_limit,
        "deadline_at": _iso(case.deadline_at),
        "closure_standard": case.closure_standard,
        "photos": list(case.photos or []),
        "received_at": _iso(case.received_at),
    }
    if reporter:
        body["reporter"] = {"name": case.reporter_name, "phone": case.reporter_phone}
    return body


def event_body(event: CaseEvent) -> dict[str, Any]:
    """The event as a unit system sees it."""
    return {
        "id": event.id,
        "action": event.action,
        "from": event.from_state,
        "to": event.to_state,
        "at": _iso(event.at),
        "actor": event.actor,
        "reason": event.reason,
    }


def _recipients(s: Session, case: Case, event: CaseEvent) -> list[tuple[str, str]]:
    """(unit code, message type) pairs for one event."""
    co = [u for u in s.scalars(select(CaseUnit.unit_code).where(CaseUnit.case_id == case.id))]
    out: list[tuple[str, str]] = []
    action = event.action
    if action == "dispatch":
        before = (event.details.get("before") or {}).get("unit_code")
        if case.unit_code:
            out.append((case.unit_code, "dispatch_order"))
        if before and before != case.unit_code:
            out.append((before, "withdrawal"))
        out.extend((u, "status_change") for u in co if u != case.unit_code)
    elif action == "add_unit":
        added = event.details.get("unit")
        if added:
            out.append((str(added), "dispatch_order"))
    elif action == "undo":
        undone = s.get(CaseEvent, event.details.get("undone") or 0)
        if undone is not None and undone.action == "dispatch" and undone.details.get("unit"):
            out.append((str(undone.details["unit"]), "withdrawal"))
        elif undone is not None and undone.action in UNIT_ACTIONS and case.unit_code:
            out.extend((u, "status_change") for u in [case.unit_code, *co])
    elif action in UNIT_ACTIONS and case.unit_code:
        out.extend((u, "status_change") for u in [case.unit_code, *co])
    seen: set[str] = set()
    unique = []
    for unit, kind in out:
        if unit not in seen and event.actor != unit_system_name(unit):
            seen.add(unit)
            unique.append((unit, kind))
    return unique


def for_event(s: Session, case: Case, event: CaseEvent, targets: Sequence[OutboundTarget]) -> list[Message]:
    """Every message this event causes, given the active targets."""
    messages: list[Message] = []
    hooks = [t for t in targets if t.kind == "webhook" and (not t.events or event.action in t.events)]
    if hooks:
        for unit, kind in _recipients(s, case, event):
            for target in hooks:
                if unit in (target.units or []):
                    mid = str(uuid.uuid4())
                    order: dict[str, Any] = {
                        "message_id": mid,
                        "type": kind,
                        "unit": unit,
                        "case": case_body(case, reporter=kind == "dispatch_order"),
                        "event": event_body(event),
                        "respond": {"case_id": case.id, "unit": unit},
                    }
                    messages.append(Message(mid, target, kind, "json", order))
    if case.channel == "OPEN311" and case.external_id and event.from_state != event.to_state:
        for target in targets:
            if target.kind != "open311" or not target.source or (target.events and event.action not in target.events):
                continue
            prefix = f"{target.source}:"
            if not case.external_id.startswith(prefix):
                continue
            mid = str(uuid.uuid4())
            reason = f": {event.reason}" if event.reason else ""
            body: dict[str, Any] = {
                "service_request_id": case.external_id[len(prefix) :],
                "update_id": mid,
                "updated_datetime": _iso(event.at),
                "status": "closed" if event.to_state in FINAL else "open",
                "external_status_code": event.to_state,
                "description": f"{event.action}{reason}"[:1000],
            }
            messages.append(Message(mid, target, "open311_update", "form", body))
    return messages
