"""The one ingest path of every source: many items per transaction, each idempotent and judged alone.

For each page: items already present (same channel and external id, the key ``add_report`` is
idempotent on) are recognised: identical ones are left alone, changed ones update their case as
``add_report`` does (before triage the columns, after it only a recorded ``report_update``); good
items become reports in the operator queue; bad ones go to quarantine with their reason, verbatim.
The page's cursor moves in the same transaction, and only if no one else moved it meanwhile, so
after a crash or restart the feed resumes exactly where the committed work ends: nothing is lost and
nothing is created twice.

The checks are those of ``services.reports`` (``validate`` and the grid look-up), so an item is
accepted here exactly when ``add_report`` would accept it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, and_, bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from workstation.i18n import tr
from workstation.intake.formats import clean_text, clean_value
from workstation.intake.items import CursorMove, Item, clip, digest
from workstation.intake.places import Places
from workstation.models import (
    Case,
    CaseEvent,
    Category,
    IntakeCursor,
    QuarantinedItem,
    ServiceMapping,
    utcnow,
)
from workstation.models.chain import insert_sealed, seal_rows
from workstation.services import stats
from workstation.services.actors import SYSTEM, Actor
from workstation.services.errors import WorkstationError
from workstation.services.notices import notify
from workstation.services.reports import (
    SOURCE_COLUMNS,
    WINDOW,
    CaseChangedError,
    TimeWindow,
    check_point,
    new_case_values,
    recorded_after_triage,
    report_changes,
    update_from_report,
    validate,
)
from workstation.services.territory import MARGIN_M
from workstation.storage.db import Database

CHUNK = 400  # bound on the number of values in one IN (...) list


class CursorMovedError(WorkstationError):
    """Another seat advanced this source's cursor first; this page was left to it."""


@dataclass
class Outcome:
    """What became of one item: ``created``, ``existing``, ``updated`` or ``quarantined`` (with the id and reason)."""

    status: str
    id: int | None
    reason: str | None = None


@dataclass
class Stored:
    """What a batch did, item by item, in input order."""

    outcomes: list[Outcome] = field(default_factory=list)

    def ids(self, status: str) -> list[int]:
        """The ids of the items with that outcome."""
        return [o.id for o in self.outcomes if o.status == status and o.id is not None]

    def count(self, status: str) -> int:
        """How many items had that outcome."""
        return sum(1 for o in self.outcomes if o.status == status)


def read_cursor(db: Database, source: str) -> str | None:
    """The source's stored cursor (None: from the start)."""
    with db.read() as s:
        row = s.get(IntakeCursor, source)
        return row.cursor if row else None


def _move_cursor(s: Session, source: str, move: CursorMove, now: datetime) -> None:
    row = s.scalar(select(IntakeCursor).where(IntakeCursor.source == source).with_for_update())
    current = row.cursor if row else None
    if current != move.expected:
        raise CursorMovedError(
            tr("Another seat already read {source} past this page; it was left to them.", source=source)
        )
    if row is None:
        s.add(IntakeCursor(source=source, cursor=move.new, updated_at=now))
    else:
        row.cursor, row.updated_at = move.new, now


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def quarantine_rows(
    s: Session,
    source: str,
    source_kind: str,
    entries: Sequence[tuple[str, str, str | None]],
    now: datetime,
    kind: str = "item",
    cursor: str | None = None,
) -> list[int]:
    """Keep (payload, reason, external id) entries in quarantine; a payload already open there is counted again.

    Returns:
        The quarantine row id of each entry, in order.
    """
    entries = [(clean_text(p), clean_text(r), clean_text(k) if k else None) for p, r, k in entries]
    hashes = [digest(payload) for payload, _, _ in entries]
    open_rows: dict[str, QuarantinedItem] = {}
    for part in _chunks(sorted(set(hashes))):
        for row in s.scalars(
            select(QuarantinedItem).where(
                QuarantinedItem.source == source,
                QuarantinedItem.status == "open",
                QuarantinedItem.kind == kind,
                QuarantinedItem.payload_hash.in_(part),
            )
        ):
            open_rows.setdefault(row.payload_hash, row)
    out: list[int] = []
    for (payload, reason, key), h in zip(entries, hashes, strict=True):
        found = open_rows.get(h)
        if found is None:
            found = QuarantinedItem(
                source=source,
                source_kind=source_kind,
                kind=kind,
                external_id=clip(key, 200) if key else None,
                payload=payload,
                payload_hash=h,
                reason=reason,
                cursor=cursor,
                received_at=now,
                last_seen_at=now,
                times_seen=1,
                status="open",
                note="",
            )
            s.add(found)
            s.flush()
            open_rows[h] = found
        elif found.id not in out:
            found.times_seen += 1
            found.last_seen_at, found.reason = now, reason
        out.append(found.id)
    return out


