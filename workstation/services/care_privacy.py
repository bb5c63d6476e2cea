"""Who may see whom on the care roster, masking by default, and recorded reveals (PIPL Art. 28).

Station staff see only the people of their own community: every care service loads people through
:func:`load_person` or filters by :func:`community_scope`, so a person of another community is "not
found" for them. Desk roles (operator, shift lead, trainer, administrator) see everyone, the trainer only
in a demo database (:mod:`workstation.services.training`). Identity
numbers, phones, health notes and everything about minors are masked; :func:`reveal` shows one field
in clear to a shift lead, an administrator or the station of the person's own community, with a
reason, and appends a row to ``care_reveals`` (which the database keeps append-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, tzinfo
from typing import Any, Final

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from workstation.domain.care import is_minor
from workstation.domain.lifecycle import N_, Role
from workstation.domain.privacy import mask_id, mask_name, mask_phone
from workstation.i18n import tr
from workstation.models import CarePerson, CareReveal, CareVisit, CareVisitNeed, Community, utcnow
from workstation.services.actors import Actor
from workstation.services.calendar import calendar_from
from workstation.services.errors import NotFoundError, PermissionDeniedError, ValidationError
from workstation.services.training import require_demo_for_trainer
from workstation.storage.db import Database

READ_ROLES: Final = (Role.OPERATOR, Role.LEAD, Role.TRAINER, Role.ADMIN, Role.STATION)
WRITE_ROLES: Final = (Role.STATION, Role.LEAD, Role.ADMIN)
REVEAL_ROLES: Final = (Role.STATION, Role.LEAD, Role.ADMIN)
HIDDEN: Final = "***"
HIDDEN_DATE: Final = "****-**-**"

REVEALABLE: Final[dict[str, str]] = {
    "name": N_("name"),
    "id_number": N_("identity number"),
    "phone": N_("phone"),
    "birth_date": N_("birth date"),
    "address": N_("address"),
    "contacts": N_("contacts and guardians"),
    "notes": N_("notes"),
    "health_notes": N_("health notes"),
    "visits": N_("visit records"),
}


def community_scope(by: Actor, what: str, *, write: bool = False) -> str | None:
    """The one community the actor is confined to (station staff), or None for all.

    Raises:
        PermissionDeniedError: the role may not read (or, with ``write``, change) the roster.
    """
    by.require(WRITE_ROLES if write else READ_ROLES, what)
    if by.role == Role.STATION:
        if not by.community_code:
            raise PermissionDeniedError(tr("{user} belongs to no community.", user=by.name))
        return by.community_code
    return None


def scope_filter(by: Actor, what: str, *, write: bool = False) -> ColumnElement[bool]:
    """A WHERE clause on ``CarePerson`` that keeps the people the actor may see."""
    scope = community_scope(by, what, write=write)
    return CarePerson.community_code == scope if scope else true()


def check_community(by: Actor, community_code: str, what: str, *, write: bool = False) -> None:
    """Refuse a station user who names another community than their own.

    Raises:
        PermissionDeniedError: wrong role, or another community.
    """
    scope = community_scope(by, what, write=write)
    if scope is not None and scope != community_code:
        raise PermissionDeniedError(
            tr("{user} works for another community and may not {what} here.", user=by.name, what=what)
        )


def resolve_community(s: Session, by: Actor, community: str | None, what: str) -> str | None:
    """The code of the community named (code or name), checked against the actor's scope.

    Without a name: the station's own community, or None (every community) for desk roles.

    Raises:
        ValidationError: unknown community.
        PermissionDeniedError: the role may not read the roster, or a station user named another community.
    """
    scope = community_scope(by, what)
    require_demo_for_trainer(s, by, what)
    if not community:
        return scope
    code = s.scalar(select(Community.code).where((Community.code == community) | (Community.name == community)))
    if code is None:
        raise ValidationError(tr("Unknown community {name}.", name=community), {"community": tr("unknown community")})
    check_community(by, code, what)
    return code


def load_person(s: Session, by: Actor, person_id: int, what: str, *, write: bool = False) -> CarePerson:
    """The person, if the actor may see (or change) them.

    Raises:
        PermissionDeniedError: the role may not.
        NotFoundError: no such person, or one of another community for station staff.
    """
    scope = community_scope(by, what, write=write)
    require_demo_for_trainer(s, by, what)
    person = s.get(CarePerson, person_id)
    if person is None or (scope is not None and person.community_code != scope):
        raise NotFoundError(tr("There is no person {id} on your roster.", id=person_id))
    return person


def may_reveal(by: Actor, community_code: str | None) -> bool:
    """Whether the actor may see clear values of people of that community (None: of every community)."""
    if by.role in (Role.LEAD, Role.ADMIN):
        return True
    return by.role == Role.STATION and community_code is not None and by.community_code == community_code


def require_reveal(by: Actor, community_code: str | None, reason: str) -> str:
    """The stripped reason, once the actor is allowed to reveal.

    Raises:
        PermissionDeniedError: not allowed.
        ValidationError: no reason.
    """
    if not may_reveal(by, community_code):
        raise PermissionDeniedError(
            tr(
                "{user} ({role}) may not see personal information in clear; this needs a shift lead, an "
                "administrator or the station of the person's own community.",
                user=by.name,
                role=by.role,
            )
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(tr("Say why you need the clear value (a reason)."), {"reason": tr("required")})
    return reason


def audit(
    s: Session,
    by: Actor,
    person_id: int | None,
    field: str,
    reason: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one reveal to the audit (in the caller's transaction)."""
    s.add(
        CareReveal(
            at=utcnow(),
            actor=by.name,
            actor_role=by.role,
            person_id=person_id,
            field=field,
            reason=reason,
            details=dict(details or {}),
        )
    )


