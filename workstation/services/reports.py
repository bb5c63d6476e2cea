"""Adding reports: one service for every source, idempotent on (channel, external id)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workstation.domain.channels import CHANNELS, normalise
from workstation.domain.geo import valid_point
from workstation.i18n import tr
from workstation.models import Case, CaseEvent, utcnow
from workstation.services.actors import SYSTEM, Actor
from workstation.services.errors import ValidationError
from workstation.services.notices import notify
from workstation.services.territory import Place, grid_at, grid_by_name_or_code, place_of
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


@dataclass(frozen=True)
class Added:
    """The outcome of adding one report."""

    case_id: int
    created: bool


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValueError
    return number


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time that carries its timezone.

    Raises:
        ValueError: with the reason (unreadable, or no timezone).
    """
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(tr("not an ISO 8601 time (e.g. 2026-06-04T10:19:00+08:00)")) from None
    if parsed.tzinfo is None:
        raise ValueError(tr("has no timezone (add +08:00)"))
    return parsed


def validate(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a report's fields; returns the clean values and the reason for each bad field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if not isinstance(data, Mapping):
        return clean, {"report": tr("must be a JSON object")}
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        errors["fields"] = tr("unknown field(s): {names}", names=", ".join(unknown))
    channel = normalise(str(data.get("channel") or ""))
    if channel is None:
        errors["channel"] = tr("one of: {codes}", codes=", ".join(CHANNELS))
    clean["channel"] = channel
    ext = data.get("external_id")
    clean["external_id"] = None if ext in (None, "") else str(ext).strip()
    if clean["external_id"] is not None and len(clean["external_id"]) > 100:
        errors["external_id"] = tr("at most 100 characters")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        errors["text"] = tr("required: what was reported")
    else:
        clean["text"] = text.strip()
    for key, limit in (("address", 300), ("reporter_name", 50), ("reporter_phone", 30)):
        value = data.get(key) or ""
        if not isinstance(value, str | int):
            errors[key] = tr("must be text")
        elif len(str(value)) > limit:
            errors[key] = tr("at most {n} characters", n=limit)
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
    except (TypeError, ValueError):
        errors["lon"] = tr("lon and lat must be numbers")
    received = data.get("received_at")
    if received in (None, ""):
        errors["received_at"] = tr("required: when the report was received, with timezone")
    else:
        try:
            clean["received_at"] = parse_time(received)
        except ValueError as exc:
            errors["received_at"] = str(exc)
    photos = data.get("photos") or []
    if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos):
        errors["photos"] = tr("a list of photo references (text)")
    else:
        clean["photos"] = photos
    urgency = str(data.get("urgency") or "normal").lower()
    if urgency not in PRIORITY:
        errors["urgency"] = tr("one of: {codes}", codes=", ".join(PRIORITY))
    clean["priority"] = PRIORITY.get(urgency, 2)
    grid = data.get("grid")
    clean["grid"] = str(grid).strip() if grid not in (None, "") else None
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
            elif clean["lon"] is not None:
                grid = grid_at(s, clean["lon"], clean["lat"])
            place = place_of(s, grid.code if grid else None)
    if errors:
        raise ValidationError("; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
    if clean["external_id"] is not None:
        existing = _existing(db, clean["channel"], clean["external_id"])
        if existing is not None:
            return Added(existing, False)
    now = utcnow()
    try:
        with db.write() as s:
            case = Case(**new_case_values(clean, place, by, now))
            s.add(case)
            s.flush()
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
        existing = _existing(db, clean["channel"], clean["external_id"])
        if existing is None:
            raise
        return Added(existing, False)
    notify("case", [case_id])
    return Added(case_id, True)


def _existing(db: Database, channel: str, external_id: str | None) -> int | None:
    if external_id is None:
        return None
    with db.read() as s:
        return s.scalar(select(Case.id).where(Case.channel == channel, Case.external_id == external_id))
