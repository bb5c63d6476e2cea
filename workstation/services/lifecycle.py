"""Every lifecycle action on a case, as one guarded transaction.

Each action checks the actor's role and the case's state against ``domain.lifecycle``, changes the
case with ``UPDATE ... WHERE id = :id AND version = :v`` (which holds on SQLite and PostgreSQL
alike), and appends one event to the history in the same transaction. When two seats act on the
same case at once, exactly one succeeds; the other gets a ConflictError that says who changed the
case and when, and nothing of its action is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from workstation.domain.calendar import Limit, LimitError
from workstation.domain.lifecycle import ACTIONS, RUNNING, UNIT_ACTIONS, Role, State
from workstation.i18n import action_label, state_label, tr
from workstation.models import (
    Case,
    CaseEvent,
    CaseLease,
    CaseUnit,
    Category,
    ExtensionRequest,
    Unit,
    UTCDateTime,
    utcnow,
)
from workstation.models.chain import insert_sealed
from workstation.services import stats
from workstation.services.actors import Actor
from workstation.services.calendar import calendar_from
from workstation.services.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from workstation.services.leases import TakenError
from workstation.services.notices import notify
from workstation.services.territory import unit_at
from workstation.services.training import DEMO_ONLY_ACTIONS, require_demo_for_trainer
from workstation.storage.db import Database

UNDO_WINDOW = timedelta(seconds=30)


@dataclass(frozen=True)
class Outcome:
    """What an action did: the case's new state and version, and the event written."""

    case_id: int
    state: str
    version: int
    event_id: int


class _Lost(Exception):
    """The conditional update matched no row: someone else changed the case first.

    ``case_id`` names another case that changed (a merge's target), when it was not the acted-on one.
    """

    def __init__(self, case_id: int | None = None) -> None:
        super().__init__(case_id)
        self.case_id = case_id


Prepare = Callable[[Session, Case], tuple[dict[str, Any], dict[str, Any]]]

AfterTransition = Callable[[Session, Case, CaseEvent], None]
# Called inside the transaction of every action (and undo), after the case is updated and its event
# written, just before commit, with the case refreshed to its new state. A hook that raises aborts the
# action: whatever the hook wrote (an outbox row, say) commits with the change or not at all.
after_transition: list[AfterTransition] = []


def _after(s: Session, case: Case, event: CaseEvent) -> None:
    if after_transition:
        s.refresh(case)
        for hook in list(after_transition):
            hook(s, case, event)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _latest_change(db: Database, case_id: int) -> tuple[str, datetime | None]:
    with db.read() as s:
        row = s.execute(
            select(CaseEvent.actor, CaseEvent.at)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.id.desc())
            .limit(1)
        ).first()
    return (row[0], row[1]) if row else ("?", None)


def _conflict(db: Database, case_id: int) -> ConflictError:
    who, at = _latest_change(db, case_id)
    when = at.astimezone(_tz(db)).strftime("%H:%M:%S") if at else "?"
    return ConflictError(
        tr(
            "Case {id} was changed by {who} at {when} while you were looking at it; nothing of your action "
            "was saved. Look at it again and decide.",
            id=case_id,
            who=who,
            when=when,
        ),
        who,
        at,
    )


def _tz(db: Database) -> Any:
    with db.read() as s:
        return calendar_from(s).tz


def _check_unit_actor(s: Session, by: Actor, case: Case) -> None:
    if by.role != Role.UNIT or by.unit_code == case.unit_code:
        return
    co = s.scalars(select(CaseUnit.unit_code).where(CaseUnit.case_id == case.id)).all()
    if by.unit_code != case.unit_code and by.unit_code not in co:
        raise PermissionDeniedError(tr("Case {id} is not dispatched to your unit.", id=case.id))


def _on_behalf(s: Session, by: Actor, case: Case, action: str, for_unit: str | None) -> dict[str, Any]:
    """A seat taking a unit's action records what the unit said: which unit, kept in the event's details.

    Raises:
        ValidationError: the unit named does not work on the case, or a unit account names another unit.
    """
    if action not in UNIT_ACTIONS or by.role in (Role.UNIT, Role.SYSTEM):
        if for_unit and by.role == Role.UNIT and for_unit != by.unit_code:
            raise ValidationError(
                tr("A unit account records only its own unit's answers."), {"unit": tr("not your unit")}
            )
        return {}
    code = (for_unit or case.unit_code or "").strip()
    working = {case.unit_code, *s.scalars(select(CaseUnit.unit_code).where(CaseUnit.case_id == case.id))}
    if not code or code not in working:
        raise ValidationError(
            tr(
                "{unit} does not work on case {id}: record the answer of a unit the case is dispatched to.",
                unit=code or "-",
                id=case.id,
            ),
            {"unit": tr("not on the case")},
        )
    unit = s.get(Unit, code)
    return {"for_unit": code, "for_unit_name": unit.name if unit else code}


