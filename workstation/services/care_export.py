"""Exporting the visit ledger (走访台账) as an .xlsx spreadsheet: one row per visit, oldest first.

Masked like every other read, unless the exporting user may see clear values (shift lead,
administrator, or the station of that community) and gives a reason; that export is recorded in
the reveal audit before the file is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from sqlalchemy import select

from workstation.domain.care import AREAS, MODES
from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.models import CareGroup, CareMembership, CarePerson, CareVisit, CareVisitNeed, Community, Grid, utcnow
from workstation.services.actors import Actor
from workstation.services.calendar import calendar_from
from workstation.services.care_privacy import (
    audit,
    person_fields,
    require_reveal,
    resolve_community,
    scope_filter,
    visit_fields,
)
from workstation.services.errors import ValidationError
from workstation.services.export_cells import xlsx_row
from workstation.storage.db import Database

LEDGER: Final = (
    N_("Visited at"),
    N_("Name"),
    N_("Gender"),
    N_("Identity number"),
    N_("Phone"),
    N_("Address"),
    N_("Community"),
    N_("Grid"),
    N_("Groups"),
    N_("Visitor"),
    N_("Mode"),
    N_("Met"),
    *AREAS.values(),
    N_("Needs"),
    N_("Cases"),
    N_("Next visit"),
    N_("Note"),
)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    rows: int
    revealed: bool


def export_ledger(
    db: Database,
    by: Actor,
    path: str | Path,
    *,
    community: str | None = None,
    since: date | None = None,
    until: date | None = None,
    reveal_reason: str | None = None,
) -> ExportResult:
    """Write the visit ledger (走访台账) as .xlsx: one row per visit, oldest first.

    Masked like every other read, unless ``reveal_reason`` is given: then the actor must be allowed
    to see clear values (shift lead, administrator, or the station of that community) and the
    export is recorded in the reveal audit (before the file is written).

    Raises:
        PermissionDeniedError: the role may not read the roster, another community, or no right to
            clear values.
        ValidationError: unknown community, empty reason, or the file cannot be written.
    """
    path = Path(path)
    with db.write() as s:
        code = resolve_community(s, by, community, tr("export the visit ledger"))
        clear = reveal_reason is not None
        reason = require_reveal(by, code, reveal_reason or "") if clear else ""
        tz = calendar_from(s).tz
        today = utcnow().astimezone(tz).date()
        people = [scope_filter(by, tr("export the visit ledger"))]
        if code:
            people.append(CarePerson.community_code == code)
        where = list(people)
        if since:
            where.append(CareVisit.visited_at >= datetime.combine(since, time(0), tzinfo=tz))
        if until:
            where.append(CareVisit.visited_at < datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz))
        rows = s.execute(
            select(CareVisit, CarePerson, Grid.name, Community.name)
            .join(CarePerson, CarePerson.id == CareVisit.person_id)
            .join(Grid, Grid.code == CarePerson.grid_code)
            .join(Community, Community.code == CarePerson.community_code)
            .where(*where)
            .order_by(CareVisit.visited_at, CareVisit.id)
        ).all()
        needs: dict[int, list[CareVisitNeed]] = {}
        for n in s.scalars(
            select(CareVisitNeed)
            .join(CareVisit, CareVisit.id == CareVisitNeed.visit_id)
            .join(CarePerson, CarePerson.id == CareVisit.person_id)
            .where(*where)
            .order_by(CareVisitNeed.visit_id, CareVisitNeed.seq)
        ):
            needs.setdefault(n.visit_id, []).append(n)
        groups: dict[int, list[tuple[CareMembership, str]]] = {}
        for m, name in s.execute(
            select(CareMembership, CareGroup.name)
            .join(CareGroup, CareGroup.code == CareMembership.group_code)
            .join(CarePerson, CarePerson.id == CareMembership.person_id)
            .where(*people)
            .order_by(CareMembership.group_code)
        ):
            groups.setdefault(m.person_id, []).append((m, name))
        lines = []
        for visit, person, grid_name, community_name in rows:
            p = person_fields(person, today, clear=clear)
            v = visit_fields(visit, needs.get(visit.id, []), tz, minor=p["minor"], clear=clear)
            day = visit.visited_at.astimezone(tz).date()
            names = [n for m, n in groups.get(person.id, []) if m.since <= day and (m.until is None or day <= m.until)]
            obs = [v["observations"].get(area) for area in AREAS]
            lines.append(
                [
                    visit.visited_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    p["name"],
                    {"male": "男", "female": "女"}.get(person.gender, ""),
                    p["id_number"],
                    p["phone"],
                    p["address"],
                    community_name,
                    grid_name,
                    "、".join(names),
                    v["visitor"],
                    tr(MODES.get(visit.mode, visit.mode)),
                    tr("yes") if visit.met else tr("no"),
                    *[_observation(o) for o in obs],
                    "；".join(n["text"] for n in v["needs"]),
                    "、".join(str(n["case_id"]) for n in v["needs"] if n["case_id"]),
                    (v["next_due"] or "")[:10],
                    v["note"],
                ]
            )
        if clear:
            person_ids = sorted({r[1].id for r in rows})
            audit(
                s,
                by,
                None,
                "ledger",
                reason,
                {"rows": len(lines), "people": person_ids, "community": code, "file": path.name},
            )
    _write_xlsx(path, [tr(h) for h in LEDGER], lines)
    return ExportResult(path, len(lines), clear)


def _observation(obs: Mapping[str, Any] | None) -> str:
    if not obs:
        return ""
    label = tr("ok") if obs.get("status") == "ok" else tr("concern")
    return f"{label}：{obs['note']}" if obs.get("note") else label


def _write_xlsx(path: Path, headers: list[str], lines: list[list[Any]]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(tr("Visit ledger"))
    sheet.append(xlsx_row(sheet, headers))
    for line in lines:
        sheet.append(xlsx_row(sheet, line))
    try:
        book.save(path)
    except OSError as exc:
        raise ValidationError(
            tr("Cannot write {path}: {reason}", path=path, reason=exc.strerror or exc), {"file": str(path)}
        ) from None
