"""The case lifecycle: states, actions, which states each action starts from, and who may take it.

This table is the single source of truth for transitions; the services enforce it, the window and
the command line only offer what it allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """Every state a case can be in."""

    REPORTED = "reported"
    REJECTED = "rejected"
    MERGED = "merged"
    FILED = "filed"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    IN_PROGRESS = "in_progress"
    HANDLED = "handled"
    VERIFYING = "verifying"
    CLOSED = "closed"
    REWORK = "rework"
    SUSPENDED = "suspended"


class Role(StrEnum):
    """Account roles."""

    OPERATOR = "operator"
    LEAD = "lead"
    STATION = "station"
    TRAINER = "trainer"
    ADMIN = "admin"
    UNIT = "unit"
    SYSTEM = "system"


def N_(text: str) -> str:
    """Mark a string for translation where it is defined; ``tr()`` translates it where it is shown."""
    return text


STATE_NAMES: dict[State, str] = {
    State.REPORTED: N_("new"),
    State.REJECTED: N_("rejected"),
    State.MERGED: N_("merged"),
    State.FILED: N_("filed"),
    State.DISPATCHED: N_("dispatched"),
    State.RETURNED: N_("returned"),
    State.IN_PROGRESS: N_("in progress"),
    State.HANDLED: N_("handled"),
    State.VERIFYING: N_("verifying"),
    State.CLOSED: N_("closed"),
    State.REWORK: N_("rework"),
    State.SUSPENDED: N_("suspended"),
}

ROLE_NAMES: dict[str, str] = {
    "operator": N_("seat operator"),
    "lead": N_("shift lead"),
    "station": N_("station staff"),
    "trainer": N_("trainer"),
    "admin": N_("administrator"),
    "unit": N_("unit account"),
    "system": N_("system"),
}

ACTION_NAMES: dict[str, str] = {
    "report": N_("report"),
    "report_update": N_("source update"),  # a re-delivered, changed report (not a user action)
    "source_status": N_("source status"),  # the source closed or reopened the report (intake.ingest)
    "file": N_("file"),
    "reject": N_("reject"),
    "merge": N_("merge"),
    "dispatch": N_("dispatch"),
    "add_unit": N_("add co-unit"),
    "return": N_("return"),
    "acknowledge": N_("acknowledge"),
    "handle": N_("report result"),
    "request_extension": N_("request extension"),
    "decide_extension": N_("decide extension"),
    "verify": N_("send to verification"),
    "close": N_("close"),
    "rework": N_("rework"),
    "supervise": N_("supervise"),
    "suspend": N_("suspend"),
    "resume": N_("resume"),
    "reopen": N_("reopen"),
    "undo": N_("undo"),
}

# States in which the handling deadline runs: past it, the case is overdue.
RUNNING = frozenset({State.FILED, State.DISPATCHED, State.RETURNED, State.IN_PROGRESS, State.REWORK})
# States in which nothing more happens unless a shift lead reopens.
FINAL = frozenset({State.REJECTED, State.MERGED, State.CLOSED})

_DESK = frozenset({Role.OPERATOR, Role.LEAD, Role.TRAINER})
_LEAD = frozenset({Role.LEAD, Role.TRAINER})
# Unit actions: the unit's own liaison account, or a seat recording what the unit said by phone.
_UNIT = frozenset({Role.UNIT, Role.OPERATOR, Role.LEAD, Role.TRAINER})
# The unit's own actions: taken by a seat, they are recorded as said by the unit on the phone.
UNIT_ACTIONS = frozenset({"return", "acknowledge", "handle", "request_extension"})


@dataclass(frozen=True)
class Action:
    """One lifecycle action."""

    name: str
    sources: frozenset[State]
    target: State | None  # None: the state stays as it is
    roles: frozenset[Role]
    needs_reason: bool = False


def _a(
    name: str, sources: set[State], target: State | None, roles: frozenset[Role], needs_reason: bool = False
) -> Action:
    return Action(name, frozenset(sources), target, roles, needs_reason)


S = State
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        _a("file", {S.REPORTED, S.RETURNED}, S.FILED, _DESK),
        _a("reject", {S.REPORTED, S.RETURNED}, S.REJECTED, _DESK, needs_reason=True),
        _a("merge", {S.REPORTED, S.RETURNED}, S.MERGED, _DESK),
        _a("dispatch", {S.FILED, S.RETURNED, S.DISPATCHED, S.IN_PROGRESS, S.REWORK}, S.DISPATCHED, _DESK),
        _a("add_unit", {S.DISPATCHED, S.IN_PROGRESS, S.REWORK}, None, _DESK),
        _a("return", {S.DISPATCHED}, S.RETURNED, _UNIT, needs_reason=True),
        _a("acknowledge", {S.DISPATCHED, S.REWORK}, S.IN_PROGRESS, _UNIT),
        _a("handle", {S.DISPATCHED, S.IN_PROGRESS, S.REWORK}, S.HANDLED, _UNIT),
        _a("request_extension", {S.DISPATCHED, S.IN_PROGRESS, S.REWORK}, None, _UNIT, needs_reason=True),
        _a("decide_extension", {S.DISPATCHED, S.IN_PROGRESS, S.REWORK, S.HANDLED}, None, _LEAD),
        _a("verify", {S.HANDLED}, S.VERIFYING, _DESK),
        _a("close", {S.VERIFYING}, S.CLOSED, _DESK),
        _a("rework", {S.VERIFYING, S.HANDLED}, S.REWORK, _DESK, needs_reason=True),
        _a("supervise", {S.FILED, S.DISPATCHED, S.IN_PROGRESS, S.REWORK, S.RETURNED}, None, _LEAD),
        _a("suspend", {S.DISPATCHED, S.IN_PROGRESS, S.REWORK}, S.SUSPENDED, _LEAD, needs_reason=True),
        _a("resume", {S.SUSPENDED}, S.DISPATCHED, _LEAD),
        _a("reopen", {S.REJECTED, S.MERGED}, S.REPORTED, _LEAD, needs_reason=True),
    ]
}


def allowed(action: str, state: str) -> bool:
    """Whether ``action`` applies to a case in ``state``."""
    return State(state) in ACTIONS[action].sources


def available(state: str, role: str) -> list[str]:
    """The actions a user of ``role`` may take on a case in ``state``."""
    st, rl = State(state), Role(role)
    return [a.name for a in ACTIONS.values() if st in a.sources and rl in a.roles]