_UNREAD: Any = object()


def _check_lease(s: Session, by: Actor, case_id: int, now: datetime, lease: CaseLease | None = _UNREAD) -> None:
    """Refuse a seat's action on a case another seat holds (``lease``: already read, e.g. by ``_lock``)."""
    if by.role not in (Role.OPERATOR, Role.LEAD, Role.TRAINER):
        return  # units and the system act from outside the seats
    if lease is _UNREAD:
        lease = s.get(CaseLease, case_id)
    if lease is not None and lease.holder != by.name and lease.expires_at > now:
        raise TakenError(
            tr("Case {id} is open at {who}'s seat; it is theirs until they move on.", id=case_id, who=lease.holder),
            lease.holder,
            lease.acquired_at,
        )


def _lock(s: Session, *case_ids: int) -> dict[int, tuple[Case, CaseLease | None]]:
    """Lock the cases an action reads, in id order, before it reads anything.

    PostgreSQL: ``SELECT … FOR UPDATE``. Without it, each statement of a READ COMMITTED transaction
    sees its own snapshot: an action could read the case at the version the seat saw, then read an
    extension request another seat had just decided, and refuse for the wrong reason instead of
    reporting the conflict. SQLite ignores the clause: its immediate write transaction already holds
    the one write lock. Each case comes with its lease (if any), read in the same round trip.
    """
    ids = sorted(set(case_ids))
    return {case.id: (case, lease) for case, lease in s.execute(_LOCK, {"ids": ids})}


_LOCK = (  # built once: building a statement per action costs more client CPU than sending it
    select(Case, CaseLease)
    .outerjoin(CaseLease, CaseLease.case_id == Case.id)
    .where(Case.id.in_(bindparam("ids", expanding=True)))
    .order_by(Case.id)
    .with_for_update(of=Case)
)


_GUARDED_UPDATE = update(Case.__table__).where(  # type: ignore[arg-type]
    Case.__table__.c.id == bindparam("guard_id"), Case.__table__.c.version == bindparam("guard_version")
)


def _write(
    s: Session,
    by: Actor,
    case: Case,
    values: dict[str, Any],
    action: str,
    reason: str,
    details: dict[str, Any],
    rows: list[Any],
    now: datetime,
) -> Outcome:
    """Apply the new values if the case is still at the version read, and append the event.

    The update and the event go straight to the connection (Core statements built once, the columns
    set named by the values), not through the session's unit of work; the event is sealed onto its
    case's hash chain as the ORM hook would (``chain.insert_sealed``).

    Raises:
        _Lost: someone else changed the case first (the caller's transaction rolls back).
    """
    version = case.version + 1
    from_state, to_state = case.status, values["status"]
    before = stats.snapshot(case)
    values = {**values, "version": version, "last_actor": by.name, "last_action_at": now}
    s.flush()  # anything the action changed through the session (an extension request) goes first
    conn = s.connection()
    result = conn.execute(_GUARDED_UPDATE, {**values, "guard_id": case.id, "guard_version": case.version})
    if result.rowcount != 1:
        raise _Lost
    event = {
        "case_id": case.id,
        "at": now,
        "actor": by.name,
        "actor_role": str(by.role),
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "details": {**details, "version": version},
    }
    event_id = insert_sealed(conn, "case_events", event)
    if rows:
        s.add_all(rows)
        s.flush()
    stats.record_change(s, case.id, before, values, action, now, details)
    outcome = Outcome(case.id, to_state, version, event_id)
    if after_transition:
        loaded = s.get(CaseEvent, event_id)
        assert loaded is not None
        _after(s, case, loaded)
    return outcome


def check_state(case_id: int, status: str, action: str) -> None:
    """Refuse an action the case's state does not allow (the window asks before it opens a dialog).

    Raises:
        InvalidTransitionError: naming the state and the states the action applies to.
    """
    spec = ACTIONS[action]
    if State(status) not in spec.sources:
        raise InvalidTransitionError(
            tr(
                "Case {id} is {state}: {action} applies only to cases that are {states}.",
                id=case_id,
                state=state_label(status),
                action=action_label(action),
                states=tr(" or ").join(state_label(st) for st in State if st in spec.sources),
            )
        )


