"""Adding reports: one service for every source, idempotent on (channel, external id).

The same external id delivered again never makes a second case: an identical copy writes nothing; a
changed one updates the case while nobody has triaged it yet, and after triage is only recorded in
the case's history (the operators' decisions stand), each time as one ``report_update`` event.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.domain.channels import CHANNELS, normalise
from workstation.domain.geo import valid_point
from workstation.i18n import tr
from workstation.models import Case, CaseEvent, utcnow
from workstation.services import stats
from workstation.services.actors import SYSTEM, Actor
from workstation.services.errors import ConflictError, ValidationError
from workstation.services.notices import notify
from workstation.services.territory import (
    MARGIN_M,
    Bounds,
    Place,
    grid_at,
    grid_by_name_or_code,
    place_of,
    territory_bounds,
    within,
)
from workstation.storage.db import Database

FIELDS = (
    "channel",
    "external_id",
    "text",
    "address",
    "lon",
    "lat",
    "grid",
    "reporter_name",
    "reporter_phone",
    "received_at",
    "photos",
    "urgency",
)
PRIORITY = {"urgent": 1, "normal": 2, "low": 3}
# The case columns a report sets, compared when the same report is delivered again.
SOURCE_COLUMNS = (
    "text",
    "address",
    "lon",
    "lat",
    "grid_code",
    "community_code",
    "street_code",
    "reporter_name",
    "reporter_phone",
    "photos",
    "received_at",
    "priority",
)
# Columns the triage decides (filing sets the priority from the category): compared only before triage.
TRIAGED_COLUMNS = frozenset({"priority", "category_code", "category_name", "category_major"})
AFTER_TRIAGE = "the source sent a changed report after triage"


@dataclass(frozen=True)
class Added:
    """The outcome of adding one report (``updated``: a changed re-delivery was applied or recorded)."""

    case_id: int
    created: bool
    updated: bool = False


class CaseChangedError(ConflictError):
    """The case changed between reading it and updating it from a re-delivered report."""


def _plain(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def report_changes(
    current: Mapping[str, Any], new: Mapping[str, Any], status: str, recorded: Mapping[str, Any] | None = None
) -> dict[str, list[Any]]:
    """The columns a re-delivered report changes, as ``{column: [old, new]}`` (JSON-ready, times in ISO).

    Args:
        current: the case's stored columns.
        new: the columns the report gives (only these are compared).
        status: the case's state; after triage the columns the triage decides are not compared.
        recorded: after triage, the source's values already recorded by earlier ``report_update`` events
            (never written to the columns), so the same change is recorded once.
    """
    recorded = recorded or {}
    out: dict[str, list[Any]] = {}
    for key, value in new.items():
        if status != "reported" and key in TRIAGED_COLUMNS:
            continue
        old = _plain(recorded[key] if key in recorded else current.get(key))
        if old != _plain(value):
            out[key] = [old, _plain(value)]
    return out


def recorded_after_triage(s: Session, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """For triaged cases, the newest source values each ``report_update`` recorded without applying them."""
    out: dict[int, dict[str, Any]] = {}
    if not case_ids:
        return out
    rows = s.execute(
        select(CaseEvent.case_id, CaseEvent.details)
        .where(
            CaseEvent.case_id.in_(case_ids),
            CaseEvent.action == "report_update",
            CaseEvent.from_state != "reported",
        )
        .order_by(CaseEvent.id)
    )
    for case_id, details in rows:
        for key, (_, value) in (details or {}).get("changed", {}).items():
            out.setdefault(case_id, {})[key] = value
    return out


def update_from_report(
    s: Session,
    case_id: int,
    version: int,
    status: str,
    changed: Mapping[str, list[Any]],
    new: Mapping[str, Any],
    by: Actor,
    now: datetime,
) -> dict[str, Any]:
    """Apply (before triage) or record (after) a changed re-delivery: a guarded update and one event.

    Before triage the changed columns are written; after it only the version moves, so seats see the
    new event, and the triaged case keeps its values (and its last actor).

    Returns:
        The ``report_update`` event's row, to insert (in bulk or alone) in the same transaction.

    Raises:
        CaseChangedError: the case is no longer at ``version`` (nothing was written).
    """
    values: dict[str, Any] = {"version": version + 1}
    if status == "reported":
        values.update({key: new[key] for key in changed}, last_actor=by.name, last_action_at=now)
        stats.record_update(s, case_id, values, "report_update", now)
    result = s.execute(
        update(Case)
        .where(Case.id == case_id, Case.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CaseChangedError(tr("Case {id} changed meanwhile; the report update was not applied.", id=case_id))
    return {
        "case_id": case_id,
        "at": now,
        "actor": by.name,
        "actor_role": by.role,
        "action": "report_update",
        "from_state": status,
        "to_state": status,
        "reason": "" if status == "reported" else AFTER_TRIAGE,
        "details": {"changed": dict(changed), "version": version + 1},
    }


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError
    if isinstance(value, str) and len(value) > 40:
        raise ValueError
    number = float(value)  # OverflowError for a huge integer
    if math.isnan(number) or math.isinf(number):
        raise ValueError
    return number


@dataclass(frozen=True)
class TimeWindow:
    """The times a report may carry: not older than ``past``, not later than ``future`` from now."""

    past: timedelta = timedelta(days=3653)
    future: timedelta = timedelta(minutes=10)


WINDOW = TimeWindow()
# NUL, the other C0 controls but tab and line breaks, DEL, and lone surrogates (not Unicode at all).
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def unstorable(text: str, one_line: bool = False) -> str | None:
    """Why a text cannot be kept as it is (a NUL byte, a control character, a lone surrogate), or None."""
    found = (_BAD_IN_LINE if one_line else _BAD_IN_TEXT).search(text)
    if found is None:
        return None
    char = found.group(0)
    if "\ud800" <= char <= "\udfff":
        return tr("contains a lone surrogate (not valid Unicode)")
    return tr("contains a control character (U+{code:04X})", code=ord(char))


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time that carries its timezone.

    Raises:
        ValueError: with the reason (unreadable, or no timezone).
    """
    if isinstance(value, datetime):
        parsed = value
    else:
        if not isinstance(value, str) or len(value) > 60 or unstorable(value, True):
            raise ValueError(tr("not an ISO 8601 time (e.g. 2026-06-04T10:19:00+08:00)"))
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(tr("not an ISO 8601 time (e.g. 2026-06-04T10:19:00+08:00)")) from None
    if parsed.tzinfo is None:
        raise ValueError(tr("has no timezone (add +08:00)"))
    return parsed