def quarantine_page(
    db: Database, source: str, source_kind: str, payload: str, reason: str, cursor: str | None = None
) -> int:
    """Keep a whole page that could not be read, as one quarantine item; the cursor does not move."""
    with db.write() as s:
        (qid,) = quarantine_rows(s, source, source_kind, [(payload, reason, None)], utcnow(), "page", cursor)
    notify("quarantine", [qid])
    return qid


class _Category(NamedTuple):
    """What a case takes from the category its service code maps to."""

    code: str
    name: str
    major_name: str


def _mappings(s: Session, source: str, items: Sequence[Item], now: datetime) -> dict[str, _Category | None]:
    """Each service code of the batch and its category (None: not mapped yet; the code is recorded)."""
    codes = sorted({i.service_code for i in items if i.ok and i.service_code})
    if not codes:
        return {}
    mapped: dict[str, str | None] = {}
    categories: dict[str, _Category] = {}
    for part in _chunks(codes):  # with the active category each maps to (a post maps one, the catalogue has 118)
        for code, category_code, *category in s.execute(_MAPPED, {"source": source, "codes": list(part)}):
            mapped[code] = category_code
            if category[0] is not None:
                categories[category[0]] = _Category(*category)
    names = {i.service_code: clean_text(i.service_name or "") for i in items if i.service_code}
    for code in codes:
        if code not in mapped:
            s.add(
                ServiceMapping(
                    source=source,
                    service_code=code,
                    service_name=clip(names.get(code, ""), 200),
                    category_code=None,
                    updated_at=now,
                    updated_by="",
                )
            )
            mapped[code] = None
    return {code: categories.get(category_code or "") for code, category_code in mapped.items()}


_MAP, _CATEGORIES = ServiceMapping.__table__.c, Category.__table__.c
_MAPPED = (  # built once: a post runs it every time
    select(_MAP.service_code, _MAP.category_code, _CATEGORIES.code, _CATEGORIES.name, _CATEGORIES.major_name)
    .join_from(
        ServiceMapping.__table__,
        Category.__table__,
        and_(_CATEGORIES.code == _MAP.category_code, _CATEGORIES.active.is_(True)),
        isouter=True,
    )
    .where(_MAP.source == bindparam("source"), _MAP.service_code.in_(bindparam("codes", expanding=True)))
)


_CASES: Table = Case.__table__  # type: ignore[assignment]
_NEW_CASES = _CASES.insert().returning(_CASES.c.id, _CASES.c.channel, _CASES.c.external_id)  # Core: no ORM bulk work