def check_allowed(by: Actor, case_id: int, status: str, action: str) -> None:
    """Refuse early what ``transition`` would refuse for the actor's role or the case's state.

    Raises:
        PermissionDeniedError, InvalidTransitionError.
    """
    by.require(ACTIONS[action].roles, action_label(action))
    check_state(case_id, status, action)


def transition(
    db: Database,
    by: Actor,
    case_id: int,
    action: str,
    *,
    reason: str = "",
    expected_version: int | None = None,
    prepare: Prepare | None = None,
    for_unit: str | None = None,
    lock: tuple[int, ...] = (),
) -> Outcome:
    """Run one lifecycle action; see the module docstring for the guarantees.

    Args:
        db: the database.
        by: who acts.
        case_id: the case.
        action: an action name of ``domain.lifecycle.ACTIONS``.
        reason: why (required by some actions).
        expected_version: the version the actor saw; a different current version is a conflict.
        prepare: computes (column values, event details) from the current case; may raise.
        for_unit: a unit's action taken by a seat: the unit whose answer it records (default: the
            case's unit). The event keeps both the seat's user (its actor) and the unit.
        lock: other cases the action reads and must hold still (a merge's target). The case and these
            are locked in id order before anything is read (see ``_lock``), so two actions over the
            same pair of cases run one after the other and the second sees what the first did.

    Raises:
        NotFoundError, PermissionDeniedError, InvalidTransitionError, ValidationError, ConflictError.
    """
    spec = ACTIONS[action]
    label = action_label(action)
    by.require(spec.roles, label)
    reason = (reason or "").strip()
    if spec.needs_reason and not reason:
        raise ValidationError(tr("{action} needs a reason.", action=label), {"reason": tr("required")})
    now = utcnow()
    try:
        with db.write() as s:
            locked = _lock(s, case_id, *lock)  # held: the session keeps loaded rows only while referenced
            case, lease = locked.get(case_id, (None, None))
            if case is None:
                raise NotFoundError(tr("There is no case {id}.", id=case_id))
            if expected_version is not None and case.version != expected_version:
                raise _Lost
            if action in DEMO_ONLY_ACTIONS:
                require_demo_for_trainer(s, by, label)
            _check_unit_actor(s, by, case)
            _check_lease(s, by, case_id, now, lease)
            check_state(case_id, case.status, action)
            behalf = _on_behalf(s, by, case, action, for_unit)
            values, details = prepare(s, case) if prepare else ({}, {})
            details.update(behalf)
            rows = details.pop("_rows", [])
            target = spec.target.value if spec.target else case.status
            before = {k: _json(getattr(case, k)) for k in values}
            before["status"] = case.status
            values.update(status=target)
            details = {**{k: _json(v) for k, v in details.items()}, "before": before}
            outcome = _write(s, by, case, values, action, reason, details, rows, now)
    except _Lost as lost:
        raise _conflict(db, lost.case_id or case_id) from None
    notify("case", [case_id])
    return outcome


# -- the actions ------------------------------------------------------------------------------------


def file(
    db: Database, by: Actor, case_id: int, category: str, *, expected_version: int | None = None, note: str = ""
) -> Outcome:
    """File a report under a category: copies the category and computes the handling deadline."""

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        cat = s.get(Category, category)
        if cat is None or not cat.active:
            raise ValidationError(tr("Unknown category {code}.", code=category), {"category": tr("unknown")})
        now = utcnow()
        deadline = calendar_from(s).add(now, cat.time_limit)
        priority = min(case.priority, 1 if cat.urgency == "urgent" else 2)
        values = {
            "category_code": cat.code,
            "category_name": cat.name,
            "category_major": cat.major_name,
            "time_limit": cat.time_limit,
            "closure_standard": cat.closure_standard,
            "filed_at": now,
            "deadline_at": deadline,
            "priority": priority,
        }
        return values, {"category": cat.code, "category_name": cat.name, "limit": cat.time_limit, "deadline": deadline}

    return transition(db, by, case_id, "file", reason=note, expected_version=expected_version, prepare=prepare)


def suggested_unit(s: Session, case: Case) -> Unit | None:
    """The concrete unit the case's category names, resolved at the case's place."""
    if not case.category_code:
        return None
    cat = s.get(Category, case.category_code)
    role = cat.unit if cat else None
    return unit_at(s, role, case.grid_code) if role else None


