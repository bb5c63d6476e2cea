"""Reading cases: one case with its history, and filtered lists, as plain dictionaries.

Times come out as ISO 8601 in the district's timezone; ``overdue`` is derived at read time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import State
from workstation.i18n import channel_label, state_label, tr
from workstation.models import Case, CaseEvent, CaseUnit, Community, ExtensionRequest, Grid, Street
from workstation.services.calendar import calendar_from
from workstation.services.errors import NotFoundError, ValidationError
from workstation.services.lifecycle import is_overdue
from workstation.services.search import case_search
from workstation.storage.db import Database

STATES = [s.value for s in State]


def _iso(value: datetime | None, tz: tzinfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def _select() -> Any:
    return (
        select(Case, Grid.name, Community.name, Street.name)
        .outerjoin(Grid, Grid.code == Case.grid_code)
        .outerjoin(Community, Community.code == Case.community_code)
        .outerjoin(Street, Street.code == Case.street_code)
    )


def _row(
    case: Case, grid: str | None, community: str | None, street: str | None, tz: tzinfo, now: datetime | None = None
) -> dict[str, Any]:
    return {
        "id": case.id,
        "version": case.version,
        "status": case.status,
        "status_label": state_label(case.status),
        "priority": case.priority,
        "channel": case.channel,
        "channel_label": channel_label(case.channel),
        "external_id": case.external_id,
        "text": case.text,
        "address": case.address,
        "lon": case.lon,
        "lat": case.lat,
        "grid": case.grid_code,
        "grid_name": grid,
        "community": community,
        "street": street,
        "reporter_name": case.reporter_name,
        "reporter_phone": case.reporter_phone,
        "photos": case.photos,
        "received": _iso(case.received_at, tz),
        "category_code": case.category_code,
        "category_name": case.category_name,
        "category_major": case.category_major,
        "time_limit": case.time_limit,
        "closure_standard": case.closure_standard,
        "unit_code": case.unit_code,
        "unit_name": case.unit_name,
        "filed": _iso(case.filed_at, tz),
        "dispatched": _iso(case.dispatched_at, tz),
        "deadline": _iso(case.deadline_at, tz),
        "overdue": is_overdue(case.status, case.deadline_at, now),
        "handled": _iso(case.handled_at, tz),
        "closed": _iso(case.closed_at, tz),
        "result": case.result_text,
        "merged_into": case.merged_into_id,
        "supervised": _iso(case.supervised_at, tz),
        "source_service": case.source_service,
        "last_actor": case.last_actor,
    }


def who_acted(actor: str, details: dict[str, Any]) -> str:
    """Who an event names: the user, or "recorded by the user for the unit" for a unit's phoned-in answer."""
    name = tr("system") if actor == "system" else actor
    unit = details.get("for_unit_name") or details.get("for_unit")
    return tr("recorded by {actor} for {unit}", actor=name, unit=unit) if unit else name


def _history(s: Session, case_id: int, tz: tzinfo) -> list[dict[str, Any]]:
    events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    return [
        {
            "at": _iso(e.at, tz),
            "actor": e.actor,
            "who": who_acted(e.actor, e.details),
            "role": e.actor_role,
            "action": e.action,
            "from": e.from_state,
            "to": e.to_state,
            "reason": e.reason,
            "details": {k: v for k, v in e.details.items() if k != "before"},
        }
        for e in events
    ]


def get_case(db: Database, case_id: int, history: bool = True) -> dict[str, Any]:
    """One case with its history, co-units and extension requests.

    Raises:
        NotFoundError: no such case.
    """
    with db.read() as s:
        tz = calendar_from(s).tz
        row = s.execute(_select().where(Case.id == case_id)).first()
        if row is None:
            raise NotFoundError(tr("There is no case {id}.", id=case_id))
        out = _row(row[0], row[1], row[2], row[3], tz)
        out["co_units"] = [
            {"code": u.unit_code, "name": u.unit_name, "added": _iso(u.added_at, tz), "by": u.added_by}
            for u in s.scalars(select(CaseUnit).where(CaseUnit.case_id == case_id).order_by(CaseUnit.id))
        ]
        out["extensions"] = [
            {
                "limit": r.time_limit,
                "reason": r.reason,
                "status": r.status,
                "requested_by": r.requested_by,
                "decided_by": r.decided_by,
                "new_deadline": _iso(r.new_deadline_at, tz),
            }
            for r in s.scalars(
                select(ExtensionRequest).where(ExtensionRequest.case_id == case_id).order_by(ExtensionRequest.id)
            )
        ]
        if history:
            out["history"] = _history(s, case_id, tz)
        return out


def iter_cases(
    db: Database, status: str | None = None, history: bool = False, batch: int = 500, search: str = ""
) -> Iterator[dict[str, Any]]:
    """Every case (optionally of one status, or matching a search text as ``/`` does), oldest first, in batches.

    Raises:
        ValidationError: unknown status.
    """
    if status is not None and status not in STATES:
        raise ValidationError(
            tr("Unknown status {status}: use one of {states}.", status=status, states=", ".join(STATES)),
            {"status": status},
        )
    found = case_search(search)
    after = 0
    while True:
        with db.read() as s:
            tz = calendar_from(s).tz
            query = _select().where(Case.id > after).order_by(Case.id).limit(batch)
            if status is not None:
                query = query.where(Case.status == status)
            if found is not None:
                query = query.where(found)
            rows = s.execute(query).all()
            out = []
            for row in rows:
                item = _row(row[0], row[1], row[2], row[3], tz)
                if history:
                    item["history"] = _history(s, row[0].id, tz)
                out.append(item)
        yield from out
        if len(rows) < batch:
            return
        after = rows[-1][0].id
