"""The trainer's role outside training: what only a demo database lets a trainer do.

A trainer acts as a shift lead and a verifier while teaching, on a demo database (the one demo mode
seeds with its world, marked by a ``demo.world.<seed>`` row in ``meta``). On any other database a
trainer may not verify, close, send back, decide extensions, supervise, suspend, resume or reopen,
nor read the care roster's person pages and worklists.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import Meta
from workstation.services.actors import Actor
from workstation.services.errors import PermissionDeniedError

DEMO_ONLY_ACTIONS: Final = frozenset(
    {"verify", "close", "rework", "decide_extension", "supervise", "suspend", "resume", "reopen"}
)
_MARKER: Final = "demo.world."


def is_demo_database(s: Session) -> bool:
    """Whether this database holds a demo world (demo mode's throwaway database)."""
    return s.scalar(select(Meta.key).where(Meta.key.startswith(_MARKER, autoescape=True)).limit(1)) is not None


def require_demo_for_trainer(s: Session, by: Actor, what: str) -> None:
    """Refuse a trainer outside a demo database (anyone else passes).

    Raises:
        PermissionDeniedError: naming what the trainer may do only in demo mode.
    """
    if by.role == Role.TRAINER and not is_demo_database(s):
        raise PermissionDeniedError(
            tr(
                "{user} (trainer) may {what} only in demo mode (python -m workstation --demo); on this "
                "database it needs a shift lead.",
                user=by.name,
                what=what,
            )
        )