def masked_contacts(contacts: list[Any], minor: bool) -> list[dict[str, str]]:
    """Contacts with phones masked (and names too for a minor's guardians)."""
    out = []
    for c in contacts or []:
        name = str(c.get("name", ""))
        out.append(
            {
                "name": mask_name(name) if minor else name,
                "relation": str(c.get("relation", "")),
                "phone": mask_phone(str(c.get("phone", ""))),
            }
        )
    return out


def person_fields(person: CarePerson, today: date, *, clear: bool = False) -> dict[str, Any]:
    """The person's personal fields, masked unless ``clear``."""
    minor = is_minor(person.birth_date, today)
    birth = person.birth_date.isoformat() if person.birth_date else None
    if clear:
        return {
            "name": person.name,
            "id_number": person.id_number or "",
            "phone": person.phone,
            "birth_date": birth,
            "address": person.address,
            "contacts": [dict(c) for c in person.contacts or []],
            "notes": person.notes,
            "health_notes": person.health_notes,
            "minor": minor,
            "masked": False,
        }

    def hide(text: str) -> str:
        return HIDDEN if text else ""

    return {
        "name": mask_name(person.name) if minor else person.name,
        "id_number": mask_id(person.id_number),
        "phone": mask_phone(person.phone),
        "birth_date": (HIDDEN_DATE if birth else None) if minor else birth,
        "address": hide(person.address) if minor else person.address,
        "contacts": masked_contacts(person.contacts, minor),
        "notes": hide(person.notes) if minor else person.notes,
        "health_notes": hide(person.health_notes),
        "minor": minor,
        "masked": True,
    }


