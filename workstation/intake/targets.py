"""Outbound targets as the database knows them: which unit systems and Open311 peers get messages.

The lifecycle hook reads this table inside each action's transaction, so every seat writes the same
outbox rows. The settings file is the usual way to fill it (``sync_targets``); credentials stay in
the settings file and are looked up by target name when sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from workstation.domain.lifecycle import ACTIONS, Role
from workstation.i18n import tr
from workstation.intake.settings import TARGET_KINDS, Settings
from workstation.models import OutboundTarget, utcnow
from workstation.services.actors import SYSTEM, Actor
from workstation.services.errors import ValidationError
from workstation.services.notices import notify
from workstation.storage.db import Database

EVENTS = (*ACTIONS, "undo")


def _check(kind: str, url: str, units: Sequence[str], source: str | None, events: Sequence[str]) -> None:
    errors: dict[str, str] = {}
    if kind not in TARGET_KINDS:
        errors["kind"] = tr("one of: {kinds}", kinds=", ".join(TARGET_KINDS))
    if not url.startswith(("http://", "https://")):
        errors["url"] = tr("an http:// or https:// address")
    if kind == "webhook" and not units:
        errors["units"] = tr("required: the unit codes this webhook serves")
    if kind == "open311" and not source:
        errors["source"] = tr("required: the Open311 source whose requests are updated")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        errors["events"] = tr("unknown action(s): {names}", names=", ".join(unknown))
    if errors:
        raise ValidationError("; ".join(f"{k}: {v}" for k, v in errors.items()), errors)


def set_target(
    db: Database,
    by: Actor,
    name: str,
    kind: str,
    url: str,
    *,
    units: Sequence[str] = (),
    source: str | None = None,
    events: Sequence[str] = (),
    active: bool = True,
) -> None:
    """Add or change one target (``events`` empty: every action).

    Raises:
        PermissionDeniedError: not an administrator.
        ValidationError: each bad field named.
    """
    by.require([Role.ADMIN, Role.SYSTEM], tr("configure outbound targets"))
    _check(kind, url, units, source, events)
    with db.write() as s:
        row = s.get(OutboundTarget, name) or OutboundTarget(name=name)
        row.kind, row.url, row.units, row.source = kind, url, list(units), source
        row.events, row.active, row.updated_at = list(events), active, utcnow()
        s.add(row)
    notify("outbound_target", [])


def sync_targets(db: Database, settings: Settings, by: Actor = SYSTEM) -> int:
    """Make the table say what the settings file says; targets no longer in it are deactivated.

    Returns:
        The number of active targets.
    """
    for t in settings.targets:
        set_target(db, by, t.name, t.kind, t.url, units=t.units, source=t.source, events=t.events, active=t.active)
    names = {t.name for t in settings.targets}
    with db.write() as s:
        for row in s.scalars(select(OutboundTarget)):
            if row.name not in names and row.active:
                row.active = False
    return sum(1 for t in settings.targets if t.active)


def _differs(db: Database, settings: Settings) -> bool:
    wanted = {t.name: (t.kind, t.url, list(t.units), t.source, list(t.events), t.active) for t in settings.targets}
    with db.read() as s:
        rows = s.scalars(select(OutboundTarget)).all()
        have = {r.name: (r.kind, r.url, list(r.units), r.source, list(r.events), r.active) for r in rows}
    stale = any(active for name, (*_, active) in have.items() if name not in wanted)
    return stale or any(have.get(name) != value for name, value in wanted.items())


def ensure_configured_targets(db: Database, path: str | Path | None = None) -> str | None:
    """Make the targets of the settings file known before any case changes (writes only on a difference).

    The outbox hook writes a message only for targets in the table, so a case dispatched before the
    first ``intake run`` would never get its message if the table were filled only by the poller.
    The command line and the window call this when they open the database. No settings file: nothing
    to do.

    Returns:
        None, or a sentence saying why the settings file could not be used (the table is left as it was).
    """
    from workstation.intake.settings import default_path, load_settings
    from workstation.services.errors import WorkstationError

    file = Path(path) if path else default_path()
    if not file.exists():
        return None
    try:
        settings = load_settings(file)
        if _differs(db, settings):
            sync_targets(db, settings)
    except WorkstationError as exc:
        return tr("The intake settings {path} were not used: {reason}", path=file, reason=exc.message)
    return None


def list_targets(db: Database) -> list[dict[str, Any]]:
    """Every target."""
    with db.read() as s:
        return [
            {
                "name": t.name,
                "kind": t.kind,
                "url": t.url,
                "units": t.units,
                "source": t.source,
                "events": t.events,
                "active": t.active,
            }
            for t in s.scalars(select(OutboundTarget).order_by(OutboundTarget.name))
        ]