def plausible_time(value: Any, now: datetime, window: TimeWindow = WINDOW) -> datetime:
    """A report's time, read (``parse_time``) and within ``window`` around ``now``.

    Raises:
        ValueError: unreadable, no timezone, beyond what a database can store, or implausibly old or late.
    """
    parsed = parse_time(value)
    try:
        utc = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(tr("outside the range of times that can be stored")) from None
    if utc < now - window.past:
        raise ValueError(tr("more than {days} days ago: not a plausible time", days=window.past.days))
    if utc > now + window.future:
        raise ValueError(tr("in the future (later than now): not a plausible time"))
    return parsed


def _identifier(value: Any) -> tuple[str | None, str | None]:
    """An external id as text, and the reason it is not one."""
    if value is None or value == "":
        return None, None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None, tr("text or a whole number")
    if isinstance(value, int) and value.bit_length() > 330:
        return None, tr("at most 100 characters")
    text = str(value).strip()
    if not text:
        return None, None
    if len(text) > 100:
        return None, tr("at most 100 characters")
    problem = unstorable(text, True)
    return (None, problem) if problem else (text, None)


def check_point(clean: Mapping[str, Any], bounds: Bounds | None, margin_m: float = MARGIN_M) -> str | None:
    """Why a validated report's point is not a place in the territory (None: it is, or there is none)."""
    lon, lat = clean.get("lon"), clean.get("lat")
    if lon is None or lat is None or within(bounds, lon, lat, margin_m):
        return None
    return tr("({lon}, {lat}) lies outside the territory", lon=f"{lon:.6g}", lat=f"{lat:.6g}")