def visit_fields(
    visit: CareVisit, needs: list[CareVisitNeed], tz: tzinfo, *, minor: bool, clear: bool = False
) -> dict[str, Any]:
    """One visit as shown: health notes masked, and every note of a minor's visit, unless ``clear``."""

    def hide(text: str, sensitive: bool) -> str:
        return HIDDEN if text and sensitive and not clear else text

    observations = {
        area: {"status": obs.get("status"), "note": hide(str(obs.get("note", "")), minor or area == "health")}
        for area, obs in (visit.observations or {}).items()
    }
    return {
        "id": visit.id,
        "at": visit.visited_at.astimezone(tz).isoformat(),
        "visitor": visit.visitor,
        "mode": visit.mode,
        "met": visit.met,
        "observations": observations,
        "note": hide(visit.note, minor),
        "needs": [
            {
                "seq": n.seq,
                "text": hide(n.text, minor),
                "raise_case": n.raise_case,
                "urgent": n.urgent,
                "case_id": n.case_id,
            }
            for n in needs
        ],
        "next_due": visit.next_due_at.astimezone(tz).isoformat() if visit.next_due_at else None,
        "next_due_reason": hide(visit.next_due_reason, minor),
        "recorded_by": visit.recorded_by,
        "recorded_at": visit.recorded_at.astimezone(tz).isoformat(),
    }


def visits_of(s: Session, person_id: int, tz: tzinfo, *, minor: bool, clear: bool = False) -> list[dict[str, Any]]:
    """A person's visits, newest first, with their needs."""
    visits = s.scalars(
        select(CareVisit)
        .where(CareVisit.person_id == person_id)
        .order_by(CareVisit.visited_at.desc(), CareVisit.id.desc())
    ).all()
    needs: dict[int, list[CareVisitNeed]] = {}
    if visits:
        for n in s.scalars(
            select(CareVisitNeed)
            .join(CareVisit, CareVisit.id == CareVisitNeed.visit_id)
            .where(CareVisit.person_id == person_id)
            .order_by(CareVisitNeed.visit_id, CareVisitNeed.seq)
        ):
            needs.setdefault(n.visit_id, []).append(n)
    return [visit_fields(v, needs.get(v.id, []), tz, minor=minor, clear=clear) for v in visits]


def reveal(db: Database, by: Actor, person_id: int, field: str, reason: str) -> Any:
    """One field of one person in clear; the reveal is recorded (who, when, whose, which field, why).

    Args:
        db: the database.
        by: who asks.
        person_id: whose.
        field: one of ``REVEALABLE``: ``name``, ``id_number``, ``phone``, ``birth_date``, ``address``,
            ``notes``, ``health_notes`` (text, birth date as ``YYYY-MM-DD``), ``contacts`` (list of
            ``{name, relation, phone}``), or ``visits`` (the visit history as in ``person_page``).
        reason: why the clear value is needed (required).

    Raises:
        ValidationError: unknown field or no reason.
        PermissionDeniedError: the actor may not see clear values of this person.
        NotFoundError: no such person (or, for station staff, one of another community).
    """
    if field not in REVEALABLE:
        raise ValidationError(
            tr("Unknown field {field}: use one of {fields}.", field=field, fields=", ".join(REVEALABLE)),
            {"field": tr("unknown")},
        )
    with db.write() as s:
        person = load_person(s, by, person_id, tr("see personal information in clear"))
        reason = require_reveal(by, person.community_code, reason)
        tz = calendar_from(s).tz
        today = utcnow().astimezone(tz).date()
        if field == "visits":
            value: Any = visits_of(s, person.id, tz, minor=is_minor(person.birth_date, today), clear=True)
        else:
            value = person_fields(person, today, clear=True)[field]
        audit(s, by, person.id, field, reason)
    return value


def reveals(db: Database, by: Actor, person_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The latest reveals (of one person, or all), newest first: for shift leads and administrators.

    Raises:
        PermissionDeniedError: not a shift lead or administrator.
    """
    by.require([Role.LEAD, Role.ADMIN], tr("read the reveal audit"))
    with db.read() as s:
        tz = calendar_from(s).tz
        query = select(CareReveal).order_by(CareReveal.id.desc()).limit(limit)
        if person_id is not None:
            query = query.where(CareReveal.person_id == person_id)
        return [
            {
                "id": r.id,
                "at": r.at.astimezone(tz).isoformat(),
                "actor": r.actor,
                "role": r.actor_role,
                "person_id": r.person_id,
                "field": r.field,
                "reason": r.reason,
                "details": r.details,
            }
            for r in s.scalars(query)
        ]
