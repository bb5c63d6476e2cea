"""Responses from the units' systems, applied through the same lifecycle services as the window.

A response (JSON object)::

    {
      "response_id": "CG-20260604-0007",   // required, unique per unit system: the idempotency key
      "case_id": 42,                       // from the dispatch order ("respond.case_id")
      "unit": "CG",                        // the unit the order was sent to
      "type": "acknowledge",               // acknowledge | return | extension | handled
      "at": "2026-06-04T11:00:00+08:00",   // when the unit did it (optional; with offset)
      "reason": "…",                       // return and extension: required
      "limit": "2wd",                      // extension: the extra time asked for
      "result": "…",                       // handled: what was done (required)
      "photos": ["https://…"],             // handled: photo references (optional)
      "by": "王五"                          // who at the unit (optional, kept)
    }

Each response id is remembered with its outcome (``unit_responses``): ``applied`` (recorded in the
same transaction as the action it caused), ``ignored`` (harmless and late: an acknowledgement of a
case the unit already reported as handled, a repeated "handled") or ``refused`` (incompatible with
the case as it is now: the reason says why). Applying the same response again changes nothing and
returns the remembered outcome. Responses may arrive in any order: "handled" is applied even when
no acknowledgement came first, because the lifecycle allows it.

A unit without a system phones its answer in: ``record_for_unit`` checks it the same way and applies
it through the same lifecycle calls, as the seat's user on the unit's behalf; the history keeps both.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import Role, State
from workstation.i18n import state_label, tr
from workstation.intake.formats import clean_text, clean_value
from workstation.intake.items import clip
from workstation.intake.messages import unit_system_name
from workstation.models import Case, CaseEvent, Unit, UnitResponse, utcnow
from workstation.services import lifecycle as lc
from workstation.services.actors import Actor
from workstation.services.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from workstation.services.reports import plausible_time, unstorable
from workstation.storage.db import Database

TYPES = ("acknowledge", "return", "extension", "handled")
_LATE = {
    "acknowledge": frozenset({State.IN_PROGRESS, State.HANDLED, State.VERIFYING, State.CLOSED}),
    "handled": frozenset({State.HANDLED, State.VERIFYING, State.CLOSED}),
}


@dataclass(frozen=True)
class ResponseResult:
    """What became of a response."""

    response_id: str
    outcome: str
    reason: str
    case_id: int | None
    event_id: int | None = None
    duplicate: bool = False


@dataclass
class _Pending:
    row: UnitResponse
    event_id: int | None = None


_current: ContextVar[_Pending | None] = ContextVar("unit_response", default=None)


def record_in_transaction(s: Session, case: Case, event: CaseEvent) -> None:
    """The lifecycle hook: remember the response being applied, in the action's own transaction."""
    pending = _current.get()
    if pending is None or pending.row.case_id != case.id:
        return
    pending.row.event_id = pending.event_id = event.id
    s.add(pending.row)
    s.flush()


def install() -> None:
    """Register the hook (once)."""
    if record_in_transaction not in lc.after_transition:
        lc.after_transition.append(record_in_transaction)


def _stored(db: Database, response_id: str) -> ResponseResult | None:
    with db.read() as s:
        row = s.get(UnitResponse, response_id)
        if row is None:
            return None
        return ResponseResult(row.response_id, row.outcome, row.reason, row.case_id, row.event_id, duplicate=True)


MAX_ID = 2**31 - 1  # the largest id every database stores in an INTEGER column