def validate(
    data: Mapping[str, Any], now: datetime | None = None, window: TimeWindow = WINDOW
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a report's fields; returns the clean values and the reason for each bad field.

    Every value is checked against what the database and the domain accept: times within ``window``
    around ``now``, ids as bounded text, no control characters or lone surrogates, real coordinates
    (the territory's bounds are checked where the database is at hand: ``check_point``).
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if not isinstance(data, Mapping):
        return clean, {"report": tr("must be a JSON object")}
    now = now or utcnow()
    unknown = sorted(set(map(str, data)) - set(FIELDS))
    if unknown:
        errors["fields"] = tr("unknown field(s): {names}", names=", ".join(n[:40] for n in unknown[:10]))
    raw_channel = data.get("channel")
    channel = normalise(raw_channel) if isinstance(raw_channel, str) and len(raw_channel) < 40 else None
    if channel is None:
        errors["channel"] = tr("one of: {codes}", codes=", ".join(CHANNELS))
    clean["channel"] = channel
    clean["external_id"], problem = _identifier(data.get("external_id"))
    if problem:
        errors["external_id"] = problem
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        errors["text"] = tr("required: what was reported")
    elif len(text) > 20_000:
        errors["text"] = tr("at most {n} characters", n=20_000)
    elif unstorable(text):
        errors["text"] = unstorable(text) or ""
    else:
        clean["text"] = text.strip()
    for key, limit in (("address", 300), ("reporter_name", 50), ("reporter_phone", 30)):
        value = data.get(key) or ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            errors[key] = tr("must be text")
            value = ""
        elif (isinstance(value, int) and value.bit_length() > 200) or len(str(value)) > limit:
            errors[key] = tr("at most {n} characters", n=limit)
            value = ""
        elif unstorable(str(value), True):
            errors[key] = unstorable(str(value), True) or ""
            value = ""
        clean[key] = str(value).strip()
    phone = clean.get("reporter_phone", "")
    if phone and not all(ch.isdigit() or ch in "+- ()" for ch in phone):
        errors["reporter_phone"] = tr("a phone number has digits only")
    try:
        lon, lat = _number(data.get("lon")), _number(data.get("lat"))
        if (lon is None) != (lat is None):
            errors["lon" if lon is None else "lat"] = tr("give both lon and lat, or neither")
        elif lon is not None and lat is not None and not valid_point(lon, lat):
            errors["lon"] = tr("not a longitude/latitude pair")
        clean["lon"], clean["lat"] = lon, lat
    except (TypeError, ValueError, OverflowError):
        errors["lon"] = tr("lon and lat must be numbers")
        clean["lon"] = clean["lat"] = None
    received = data.get("received_at")
    if received in (None, ""):
        errors["received_at"] = tr("required: when the report was received, with timezone")
    else:
        try:
            clean["received_at"] = plausible_time(received, now, window)
        except ValueError as exc:
            errors["received_at"] = str(exc)
    photos = data.get("photos") or []
    if (
        not isinstance(photos, list)
        or len(photos) > 50
        or not all(isinstance(p, str) and len(p) <= 1000 and not unstorable(p, True) for p in photos)
    ):
        errors["photos"] = tr("a list of photo references (text)")
    else:
        clean["photos"] = photos
    raw_urgency = data.get("urgency")
    urgency = raw_urgency.lower() if isinstance(raw_urgency, str) else "normal" if raw_urgency is None else ""
    if urgency not in PRIORITY:
        errors["urgency"] = tr("one of: {codes}", codes=", ".join(PRIORITY))
    clean["priority"] = PRIORITY.get(urgency, 2)
    grid = data.get("grid")
    clean["grid"] = None
    if grid not in (None, ""):
        if isinstance(grid, bool) or not isinstance(grid, str | int) or len(str(grid)) > 100:
            errors["grid"] = tr("a grid code or name")
        elif unstorable(str(grid), True):
            errors["grid"] = unstorable(str(grid), True) or ""
        else:
            clean["grid"] = str(grid).strip() or None
    return clean, errors


def new_case_values(clean: Mapping[str, Any], place: Place | None, by: Actor, now: datetime) -> dict[str, Any]:
    """The columns of a new case from a validated report (``validate``) and its place.

    Every path that creates cases (one report here, a batch in ``intake.ingest``) builds them here.
    """
    return {
        "channel": clean["channel"],
        "external_id": clean["external_id"],
        "text": clean["text"],
        "address": clean["address"],
        "lon": clean["lon"],
        "lat": clean["lat"],
        "grid_code": place.grid_code if place else None,
        "community_code": place.community_code if place else None,
        "street_code": place.street_code if place else None,
        "reporter_name": clean["reporter_name"],
        "reporter_phone": clean["reporter_phone"],
        "photos": clean["photos"],
        "received_at": clean["received_at"],
        "priority": clean["priority"],
        "status": "reported",
        "version": 1,
        "created_at": now,
        "last_actor": by.name,
        "last_action_at": now,
    }


def add_report(db: Database, data: Mapping[str, Any], by: Actor = SYSTEM) -> Added:
    """Add one report to the operator queue, or find the one already added with that external id.

    The grid is taken from ``grid`` (code or exact name) when given, else from the point.

    Raises:
        ValidationError: naming each bad field.
    """
    clean, errors = validate(data)
    place = None
    if clean.get("grid") or not errors:  # an unknown grid is named even when other fields are bad too
        with db.read() as s:
            grid = None
            if clean.get("grid"):
                grid = grid_by_name_or_code(s, clean["grid"])
                if grid is None:
                    errors["grid"] = tr("no grid with code or name {name}", name=clean["grid"])
            elif clean.get("lon") is not None and not errors:
                outside = check_point(clean, territory_bounds(s))
                if outside:
                    errors["lon"] = outside
                else:
                    grid = grid_at(s, clean["lon"], clean["lat"])
            place = place_of(s, grid.code if grid else None)
    if errors:
        raise ValidationError("; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
    if clean["external_id"] is not None:
        again = _again(db, clean, place, by)
        if again is not None:
            return again
    now = utcnow()
    try:
        with db.write() as s:
            row = new_case_values(clean, place, by, now)
            case = Case(**row)
            s.add(case)
            s.flush()
            stats.record_new(s, [row])
            s.add(
                CaseEvent(
                    case_id=case.id,
                    at=now,
                    actor=by.name,
                    actor_role=by.role,
                    action="report",
                    from_state=None,
                    to_state="reported",
                    details={"channel": clean["channel"], "external_id": clean["external_id"]},
                )
            )
            case_id = case.id
    except IntegrityError:
        again = _again(db, clean, place, by)
        if again is None:
            raise
        return again
    notify("case", [case_id])
    return Added(case_id, True)


def _again(db: Database, clean: Mapping[str, Any], place: Place | None, by: Actor, attempts: int = 3) -> Added | None:
    """The case already added with this report's external id, updated if the report changed (None: none).

    An identical copy is only read (no write transaction); a changed one is compared again and written
    under the version guard, retried if another seat changed the case in between.
    """
    values = new_case_values(clean, place, by, utcnow())
    new = {key: values[key] for key in SOURCE_COLUMNS}
    with db.read() as s:
        found = _compare(s, clean["channel"], clean["external_id"], new)
    if found is None:
        return None
    if not found[1]:
        return Added(found[0].id, False)
    for attempt in range(1, attempts + 1):
        now = utcnow()
        try:
            with db.write() as s:
                found = _compare(s, clean["channel"], clean["external_id"], new)
                if found is None:  # pragma: no cover - cases are never deleted
                    return None
                case, changed = found
                if not changed:
                    return Added(case.id, False)
                s.add(CaseEvent(**update_from_report(s, case.id, case.version, case.status, changed, new, by, now)))
                case_id = case.id
        except CaseChangedError:
            if attempt == attempts:
                raise
            continue
        notify("case", [case_id])
        return Added(case_id, False, True)
    return None  # pragma: no cover - the loop returns or raises


def _compare(
    s: Session, channel: str, external_id: str, new: Mapping[str, Any]
) -> tuple[Case, dict[str, list[Any]]] | None:
    case = s.scalar(select(Case).where(Case.channel == channel, Case.external_id == external_id))
    if case is None:
        return None
    current = {key: getattr(case, key) for key in SOURCE_COLUMNS}
    recorded = recorded_after_triage(s, [case.id]).get(case.id) if case.status != "reported" else None
    return case, report_changes(current, new, case.status, recorded)