def _unit_for(s: Session, case: Case, unit: str | None) -> Unit:
    if unit:
        found = unit_at(s, unit.strip(), case.grid_code)
        if found is None:
            hint = (
                tr("the case has no grid, so GRID/STREET/COMMUNITY cannot be resolved")
                if unit.strip().upper() in ("GRID", "STREET", "COMMUNITY")
                else tr("unknown unit")
            )
            raise ValidationError(tr("Cannot dispatch to {unit}: {hint}.", unit=unit, hint=hint), {"unit": hint})
        if not found.active:
            raise ValidationError(tr("Unit {unit} is no longer active.", unit=found.name), {"unit": tr("inactive")})
        return found
    found = suggested_unit(s, case)
    if found is None:
        raise ValidationError(
            tr("Case {id} has no grid, so its category's unit cannot be resolved: name the unit.", id=case.id),
            {"unit": tr("required")},
        )
    return found


def dispatch(
    db: Database,
    by: Actor,
    case_id: int,
    unit: str | None = None,
    *,
    expected_version: int | None = None,
    note: str = "",
) -> Outcome:
    """Dispatch (or re-dispatch) to a unit; without one, to the category's unit at the case's place.

    A case that a unit returned gets a fresh handling deadline when it is dispatched again.
    """

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        if not case.category_code:
            raise ValidationError(
                tr("File the case under a category before dispatching it."), {"category": tr("required")}
            )
        target = _unit_for(s, case, unit)
        now = utcnow()
        values: dict[str, Any] = {"unit_code": target.code, "unit_name": target.name, "dispatched_at": now}
        if case.status == State.RETURNED and case.time_limit:
            values["deadline_at"] = calendar_from(s).add(now, case.time_limit)
        return values, {"unit": target.code, "unit_name": target.name}

    return transition(db, by, case_id, "dispatch", reason=note, expected_version=expected_version, prepare=prepare)


def add_unit(
    db: Database, by: Actor, case_id: int, unit: str, *, expected_version: int | None = None, note: str = ""
) -> Outcome:
    """Add a co-unit (加派) to a dispatched case."""

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        target = _unit_for(s, case, unit)
        existing = set(s.scalars(select(CaseUnit.unit_code).where(CaseUnit.case_id == case.id)))
        if target.code == case.unit_code or target.code in existing:
            raise ValidationError(
                tr("{unit} already works on case {id}.", unit=target.name, id=case.id),
                {"unit": tr("already on the case")},
            )
        row = CaseUnit(case_id=case.id, unit_code=target.code, unit_name=target.name, added_by=by.name)
        return {}, {"unit": target.code, "unit_name": target.name, "_rows": [row]}

    return transition(db, by, case_id, "add_unit", reason=note, expected_version=expected_version, prepare=prepare)


def reject(db: Database, by: Actor, case_id: int, reason: str, *, expected_version: int | None = None) -> Outcome:
    """Reject a report (invalid, out of scope, insufficient information); the reason is required."""
    return transition(db, by, case_id, "reject", reason=reason, expected_version=expected_version)


def merge(
    db: Database,
    by: Actor,
    case_id: int,
    into: int,
    *,
    expected_version: int | None = None,
    expected_into_version: int | None = None,
    note: str = "",
) -> Outcome:
    """Merge a duplicate report into the case it duplicates.

    Both cases are locked (in id order) for the action, and the target is checked under the lock: it
    must not be merged itself or rejected (a closed case may take duplicates: a late report of a solved
    problem is linked to it). So no chain of merges can form a cycle, and two
    seats merging two reports into each other leave exactly one of them open; the loser is told who
    changed its target when it said which version of the target it saw (``expected_into_version``).
    """

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        if into == case.id:
            raise ValidationError(tr("A case cannot be merged into itself."), {"into": tr("same case")})
        target = s.get(Case, into)
        if target is None:
            raise ValidationError(tr("There is no case {id} to merge into.", id=into), {"into": tr("unknown case")})
        if expected_into_version is not None and target.version != expected_into_version:
            raise _Lost(into)
        if target.status == State.MERGED:
            raise ValidationError(
                tr(
                    "Case {id} is itself merged into case {other}: merge into that one.",
                    id=into,
                    other=target.merged_into_id,
                ),
                {"into": tr("merged case")},
            )
        if target.status == State.REJECTED:
            raise ValidationError(
                tr("Case {id} was rejected: choose a case that is being handled.", id=into),
                {"into": tr("rejected case")},
            )
        return {"merged_into_id": into}, {"into": into}

    return transition(
        db, by, case_id, "merge", reason=note, expected_version=expected_version, prepare=prepare, lock=(into,)
    )


