"""The care roster of the nine priority groups: people, their memberships, and checking their fields.

Station staff keep the roster of their own community; shift leads and administrators may change any
(see ``care_privacy`` for who sees what). Visits, major changes and campaigns are in
``care_visits``; the worklist, one person's page and coverage in ``care_worklist``; spreadsheets in
``care_import`` and ``care_export``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any, Final

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.domain.care import GENDERS, LIVING, RISKS, IdNumberError, birth_of_id, gender_of_id, normalise_id
from workstation.i18n import tr
from workstation.models import CareGroup, CareMembership, CarePerson, Grid, utcnow
from workstation.services.actors import Actor
from workstation.services.calendar import calendar_from
from workstation.services.care_privacy import community_scope, load_person
from workstation.services.errors import ConflictError, NotFoundError, ValidationError
from workstation.services.notices import notify
from workstation.services.territory import grid_by_name_or_code
from workstation.storage.db import Database

PERSON_FIELDS: Final = (
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "address",
    "grid",
    "living",
    "visitor",
    "contacts",
    "notes",
    "health_notes",
)


def summary(errors: Mapping[str, str]) -> str:
    """One line naming each bad field and why."""
    return "; ".join(f"{k}: {v}" for k, v in errors.items())


# --- validating input --------------------------------------------------------------------------------------


def parse_date(value: Any) -> date:
    """A calendar date from a date, a datetime or ``YYYY-MM-DD`` (also ``/`` or ``.`` separated).

    Raises:
        ValueError: with the reason.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    for sep in ("年", "月"):
        text = text.replace(sep, "-")
    text = text.rstrip("日")
    if text.isdigit() and len(text) == 8:
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        year, month, day = (int(p) for p in text.split("-"))
        return date(year, month, day)
    except (ValueError, TypeError):
        raise ValueError(tr("not a date (YYYY-MM-DD)")) from None


def phone_error(phone: str) -> str | None:
    """Why a phone number is not acceptable, or None."""
    if not phone:
        return None
    if not all(ch.isdigit() or ch in "+- ()" for ch in phone):
        return tr("a phone number has digits only")
    if not 7 <= sum(ch.isdigit() for ch in phone) <= 20:
        return tr("7 to 20 digits")
    return None


def id_error(kind: str) -> str:
    """The reason for an invalid identity number."""
    return {
        "format": tr("18 characters: 17 digits and a digit or X"),
        "date": tr("the birth date inside the number is impossible"),
        "check": tr("wrong check digit"),
    }[kind]


def _text(clean: dict[str, Any], errors: dict[str, str], data: Mapping[str, Any], key: str, limit: int) -> None:
    if key not in data:
        return
    value = data.get(key)
    if value is not None and not isinstance(value, str | int):
        errors[key] = tr("must be text")
        return
    text = str(value if value is not None else "").strip()
    if len(text) > limit:
        errors[key] = tr("at most {n} characters", n=limit)
    clean[key] = text


def _contacts(value: Any, errors: dict[str, str]) -> list[dict[str, str]]:
    if not isinstance(value, list | tuple):
        errors["contacts"] = tr("a list of contacts, each with name, relation and phone")
        return []
    out = []
    for n, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            errors["contacts"] = tr("a list of contacts, each with name, relation and phone")
            return []
        contact = {k: str(item.get(k) or "").strip() for k in ("name", "relation", "phone")}
        if not contact["name"] and not contact["phone"]:
            errors["contacts"] = tr("contact {n} has neither a name nor a phone", n=n)
        bad = phone_error(contact["phone"])
        if bad:
            errors["contacts"] = tr("contact {n}: {reason}", n=n, reason=bad)
        out.append(contact)
    return out