def _check(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    kind = payload.get("type")
    if kind not in TYPES:
        errors["type"] = tr("one of: {codes}", codes=", ".join(TYPES))
    out["type"] = clean_text(str(kind))[:20] if kind is not None else ""
    case_id = payload.get("case_id")
    if isinstance(case_id, str) and case_id.strip().isdigit() and len(case_id.strip()) <= 18:
        case_id = int(case_id)
    if isinstance(case_id, bool) or not isinstance(case_id, int) or not 1 <= case_id <= MAX_ID:
        errors["case_id"] = tr("required: the case id of the dispatch order")
        case_id = None
    out["case_id"] = case_id
    unit = payload.get("unit")
    if not isinstance(unit, str) or not unit.strip() or len(unit) > 40 or unstorable(unit, True):
        errors["unit"] = tr("required: the unit code")
        unit = ""
    out["unit"] = unit.strip()
    out["at"] = None
    if payload.get("at") not in (None, ""):
        try:
            out["at"] = plausible_time(payload.get("at"), utcnow())
        except ValueError as exc:
            errors["at"] = str(exc)
    for key in ("reason", "result", "limit", "by"):
        value = payload.get(key)
        if value is not None and not isinstance(value, str):
            errors[key] = tr("must be text")
        elif isinstance(value, str) and (len(value) > 5000 or unstorable(value)):
            errors[key] = unstorable(value) or tr("at most {n} characters", n=5000)
            value = None
        out[key] = (value or "").strip() if isinstance(value, str) else ""
    photos = payload.get("photos") or []
    if not isinstance(photos, list) or not all(isinstance(p, str) and not unstorable(p, True) for p in photos):
        errors["photos"] = tr("a list of photo references (text)")
        photos = []
    out["photos"] = photos
    if kind in ("return", "extension") and not out["reason"]:
        errors["reason"] = tr("required")
    if kind == "extension" and not out["limit"]:
        errors["limit"] = tr("required: the extra time asked for (e.g. 2wd)")
    if kind == "handled" and not out["result"]:
        errors["result"] = tr("required: what was done")
    return out, errors


def _record(db: Database, row: UnitResponse) -> ResponseResult:
    try:
        with db.write() as s:
            s.add(row)
    except IntegrityError:
        found = _stored(db, row.response_id)
        if found is None:
            raise
        return found
    return ResponseResult(row.response_id, row.outcome, row.reason, row.case_id)


def _apply(db: Database, actor: Actor, data: dict[str, Any], **options: Any) -> lc.Outcome:
    case_id = data["case_id"]
    if data["type"] == "acknowledge":
        return lc.acknowledge(db, actor, case_id, **options)
    if data["type"] == "return":
        return lc.return_case(db, actor, case_id, data["reason"], **options)
    if data["type"] == "extension":
        return lc.request_extension(db, actor, case_id, data["limit"], data["reason"], **options)
    return lc.handle(db, actor, case_id, data["result"], data["photos"], **options)


def record_for_unit(
    db: Database,
    by: Actor,
    case_id: int,
    kind: str,
    *,
    unit: str | None = None,
    reason: str = "",
    result: str = "",
    photos: list[str] | None = None,
    limit: str = "",
    expected_version: int | None = None,
) -> lc.Outcome:
    """A seat records the answer a unit phoned in (签收, 退回, 延期, 处置反馈) on the unit's behalf.

    Checked like a response from a unit's system and applied through the same lifecycle call; the
    event's actor is the seat's user and its details name the unit (``for_unit``).

    Args:
        db: the database.
        by: the seat's user (operator, shift lead or trainer).
        case_id: the case.
        kind: acknowledge, return, extension or handled.
        unit: the unit that answered (default: the case's unit).
        reason: return and extension: why.
        result: handled: what was done.
        photos: handled: photo references.
        limit: extension: the extra time asked for.
        expected_version: the version the seat saw.

    Raises:
        ValidationError: a missing reason or result, or a unit not on the case, each named.
        NotFoundError, PermissionDeniedError, InvalidTransitionError, ConflictError: as the lifecycle.
    """
    if unit is None:
        with db.read() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotFoundError(tr("There is no case {id}.", id=case_id))
            unit = case.unit_code or ""
    payload = {"type": kind, "case_id": case_id, "unit": unit, "reason": reason, "result": result, "limit": limit}
    data, errors = _check({**payload, "photos": list(photos or [])})
    if errors:
        raise ValidationError("; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
    return _apply(db, by, data, expected_version=expected_version, for_unit=data["unit"])


def _state(db: Database, case_id: int) -> str | None:
    with db.read() as s:
        case = s.get(Case, case_id)
        return case.status if case else None


def apply_unit_response(db: Database, payload: Mapping[str, Any], *, attempts: int = 3) -> ResponseResult:
    """Apply one unit response (see the module docstring); safe to call again with the same one.

    Raises:
        ValidationError: no response_id (nothing to remember it by), or not a JSON object.
        ConflictError: the case kept changing under it; try again later (nothing was recorded).
    """
    if not isinstance(payload, Mapping):
        raise ValidationError(tr("A unit response must be a JSON object."), {"response": tr("must be a JSON object")})
    rid = payload.get("response_id")
    if isinstance(rid, int) and not isinstance(rid, bool):
        rid = str(rid)
    if not isinstance(rid, str) or not rid.strip() or len(rid.strip()) > 100 or unstorable(rid, True):
        raise ValidationError(
            tr("A unit response needs a response_id (text, at most 100 characters)."), {"response_id": tr("required")}
        )
    rid = rid.strip()
    known = _stored(db, rid)
    if known is not None:
        return known
    data, errors = _check(payload)
    row = UnitResponse(
        response_id=rid,
        unit_code=data["unit"][:40],
        case_id=data["case_id"],
        type=data["type"],
        responded_at=data["at"],
        received_at=utcnow(),
        outcome="refused",
        reason="",
        payload=clean_value(dict(payload)),
    )
    if errors:
        row.reason = "; ".join(f"{k}: {v}" for k, v in errors.items())
        return _record(db, row)
    with db.read() as s:
        unit = s.get(Unit, data["unit"])
    if unit is None:
        row.reason = tr("unknown unit {unit}", unit=data["unit"])
        return _record(db, row)
    actor = Actor(
        unit_system_name(unit.code), Role.UNIT.value, unit_code=unit.code, display_name=data["by"] or unit.name
    )
    for attempt in range(1, attempts + 1):
        row.outcome = "applied"
        pending = _Pending(row)
        token = _current.set(pending)
        try:
            outcome = _apply(db, actor, data)
        except IntegrityError:
            found = _stored(db, rid)  # the same response applied at the same moment elsewhere
            if found is None:
                raise
            return found
        except InvalidTransitionError as exc:
            state = _state(db, data["case_id"]) or ""
            if state in _LATE.get(data["type"], ()):
                row.outcome = "ignored"
                row.reason = tr("arrived late: the case is already {state}", state=state_label(state))
            else:
                row.outcome, row.reason = "refused", exc.message
            return _record(db, row)
        except (ValidationError, PermissionDeniedError, NotFoundError) as exc:
            row.outcome, row.reason = "refused", clip(exc.message, 2000)
            return _record(db, row)
        except ConflictError:
            if attempt == attempts:
                raise
            continue
        finally:
            _current.reset(token)
        return ResponseResult(rid, "applied", "", outcome.case_id, outcome.event_id)
    raise AssertionError("unreachable")