def _insert_cases(s: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert new cases in bulk; returns their ids in the order of ``rows``.

    Rows with an external id go in as one multi-row INSERT ... RETURNING, matched back by their
    (channel, external id) key, so the database need not return them in order; the others one by one.
    """
    ids: dict[tuple[str, str], int] = {}
    keyed = [r for r in rows if r["external_id"] is not None]
    if keyed:
        returned = s.execute(_NEW_CASES, keyed)
        ids = {(channel, ext or ""): cid for cid, channel, ext in returned}
    out: list[int] = []
    for row in rows:
        if row["external_id"] is not None:
            out.append(ids[(row["channel"], row["external_id"])])
        else:
            case = Case(**row)
            s.add(case)
            s.flush()
            out.append(case.id)
    return out


_CATEGORY = ("category_code", "category_name", "category_major")  # from the source's service code, mapped here
_COMPARED = (*SOURCE_COLUMNS, "source_service", *_CATEGORY)
_EXISTING = select(  # built once: a post runs it every time
    *[_CASES.c[name] for name in ("id", "version", "status", "channel", "external_id", *_COMPARED)]
).where(tuple_(_CASES.c.channel, _CASES.c.external_id).in_(bindparam("keys", expanding=True)))


def _existing(s: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The cases already holding these keys: id, version, status and the columns a delivery sets.

    For triaged cases, ``recorded`` holds the source values earlier re-deliveries recorded (not applied);
    ``source_status`` the status the source last gave (from the ``source_status`` events).
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}
    ordered = sorted(keys)
    for part in _chunks(ordered):
        for row in s.execute(_EXISTING, {"keys": list(part)}):
            found[(row.channel, row.external_id or "")] = {**row._asdict(), "recorded": {}, "source_status": None}
    triaged = sorted(r["id"] for r in found.values() if r["status"] != "reported")
    recorded: dict[int, dict[str, Any]] = {}
    for ids in _chunks(triaged):
        recorded.update(recorded_after_triage(s, list(ids)))
    statuses: dict[int, str] = {}
    for ids in _chunks(sorted(r["id"] for r in found.values())):
        rows = s.execute(
            select(CaseEvent.case_id, CaseEvent.details)
            .where(CaseEvent.case_id.in_(ids), CaseEvent.action == STATUS_ACTION)
            .order_by(CaseEvent.id)
        )
        for case_id, details in rows:
            statuses[case_id] = str((details or {}).get("status") or "")
    for case in found.values():
        case["recorded"] = recorded.get(case["id"], {})
        case["source_status"] = statuses.get(case["id"])
    return found


def _renamed(s: Session, missing: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Cases that were known under one of these (token) ids and have since taken their real id.

    A late copy of a request delivered by its token alone finds its case through the rename's event.
    """
    if not missing:
        return {}
    alias = CaseEvent.details["alias"].as_string()
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for part in _chunks(sorted(ext for _, ext in missing)):
        query = (
            select(Case.channel, Case.external_id, alias)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(CaseEvent.action == "report_update", alias.in_(part))
        )
        for channel, external_id, old in s.execute(query):
            if (channel, old) in missing and external_id:
                found[(channel, old)] = (channel, external_id)
    current = _existing(s, set(found.values()))
    return {old: current[now] for old, now in found.items() if now in current}


STATUS_ACTION = "source_status"


def _identify(s: Session, row: dict[str, Any], new_id: str, by: Actor, now: datetime) -> dict[str, Any]:
    """Give a case first seen under an alias (a token) the item's real external id; returns the event row."""
    old = row["external_id"]
    result = s.execute(
        update(Case)
        .where(Case.id == row["id"], Case.version == row["version"])
        .values(external_id=new_id, version=row["version"] + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CaseChangedError(tr("Case {id} changed meanwhile; the report update was not applied.", id=row["id"]))
    row["version"] += 1
    row["external_id"] = new_id
    return {
        "case_id": row["id"],
        "at": now,
        "actor": by.name,
        "actor_role": by.role,
        "action": "report_update",
        "from_state": row["status"],
        "to_state": row["status"],
        "reason": tr("the source gave the request its identifier"),
        "details": {"changed": {"external_id": [old, new_id]}, "alias": old, "version": row["version"]},
    }


def _status_change(
    s: Session, case_id: int, version: int, state: str, item: Item, by: Actor, now: datetime
) -> tuple[dict[str, Any], str]:
    """Record the source's new status on a case; returns the event row and the case's state after it.

    An untriaged case closed at the source is set aside (rejected, with that reason: a lead can
    reopen it); any other change is recorded and flags the case for the operator.

    Raises:
        CaseChangedError: the case is no longer at ``version``.
    """
    closing = state == "reported" and item.status == "closed"
    values: dict[str, Any] = {"version": version + 1}
    if closing:
        values.update(status="rejected", last_actor=by.name, last_action_at=now)
    result = s.execute(
        update(Case)
        .where(Case.id == case_id, Case.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CaseChangedError(tr("Case {id} changed meanwhile; the report update was not applied.", id=case_id))
    to_state = "rejected" if closing else state
    details: dict[str, Any] = {"status": item.status, "version": version + 1}
    if item.status_notes:
        details["status_notes"] = item.status_notes
    if item.updated_at is not None:
        details["updated_at"] = item.updated_at.isoformat()
    event = {
        "case_id": case_id,
        "at": now,
        "actor": by.name,
        "actor_role": by.role,
        "action": STATUS_ACTION,
        "from_state": state,
        "to_state": to_state,
        "reason": tr("closed at the source before anyone triaged it")
        if closing
        else tr("the source changed its status: check whether the case still needs work"),
        "details": details,
    }
    return event, to_state


def _redelivered(
    s: Session, row: dict[str, Any], new: dict[str, Any], by: Actor, now: datetime
) -> dict[str, Any] | None:
    """Update (or record) a changed re-delivery of an existing case; None if nothing changed.

    ``row`` is kept current, so a later copy in the same batch compares against this one.
    """
    source = {key: value for key, value in new.items() if key not in _CATEGORY}
    changed = report_changes(row, source, row["status"], row["recorded"])
    if not changed:
        return None  # a mapping completed since is no reason to rewrite a case: only a changed report is
    changed.update(report_changes(row, {key: value for key, value in new.items() if key in _CATEGORY}, row["status"]))
    event = update_from_report(s, row["id"], row["version"], row["status"], changed, new, by, now)
    row["version"] += 1
    if row["status"] == "reported":
        row.update({key: new[key] for key in changed})
    else:
        row["recorded"] = {**row["recorded"], **{key: pair[1] for key, pair in changed.items()}}
    return event


_OPEN_COPIES = select(QuarantinedItem).where(  # built once: a post runs it every time
    QuarantinedItem.source == bindparam("source"),
    QuarantinedItem.status == "open",
    QuarantinedItem.kind == "item",
    QuarantinedItem.external_id.in_(bindparam("ids", expanding=True)),
)


def _settle(
    s: Session, source: str, done: Sequence[tuple[str | None, Outcome | None]], keep: set[int], by: Actor, now: datetime
) -> None:
    """Close the open quarantine rows of items that have now been imported (a later, good delivery).

    Rows this very batch wrote or counted again (a broken copy next to a good one) stay open.
    """
    cases = {key: o.id for key, o in done if key and o is not None and o.status in ("created", "existing", "updated")}
    if not cases:
        return
    for part in _chunks(sorted(cases)):
        for row in s.scalars(_OPEN_COPIES, {"source": source, "ids": list(part)}):
            if row.id in keep:
                continue
            row.status, row.case_id = "reprocessed", cases.get(row.external_id or "")
            row.decided_by, row.decided_at = by.name, now
            row.note = tr("imported from a later delivery")


@dataclass(frozen=True)
class Rules:
    """What an item must satisfy beyond its fields' types: a plausible time, a point in the territory."""

    window: TimeWindow = WINDOW
    margin_m: float = MARGIN_M


def _store(
    s: Session,
    source: str,
    source_kind: str,
    items: Sequence[Item],
    by: Actor,
    quarantine: bool,
    now: datetime,
    rules: Rules = Rules(),
) -> Stored:
    checked: list[tuple[Item, dict[str, Any] | None, str | None]] = []
    keys: set[tuple[str, str]] = set()
    places = Places(s, len(items))
    for item in items:
        if not item.ok or item.report is None:
            checked.append((item, None, item.reason or tr("not understood")))
            continue
        valid, errors = validate(item.report, now, rules.window)
        if not errors and valid["lon"] is not None and not valid["grid"]:
            outside = check_point(valid, places.bounds_near(valid["lon"], valid["lat"]), rules.margin_m)
            if outside:
                errors["lon"] = outside
        if errors:
            checked.append((item, None, "; ".join(f"{k}: {v}" for k, v in errors.items())))
            continue
        checked.append((item, valid, None))
        if valid["external_id"] is not None:
            keys.add((valid["channel"], valid["external_id"]))
            keys.update((valid["channel"], alias) for alias in item.aliases)
    rows = _existing(s, keys)
    rows.update(_renamed(s, {key for key in keys if key not in rows and ":token-" in key[1]}))
    updates: list[dict[str, Any]] = []
    for item, clean, _ in checked:  # a case first seen under an alias (a token) takes the real id
        if clean is None or clean["external_id"] is None:
            continue
        key = (clean["channel"], clean["external_id"])
        if key in rows:
            continue
        alias = next((a for a in item.aliases if (clean["channel"], a) in rows), None)
        if alias is not None:
            row = rows.pop((clean["channel"], alias))
            updates.append(_identify(s, row, clean["external_id"], by, now))
            rows[key] = row
    existing = {key: row["id"] for key, row in rows.items()}
    mapping = _mappings(s, source, items, now)
    outcomes: list[Outcome | None] = []
    new_cases: list[tuple[int, dict[str, Any], Item]] = []
    queued: set[tuple[str, str]] = set()
    copies: list[tuple[int, tuple[str, str]]] = []
    bad: list[tuple[int, str, str, str | None]] = []
    for index, (item, clean, reason) in enumerate(checked):
        if clean is not None:
            grid_code: str | None = None
            if clean["grid"]:
                grid_code = places.grid_code(clean["grid"])
                if grid_code is None:
                    reason = "grid: " + tr("no grid with code or name {name}", name=clean["grid"])
            elif clean["lon"] is not None:
                grid_code = places.grid_at(clean["lon"], clean["lat"])
        if clean is None or reason is not None:
            outcomes.append(None)
            bad.append((index, item.payload, reason or "", item.key))
            continue
        key = (clean["channel"], clean["external_id"])
        if clean["external_id"] is not None and key in queued:
            outcomes.append(None)
            copies.append((index, key))  # a second copy in this batch: the report created above
            continue
        place = places.place(grid_code)
        category = mapping.get(item.service_code or "")
        case = new_case_values(clean, place, by, now)
        case.update(
            source_service=clip(clean_text(item.service_name), 100) if item.service_name else None,
            category_code=category.code if category else None,
            category_name=category.name if category else None,
            category_major=category.major_name if category else None,
        )
        if clean["external_id"] is not None and key in rows:
            compared = [c for c in _COMPARED if c in SOURCE_COLUMNS or case[c] is not None]  # only what it sends
            event = _redelivered(s, rows[key], {c: case[c] for c in compared}, by, now)
            if event is not None:
                updates.append(event)
            outcomes.append(Outcome("existing" if event is None else "updated", existing[key]))
            continue
        if clean["external_id"] is not None:
            queued.add(key)
        outcomes.append(None)
        new_cases.append((index, case, item))
    ids = _insert_cases(s, [c for _, c, _ in new_cases])
    events: list[dict[str, Any]] = []
    for (index, case, item), case_id in zip(new_cases, ids, strict=True):
        existing[(case["channel"], case["external_id"] or "")] = case_id
        outcomes[index] = Outcome("created", case_id)
        rows[(case["channel"], case["external_id"] or "")] = {
            "id": case_id,
            "version": 1,
            "status": "reported",
            "source_status": None,
        }
        details: dict[str, Any] = {"channel": case["channel"], "external_id": case["external_id"], "source": source}
        if item.notes:
            details["not_understood"] = list(item.notes)
        if item.service_code:
            details["service_code"] = item.service_code
        if item.status:
            details["source_status"] = item.status
        if item.updated_at is not None:
            details["source_updated_at"] = item.updated_at.isoformat()
        if item.original is not None:
            details["payload"] = item.original
        events.append(
            {
                "case_id": case_id,
                "at": now,
                "actor": by.name,
                "actor_role": by.role,
                "action": "report",
                "from_state": None,
                "to_state": "reported",
                "reason": "",
                "details": clean_value(details),
            }
        )
    events += updates
    for index, (item, clean, _) in enumerate(checked):  # the source's status, recorded on the case
        outcome = outcomes[index]
        if clean is None or outcome is None or item.status is None or clean["external_id"] is None:
            continue
        found = rows.get((clean["channel"], clean["external_id"]))
        if found is None or item.status == (found["source_status"] or "open"):
            continue
        event, found["status"] = _status_change(s, found["id"], found["version"], found["status"], item, by, now)
        found["version"] += 1
        found["source_status"] = item.status
        events.append(event)
        if outcome.status == "existing":
            outcome.status = "updated"
    if len(events) == 1:  # one post, one re-delivery: on PostgreSQL the chain moves in the insert itself
        insert_sealed(s.connection(), "case_events", events[0])
    elif events:
        seal_rows(s.connection(), "case_events", events)
        s.execute(insert(CaseEvent), events)  # no RETURNING needed: one executemany
    for index, key in copies:
        outcomes[index] = Outcome("existing", existing[key])
    held: list[int] = []
    if bad and quarantine:
        held = quarantine_rows(s, source, source_kind, [(p, r, k) for _, p, r, k in bad], now)
        for (index, _, r, _), qid in zip(bad, held, strict=True):
            outcomes[index] = Outcome("quarantined", qid, r)
    else:
        for index, _, r, _ in bad:
            outcomes[index] = Outcome("quarantined", None, r)
    _settle(s, source, [(item.key, outcomes[i]) for i, (item, _, _) in enumerate(checked)], set(held), by, now)
    # the summaries last: every import of the day adds to the same rows, locked from here to the commit
    stats.record_new(s, [case for _, case, _ in new_cases])
    return Stored([o for o in outcomes if o is not None])


# What a database (or its driver) raises for one item it cannot store: the item is isolated, not the page.
ITEM_ERRORS = (SQLAlchemyError, CaseChangedError, OverflowError, ValueError, TypeError, UnicodeError)


def _isolate(
    s: Session,
    source: str,
    source_kind: str,
    items: Sequence[Item],
    by: Actor,
    quarantine: bool,
    now: datetime,
    rules: Rules,
) -> Stored:
    """Store a batch the database refused as a whole: halves in savepoints, down to the one item it refuses.

    The refused items are quarantined alone with the database's reason; every other item is stored.
    """
    outcomes: list[Outcome] = []
    refused: list[tuple[Item, str]] = []

    def attempt(part: Sequence[Item]) -> None:
        try:
            with s.begin_nested():
                outcomes.extend(_store(s, source, source_kind, part, by, quarantine, now, rules).outcomes)
            return
        except ITEM_ERRORS as exc:
            if len(part) == 1:
                refused.append((part[0], _db_reason(exc)))
                outcomes.append(Outcome("quarantined", None, refused[-1][1]))
                return
        middle = len(part) // 2
        attempt(part[:middle])
        attempt(part[middle:])

    attempt(items)
    if refused and quarantine:
        held = quarantine_rows(s, source, source_kind, [(i.payload, r, i.key) for i, r in refused], now)
        it = iter(held)
        for outcome in outcomes:
            if outcome.status == "quarantined" and outcome.id is None:
                outcome.id = next(it, None)
    return Stored(outcomes)


def _db_reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return tr("the database refused this item: {reason}", reason=clip(f"{type(orig).__name__}: {text}", 300))


def ingest_items(
    db: Database,
    source: str,
    source_kind: str,
    items: Sequence[Item],
    move: CursorMove | None = None,
    *,
    by: Actor = SYSTEM,
    quarantine: bool = True,
    attempts: int = 3,
    rules: Rules = Rules(),
    known: Callable[[Session], Stored | None] | None = None,
) -> Stored:
    """Import a batch of items in one transaction (see the module docstring).

    Args:
        db: the database.
        source: the source's name.
        source_kind: the source's kind (kept with quarantined items, to read them again).
        items: the parsed items, good and bad.
        move: the cursor to set in the same transaction, if no other seat moved it meanwhile.
        by: who records the reports.
        quarantine: keep bad items in quarantine (False: only report their reasons).
        attempts: a batch that collides with a concurrent import of the same items is tried again.
        rules: the time window and territory margin items must keep to.
        known: asked first, in the batch's own transaction: what it answers is the outcome and nothing
            is imported (a post repeated under its client's id answers what the first one got).

    An item the database refuses even so (a value no check foresaw) is isolated in a savepoint and
    quarantined alone with the database's reason; the rest of the batch is stored and the cursor moves.

    Raises:
        CursorMovedError: another seat advanced the cursor first; nothing was written.
    """
    for attempt in range(1, attempts + 1):
        now = utcnow()
        try:
            with db.write() as s:
                if move is not None:
                    _move_cursor(s, source, move, now)
                found = known(s) if known is not None else None
                stored = found or _store(s, source, source_kind, items, by, quarantine, now, rules)
            break
        except CursorMovedError:
            raise
        except (IntegrityError, CaseChangedError):  # a concurrent import, or a seat acting on an updated case
            if attempt < attempts:
                continue
        except ITEM_ERRORS:
            pass
        with db.write() as s:  # the batch as a whole was refused: find the item(s) the database refuses
            if move is not None:
                _move_cursor(s, source, move, now)
            found = known(s) if known is not None else None
            stored = found or _isolate(s, source, source_kind, items, by, quarantine, now, rules)
        break
    changed = stored.ids("created") + sorted(set(stored.ids("updated")))
    if changed:
        notify("case", changed)
    held = stored.ids("quarantined")
    if held:
        notify("quarantine", sorted(set(held)))
    return stored