def return_case(
    db: Database,
    by: Actor,
    case_id: int,
    reason: str,
    *,
    expected_version: int | None = None,
    for_unit: str | None = None,
) -> Outcome:
    """The unit says the case is not theirs; it goes back to the operator queue."""
    return transition(db, by, case_id, "return", reason=reason, expected_version=expected_version, for_unit=for_unit)


def acknowledge(
    db: Database, by: Actor, case_id: int, *, expected_version: int | None = None, for_unit: str | None = None
) -> Outcome:
    """The unit acknowledges the case (签收)."""
    return transition(db, by, case_id, "acknowledge", expected_version=expected_version, for_unit=for_unit)


def handle(
    db: Database,
    by: Actor,
    case_id: int,
    result: str,
    photos: list[str] | None = None,
    *,
    expected_version: int | None = None,
    for_unit: str | None = None,
) -> Outcome:
    """The unit reports its result (text and photo references)."""
    if not (result or "").strip():
        raise ValidationError(tr("Say what was done (the result)."), {"result": tr("required")})

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {"result_text": result.strip(), "result_photos": list(photos or []), "handled_at": utcnow()},
            {"photos": list(photos or [])},
        )

    return transition(
        db, by, case_id, "handle", reason=result, expected_version=expected_version, prepare=prepare, for_unit=for_unit
    )


def _limit(text: str) -> Limit:
    try:
        return Limit.parse(text)
    except LimitError as exc:
        raise ValidationError(str(exc), {"limit": str(exc)}) from None


def request_extension(
    db: Database,
    by: Actor,
    case_id: int,
    limit: str,
    reason: str,
    *,
    expected_version: int | None = None,
    for_unit: str | None = None,
) -> Outcome:
    """The unit asks for more time (延期); a shift lead decides."""
    extra = _limit(limit)

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        pending = s.scalar(
            select(func.count())
            .select_from(ExtensionRequest)
            .where(ExtensionRequest.case_id == case.id, ExtensionRequest.status == "pending")
        )
        if pending:
            raise ValidationError(
                tr("Case {id} already has an extension request waiting for a decision.", id=case.id),
                {"limit": tr("pending request")},
            )
        row = ExtensionRequest(case_id=case.id, requested_by=by.name, time_limit=str(extra), reason=reason)
        return {}, {"limit": str(extra), "_rows": [row]}

    return transition(
        db,
        by,
        case_id,
        "request_extension",
        reason=reason,
        expected_version=expected_version,
        prepare=prepare,
        for_unit=for_unit,
    )


def decide_extension(
    db: Database, by: Actor, case_id: int, approve: bool, reason: str = "", *, expected_version: int | None = None
) -> Outcome:
    """A shift lead approves (the deadline moves by the requested limit) or refuses an extension."""

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        req = s.scalar(
            select(ExtensionRequest).where(ExtensionRequest.case_id == case.id, ExtensionRequest.status == "pending")
        )
        if req is None:
            raise ValidationError(
                tr("Case {id} has no extension request waiting.", id=case.id), {"case": tr("no pending request")}
            )
        now = utcnow()
        req.status = "approved" if approve else "refused"
        req.decided_by, req.decided_at, req.decision_reason = by.name, now, reason
        values: dict[str, Any] = {}
        details: dict[str, Any] = {"approved": approve, "limit": req.time_limit, "request": req.id}
        if approve:
            new = calendar_from(s).add(max(case.deadline_at or now, now), req.time_limit)
            req.new_deadline_at = new
            values["deadline_at"] = new
            details["deadline"] = new
        return values, details

    return transition(
        db, by, case_id, "decide_extension", reason=reason, expected_version=expected_version, prepare=prepare
    )


def verify(
    db: Database, by: Actor, case_id: int, verifier: str = "", *, expected_version: int | None = None
) -> Outcome:
    """Ask the grid member on site to confirm the unit's result (待核查)."""

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {"verifier": verifier}

    return transition(db, by, case_id, "verify", expected_version=expected_version, prepare=prepare)


def close(db: Database, by: Actor, case_id: int, note: str = "", *, expected_version: int | None = None) -> Outcome:
    """Close a verified case: its closure standard is met."""

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"closed_at": utcnow()}, {"closure_standard": case.closure_standard or ""}

    return transition(db, by, case_id, "close", reason=note, expected_version=expected_version, prepare=prepare)


