"""The editable table that maps each source's service codes to catalogue categories.

Every service code a source mentions (in its services list or in a request) gets a row, with no
category until someone sets one: reports with such a code enter the queue uncategorised, keeping the
source's own service name. Setting the mapping makes later reports of that code arrive categorised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.intake.items import clip
from workstation.models import Category, ServiceMapping, utcnow
from workstation.services.actors import SYSTEM, Actor
from workstation.services.errors import ValidationError
from workstation.services.notices import notify
from workstation.storage.db import Database


def _category(db: Database, code: str | None) -> str | None:
    if code in (None, ""):
        return None
    with db.read() as s:
        cat = s.get(Category, str(code).strip())
        if cat is None or not cat.active:
            raise ValidationError(tr("Unknown category {code}.", code=code), {"category": tr("unknown")})
        return cat.code


def _upsert(db: Database, source: str, rows: Iterable[tuple[str, str | None, str | None, bool]], by: str) -> int:
    """(code, name or None, category or None, set category?) rows; returns how many rows were new."""
    wanted = list(rows)
    for attempt in range(3):
        try:
            created = 0
            with db.write() as s:
                existing = {
                    m.service_code: m for m in s.scalars(select(ServiceMapping).where(ServiceMapping.source == source))
                }
                now = utcnow()
                for code, name, category, set_category in wanted:
                    row = existing.get(code)
                    if row is None:
                        row = ServiceMapping(
                            source=source, service_code=code, service_name="", updated_by=by, updated_at=now
                        )
                        s.add(row)
                        existing[code] = row
                        created += 1
                    if name:
                        row.service_name = clip(name, 200)
                    if set_category:
                        row.category_code = category
                        row.updated_by, row.updated_at = by, now
            return created
        except IntegrityError:
            if attempt == 2:
                raise
    return 0


def set_mapping(
    db: Database, by: Actor, source: str, service_code: str, category_code: str | None, service_name: str | None = None
) -> None:
    """Map a source's service code to a category (None: uncategorised again).

    Raises:
        PermissionDeniedError: not an administrator or shift lead.
        ValidationError: unknown category, or no code.
    """
    by.require([Role.ADMIN, Role.LEAD, Role.SYSTEM], tr("edit the service mappings"))
    code = str(service_code).strip()
    if not code:
        raise ValidationError(tr("Name the service code."), {"service_code": tr("required")})
    category = _category(db, category_code)
    _upsert(db, source, [(code, service_name, category, True)], by.name)
    notify("service_mapping", [])


def record_services(db: Database, source: str, services: Iterable[tuple[str, str]]) -> int:
    """Record a source's service list (codes and names); categories already set are kept."""
    return _upsert(db, source, [(code, name, None, False) for code, name in services], SYSTEM.name)


def seed_mappings(db: Database, source: str, mapping: Mapping[str, str | None], by: Actor = SYSTEM) -> None:
    """Set categories from a settings file for codes that have none yet (edits made in the table win).

    Raises:
        ValidationError: unknown categories, named.
    """
    with db.read() as s:
        current = {
            m.service_code: m.category_code
            for m in s.scalars(select(ServiceMapping).where(ServiceMapping.source == source))
        }
    todo = {str(k): v for k, v in mapping.items() if v and current.get(str(k)) is None}
    if todo:
        apply_map(db, by, source, todo)


def apply_map(db: Database, by: Actor, source: str, mapping: Mapping[str, str | None]) -> int:
    """Set many mappings at once (a service-map file); returns how many codes were new.

    Raises:
        ValidationError: unknown categories, each named.
    """
    by.require([Role.ADMIN, Role.LEAD, Role.SYSTEM], tr("edit the service mappings"))
    with db.read() as s:
        known = {c.code for c in s.scalars(select(Category).where(Category.active.is_(True)))}
    bad = {
        str(code): tr("unknown category {code}", code=cat) for code, cat in mapping.items() if cat and cat not in known
    }
    if bad:
        raise ValidationError(
            tr(
                "The service map names unknown categories: {codes}",
                codes=", ".join(f"{k} -> {mapping[k]}" for k in bad),
            ),
            bad,
        )
    return _upsert(db, source, [(str(code).strip(), None, cat or None, True) for code, cat in mapping.items()], by.name)


def load_map_file(path: str | Path) -> dict[str, str | None]:
    """A service-map file: ``{"001": "0101", ...}`` or ``[{"service_code": ..., "category_code": ...}, ...]``.

    Raises:
        ValidationError: unreadable or not of that shape.
    """
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(
            tr("Cannot read the service map {path}: {reason}", path=path, reason=exc), {"file": str(path)}
        ) from None
    if isinstance(data, list):
        out: dict[str, str | None] = {}
        for entry in data:
            if not isinstance(entry, Mapping) or entry.get("service_code") in (None, ""):
                raise ValidationError(tr("Each entry of the service map needs a service_code."), {"file": str(path)})
            out[str(entry["service_code"])] = entry.get("category_code") or None
        return out
    if isinstance(data, Mapping):
        return {str(k): (str(v) if v else None) for k, v in data.items()}
    raise ValidationError(tr("The service map must be a JSON object or list."), {"file": str(path)})


def list_mappings(db: Database, source: str | None = None) -> list[dict[str, Any]]:
    """Every mapping row (of one source), unmapped codes included."""
    with db.read() as s:
        query = select(ServiceMapping).order_by(ServiceMapping.source, ServiceMapping.service_code)
        if source:
            query = query.where(ServiceMapping.source == source)
        return [
            {
                "source": m.source,
                "service_code": m.service_code,
                "service_name": m.service_name,
                "category_code": m.category_code,
                "updated_by": m.updated_by,
            }
            for m in s.scalars(query)
        ]
