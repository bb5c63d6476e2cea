"""The record of account changes: who created, disabled, re-roled or unlocked whom, and when.

Every service that changes an account, an API token or a sign-in lock writes one entry here in the
same transaction as the change (a refused change writes nothing). The table is append-only and
hash-chained (``models/chain.py``), so ``workstation audit verify`` finds an entry changed, removed
or inserted by hand. Entries never hold a password, a password hash or a token.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import N_, Role
from workstation.i18n import role_label, tr
from workstation.models.account import AccountEvent
from workstation.models.base import utcnow
from workstation.services.actors import Actor
from workstation.storage.db import Database

# action -> how it reads
ACTIONS = {
    "create": N_("account created"),
    "disable": N_("account disabled"),
    "enable": N_("account enabled"),
    "password": N_("password reset"),
    "role": N_("role changed"),
    "place": N_("community or unit changed"),
    "unlock": N_("sign-in lock cleared"),
    "token_add": N_("API token issued"),
    "token_revoke": N_("API token revoked"),
}


# details key -> label
DETAILS = {
    "role": N_("role"),
    "previous": N_("was"),
    "community": N_("community"),
    "unit": N_("unit"),
    "name": N_("token name"),
    "token": N_("token"),
    "kind": N_("lock of"),
}


def details_text(details: dict[str, Any]) -> str:
    """``role 值班长 · was 坐席操作员 · community …`` in the language in force."""
    parts = []
    for key, label in DETAILS.items():
        value = details.get(key)
        if value in (None, ""):
            continue
        if key in ("role", "previous"):
            value = role_label(str(value))
        elif key == "kind":
            value = tr("user name") if value == "user" else tr("source")
        parts.append(f"{tr(label)} {value}")
    return " · ".join(parts)


def action_text(action: str) -> str:
    """An action in words, in the language in force."""
    return tr(ACTIONS[action]) if action in ACTIONS else action


def record(s: Session, by: Actor | None, subject: str, action: str, **details: Any) -> None:
    """Write one entry in the caller's transaction (``by`` None: the first administrator creating itself)."""
    assert action in ACTIONS, action
    s.add(
        AccountEvent(
            at=utcnow(),
            actor=by.name if by else subject,
            actor_role=by.role if by else Role.ADMIN.value,
            subject=subject,
            action=action,
            details={k: v for k, v in details.items() if v is not None},
        )
    )


def history(db: Database, by: Actor, subject: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The newest entries first (of one account, token owner or source when ``subject`` is given).

    Raises:
        PermissionDeniedError: not an administrator.
    """
    by.require([Role.ADMIN], tr("read the record of account changes"))
    query = select(AccountEvent).order_by(AccountEvent.id.desc()).limit(limit)
    if subject:
        query = query.where(AccountEvent.subject == subject)
    with db.read() as s:
        return [_row(e) for e in s.scalars(query)]


def _row(e: AccountEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "actor_role": e.actor_role,
        "subject": e.subject,
        "action": e.action,
        "action_label": action_text(e.action),
        "details": dict(e.details or {}),
    }