def clean_person(data: Mapping[str, Any], *, partial: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a person's fields (no database); returns the clean values and the reason for each bad field.

    With ``partial``, only the fields present are checked (an update); otherwise ``name`` and
    ``grid`` are required. A missing birth date or gender is taken from the identity number.
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    unknown = sorted(set(data) - set(PERSON_FIELDS) - {"groups", "risk", "since", "source", "active"})
    if unknown:
        errors["fields"] = tr("unknown field(s): {names}", names=", ".join(unknown))
    for key, limit in (("name", 50), ("address", 300), ("visitor", 50), ("notes", 4000), ("health_notes", 4000)):
        _text(clean, errors, data, key, limit)
    for key in ("name", "grid"):
        if (not partial or key in data) and not str(data.get(key) or "").strip():
            errors[key] = tr("required")
    if "grid" in data:
        clean["grid"] = str(data.get("grid") or "").strip()
    if "gender" in data:
        gender = {"男": "male", "女": "female", "m": "male", "f": "female"}.get(
            str(data.get("gender") or "").strip().lower(), str(data.get("gender") or "").strip().lower()
        )
        if gender and gender not in GENDERS:
            errors["gender"] = tr("male or female")
        clean["gender"] = gender
    if data.get("birth_date") not in (None, ""):
        try:
            clean["birth_date"] = parse_date(data["birth_date"])
        except ValueError as exc:
            errors["birth_date"] = str(exc)
    elif "birth_date" in data:
        clean["birth_date"] = None
    if data.get("id_number") not in (None, ""):
        try:
            clean["id_number"] = normalise_id(str(data["id_number"]))
        except IdNumberError as exc:
            errors["id_number"] = id_error(exc.kind)
    elif "id_number" in data:
        clean["id_number"] = None
    number = clean.get("id_number")
    if number:
        born = birth_of_id(number)
        if clean.get("birth_date") is None and "birth_date" not in errors:
            clean["birth_date"] = born
        elif clean.get("birth_date") not in (None, born):
            errors["birth_date"] = tr("does not match the identity number ({date})", date=born.isoformat())
        if not clean.get("gender"):
            clean["gender"] = gender_of_id(number)
        elif clean["gender"] != gender_of_id(number) and "gender" not in errors:
            errors["gender"] = tr("does not match the identity number")
    birth = clean.get("birth_date")
    if birth is not None and not date(1890, 1, 1) <= birth <= utcnow().date():
        errors["birth_date"] = tr("not a plausible birth date")
    if "phone" in data:
        clean["phone"] = str(data.get("phone") or "").strip()
        bad = phone_error(clean["phone"])
        if bad:
            errors["phone"] = bad
    if "living" in data:
        living = str(data.get("living") or "").strip()
        if living and living not in LIVING:
            errors["living"] = tr("one of: {codes}", codes=", ".join(LIVING))
        clean["living"] = living
    if "contacts" in data:
        clean["contacts"] = _contacts(data.get("contacts") or [], errors)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = tr("true or false")
        clean["active"] = data["active"]
    return clean, errors


def resolve_grid(s: Session, text: str, community: str | None = None) -> Grid | None:
    """The grid of that code or name (within the community, when given)."""
    grid = grid_by_name_or_code(s, text)
    if grid is None or (community is not None and grid.community_code != community):
        return None
    return grid


def group_codes(s: Session) -> dict[str, str]:
    """Group code and group name, each mapped to the group code."""
    out: dict[str, str] = {}
    for g in s.scalars(select(CareGroup)):
        out[g.code] = g.code
        out[g.code.lower()] = g.code
        out[g.name] = g.code
    return out


def _membership_spec(s: Session, data: Mapping[str, Any], errors: dict[str, str], today: date) -> list[dict[str, Any]]:
    raw = data.get("groups") or []
    if isinstance(raw, str | Mapping):
        raw = [raw]
    codes = group_codes(s)
    out: list[dict[str, Any]] = []
    for item in raw:
        spec = dict(item) if isinstance(item, Mapping) else {"group": item}
        code = codes.get(str(spec.get("group") or "").strip())
        if code is None:
            errors["groups"] = tr("unknown group {name}", name=spec.get("group"))
            continue
        risk = str(spec.get("risk") or data.get("risk") or "normal")
        if risk not in RISKS:
            errors["risk"] = tr("one of: {codes}", codes=", ".join(RISKS))
        try:
            since = parse_date(spec.get("since") or data.get("since") or today)
            until = parse_date(spec["until"]) if spec.get("until") else None
        except ValueError as exc:
            errors["since"] = str(exc)
            continue
        source = str(spec.get("source") or data.get("source") or "manual")[:200]
        out.append({"group_code": code, "risk": risk, "since": since, "until": until, "source": source})
    return out


def local_today(s: Session) -> tuple[date, tzinfo]:
    """Today's date in the district, and the district's timezone."""
    tz = calendar_from(s).tz
    return utcnow().astimezone(tz).date(), tz


# --- the roster ---------------------------------------------------------------------------------------------


def add_person(db: Database, by: Actor, data: Mapping[str, Any]) -> int:
    """Add a person to the roster, with their memberships; returns the person's id.

    Args:
        db: the database.
        by: station staff (their own community), a shift lead or an administrator.
        data: ``name`` and ``grid`` (code or name) are required; optional ``gender``, ``birth_date``,
            ``id_number``, ``phone``, ``address``, ``living`` (``LIVING`` code), ``visitor``,
            ``contacts`` (list of ``{name, relation, phone}``), ``notes``, ``health_notes``, and
            ``groups``: group codes or names, or ``{group, risk, since, until, source}`` objects
            (``risk``, ``since`` and ``source`` at the top level are the defaults).

    Raises:
        ValidationError: naming each bad field (also a grid outside the actor's community, or an
            identity number already on the roster).
        PermissionDeniedError: the role may not change the roster.
    """
    scope = community_scope(by, tr("change the care roster"), write=True)
    clean, errors = clean_person(data)
    with db.write() as s:
        today, _ = local_today(s)
        specs = _membership_spec(s, data, errors, today)
        grid = resolve_grid(s, clean["grid"], scope) if clean.get("grid") else None
        if clean.get("grid") and grid is None:
            errors["grid"] = (
                tr("no grid {name} in your community", name=clean["grid"])
                if scope
                else tr("no grid with code or name {name}", name=clean["grid"])
            )
        if clean.get("id_number") and s.scalar(select(CarePerson.id).where(CarePerson.id_number == clean["id_number"])):
            errors["id_number"] = tr("already on the roster")
        if errors:
            raise ValidationError(summary(errors), errors)
        assert grid is not None
        person = new_person(clean, grid, by)
        s.add(person)
        try:
            s.flush()
        except IntegrityError:
            raise ValidationError(
                tr("identity number: already on the roster"), {"id_number": tr("already on the roster")}
            ) from None
        for spec in specs:
            s.add(CareMembership(person_id=person.id, created_by=by.name, **spec))
        person_id = person.id
    notify("care_person", [person_id])
    return person_id


def new_person(clean: Mapping[str, Any], grid: Grid, by: Actor) -> CarePerson:
    """A roster row from clean fields (see :func:`clean_person`)."""
    now = utcnow()
    return CarePerson(
        name=clean["name"],
        gender=clean.get("gender", ""),
        birth_date=clean.get("birth_date"),
        id_number=clean.get("id_number"),
        phone=clean.get("phone", ""),
        address=clean.get("address", ""),
        grid_code=grid.code,
        community_code=grid.community_code,
        living=clean.get("living", ""),
        visitor=clean.get("visitor", ""),
        contacts=clean.get("contacts", []),
        notes=clean.get("notes", ""),
        health_notes=clean.get("health_notes", ""),
        version=1,
        active=True,
        created_at=now,
        created_by=by.name,
        updated_at=now,
        updated_by=by.name,
    )


def update_person(
    db: Database, by: Actor, person_id: int, changes: Mapping[str, Any], *, expected_version: int | None = None
) -> int:
    """Change some of a person's fields (as in :func:`add_person`, plus ``active``); returns the new version.

    Raises:
        ValidationError: naming each bad field.
        ConflictError: the person was changed since ``expected_version``.
        NotFoundError, PermissionDeniedError: not on the actor's roster, or the role may not.
    """
    if "groups" in changes:
        raise ValidationError(tr("Change groups with add_membership and end_membership."), {"groups": tr("not here")})
    clean, errors = clean_person(changes, partial=True)
    with db.write() as s:
        person = load_person(s, by, person_id, tr("change the care roster"), write=True)
        scope = community_scope(by, tr("change the care roster"), write=True)
        if clean.get("grid"):
            grid = resolve_grid(s, clean.pop("grid"), scope)
            if grid is None:
                errors["grid"] = tr("no grid {name} in your community", name=changes["grid"])
            else:
                clean["grid_code"], clean["community_code"] = grid.code, grid.community_code
        number = clean.get("id_number")
        if number and s.scalar(select(CarePerson.id).where(CarePerson.id_number == number, CarePerson.id != person_id)):
            errors["id_number"] = tr("already on the roster")
        if errors:
            raise ValidationError(summary(errors), errors)
        if expected_version is not None and person.version != expected_version:
            raise ConflictError(
                tr(
                    "Person {id} was changed by {who} while you were editing; nothing was saved. Look again.",
                    id=person_id,
                    who=person.updated_by,
                ),
                person.updated_by,
                person.updated_at,
            )
        values = {k: v for k, v in clean.items() if k != "grid"}
        values.update(version=person.version + 1, updated_at=utcnow(), updated_by=by.name)
        done = s.execute(
            update(CarePerson)
            .where(CarePerson.id == person_id, CarePerson.version == person.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError(tr("Person {id} was changed meanwhile; nothing was saved.", id=person_id))
        version = person.version + 1
    notify("care_person", [person_id])
    return version


def add_membership(
    db: Database,
    by: Actor,
    person_id: int,
    group: str,
    *,
    since: date | None = None,
    until: date | None = None,
    risk: str = "normal",
    source: str = "manual",
) -> int:
    """Put a person in a group (code or name) from ``since`` (default today); returns the membership id.

    Raises:
        ValidationError: unknown group or risk, bad dates, or already in the group then.
        NotFoundError, PermissionDeniedError: not on the actor's roster, or the role may not.
    """
    with db.write() as s:
        load_person(s, by, person_id, tr("change the care roster"), write=True)
        today, _ = local_today(s)
        errors: dict[str, str] = {}
        specs = _membership_spec(
            s, {"groups": [{"group": group, "risk": risk, "since": since or today, "until": until}]}, errors, today
        )
        if not errors and specs[0]["until"] is not None and specs[0]["until"] < specs[0]["since"]:
            errors["until"] = tr("before the start")
        if not errors:
            spec = specs[0] | {"source": source[:200]}
            overlap = s.scalar(
                select(CareMembership.id).where(
                    CareMembership.person_id == person_id,
                    CareMembership.group_code == spec["group_code"],
                    or_(CareMembership.until.is_(None), CareMembership.until >= spec["since"]),
                    *([CareMembership.since <= spec["until"]] if spec["until"] else []),
                )
            )
            if overlap:
                errors["group"] = tr("already in this group for that period")
        if errors:
            raise ValidationError(summary(errors), errors)
        row = CareMembership(person_id=person_id, created_by=by.name, **spec)
        s.add(row)
        s.flush()
        membership_id = row.id
    notify("care_person", [person_id])
    return membership_id


def _membership(s: Session, by: Actor, membership_id: int) -> CareMembership:
    row = s.get(CareMembership, membership_id)
    if row is None:
        raise NotFoundError(tr("There is no membership {id}.", id=membership_id))
    load_person(s, by, row.person_id, tr("change the care roster"), write=True)
    return row


def end_membership(db: Database, by: Actor, membership_id: int, until: date | None = None) -> None:
    """End a membership on ``until`` (default today, inclusive).

    Raises:
        ValidationError: ``until`` before the start.
        NotFoundError, PermissionDeniedError: not on the actor's roster, or the role may not.
    """
    with db.write() as s:
        row = _membership(s, by, membership_id)
        end = until or local_today(s)[0]
        if end < row.since:
            raise ValidationError(tr("A membership cannot end before it began."), {"until": tr("before the start")})
        row.until = end
        person_id = row.person_id
    notify("care_person", [person_id])


def set_risk(db: Database, by: Actor, membership_id: int, risk: str) -> None:
    """Set a membership's risk level (``normal`` or ``high``; high halves the interval).

    Raises:
        ValidationError: unknown risk.
        NotFoundError, PermissionDeniedError: not on the actor's roster, or the role may not.
    """
    if risk not in RISKS:
        raise ValidationError(tr("Risk is normal or high."), {"risk": tr("one of: {codes}", codes=", ".join(RISKS))})
    with db.write() as s:
        row = _membership(s, by, membership_id)
        row.risk = risk
        person_id = row.person_id
    notify("care_person", [person_id])