def rework(
    db: Database, by: Actor, case_id: int, reason: str, limit: str | None = None, *, expected_version: int | None = None
) -> Outcome:
    """Verification failed: back to the unit, with the same deadline or a new one from now."""
    extra = _limit(limit) if limit else None

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        values: dict[str, Any] = {"handled_at": None}
        details: dict[str, Any] = {}
        if extra is not None:
            values["deadline_at"] = calendar_from(s).add(utcnow(), extra)
            details = {"limit": str(extra), "deadline": values["deadline_at"]}
        return values, details

    return transition(db, by, case_id, "rework", reason=reason, expected_version=expected_version, prepare=prepare)


def supervise(db: Database, by: Actor, case_id: int, note: str = "", *, expected_version: int | None = None) -> Outcome:
    """Mark an overdue case as supervised (督办) and notify its unit."""

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        if not is_overdue(case.status, case.deadline_at):
            raise ValidationError(
                tr("Case {id} is not overdue; supervision is for overdue cases.", id=case.id),
                {"case": tr("not overdue")},
            )
        return {"supervised_at": utcnow()}, {"unit": case.unit_code}

    return transition(db, by, case_id, "supervise", reason=note, expected_version=expected_version, prepare=prepare)


def suspend(db: Database, by: Actor, case_id: int, reason: str, *, expected_version: int | None = None) -> Outcome:
    """Suspend (挂账) a case that cannot be solved in time even after extension; explanation required."""
    return transition(db, by, case_id, "suspend", reason=reason, expected_version=expected_version)


def resume(db: Database, by: Actor, case_id: int, note: str = "", *, expected_version: int | None = None) -> Outcome:
    """Take a suspended case up again."""
    return transition(db, by, case_id, "resume", reason=note, expected_version=expected_version)


def reopen(db: Database, by: Actor, case_id: int, reason: str, *, expected_version: int | None = None) -> Outcome:
    """A shift lead reopens a rejected or merged report: it is back in the queue."""

    def prepare(s: Session, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"merged_into_id": None}, {}

    return transition(db, by, case_id, "reopen", reason=reason, expected_version=expected_version, prepare=prepare)


def is_overdue(status: str, deadline: datetime | None, now: datetime | None = None) -> bool:
    """Overdue is derived: the deadline has passed and the case is not finished."""
    return deadline is not None and State(status) in RUNNING and deadline < (now or utcnow())


_UNDOABLE = {
    "file",
    "reject",
    "merge",
    "dispatch",
    "verify",
    "close",
    "rework",
    "return",
    "acknowledge",
    "handle",
    "supervise",
    "suspend",
    "resume",
    "reopen",
}


def undo(db: Database, by: Actor, case_id: int, window: timedelta = UNDO_WINDOW) -> Outcome:
    """Undo the actor's last action on a case, within the window, if no one has acted on it since.

    The undo is itself an event: the history keeps both.
    """
    now = utcnow()
    try:
        with db.write() as s:
            locked = _lock(s, case_id)
            case = locked[case_id][0] if case_id in locked else None
            if case is None:
                raise NotFoundError(tr("There is no case {id}.", id=case_id))
            _check_lease(s, by, case_id, now)  # another seat's hold on the case counts for undo too
            last = s.scalar(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc()).limit(1)
            )
            if last is None or last.actor != by.name or last.action not in _UNDOABLE:
                raise ValidationError(
                    tr(
                        "Nothing of yours to undo on case {id}: someone acted on it after you, "
                        "or your last action cannot be undone.",
                        id=case_id,
                    ),
                    {"case": "undo"},
                )
            if now - last.at > window:
                raise ValidationError(
                    tr("Too late to undo: undo works for {n} seconds after an action.", n=int(window.total_seconds())),
                    {"case": "undo"},
                )
            before = dict(last.details.get("before", {}))
            values: dict[str, Any] = {}
            for key, value in before.items():
                column = Case.__table__.columns[key]
                if value is not None and isinstance(column.type, UTCDateTime):
                    value = datetime.fromisoformat(value)
                values[key] = value
            details = {"undone": last.id, "undone_action": last.action}
            outcome = _write(s, by, case, values, "undo", "", details, [], now)
    except _Lost:
        raise _conflict(db, case_id) from None
    notify("case", [case_id])
    return outcome
