"""Schema upgrades: bring a database to this program's schema, safely.

An SQLite file is copied aside before an upgrade changes it; a database whose schema is newer than
this program is refused with a message that says what to do.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from workstation.i18n import tr
from workstation.services.errors import WorkstationError
from workstation.storage.db import sqlite_file

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaTooNewError(WorkstationError):
    """The database was written by a newer version of the program."""


@dataclass(frozen=True)
class UpgradeResult:
    """What an upgrade did."""

    before: str | None
    after: str
    backup: Path | None

    # Revisions are shown joined with '+' when independent modules keep their tables on branches.

    @property
    def changed(self) -> bool:
        """Whether the schema was changed."""
        return self.before != self.after


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration pointing at the shipped migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    """The newest schema revision(s) this program knows, joined with '+'."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return "+".join(sorted(heads))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The schema revisions the database is at (empty for an empty database)."""
    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def current_revision(engine: Engine) -> str | None:
    """The schema revision(s) the database is at, joined with '+' (None for an empty database)."""
    return "+".join(current_revisions(engine)) or None


def _backup_sqlite(path: Path, revision: str | None) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{revision or 'empty'}.{stamp}.bak")
    src = sqlite3.connect(str(path))
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return target


def upgrade(engine: Engine) -> UpgradeResult:
    """Bring the database to the newest schema; refuse one that is newer than this program.

    Raises:
        SchemaTooNewError: the database's revision is unknown to this program.
    """
    script = ScriptDirectory.from_config(alembic_config())
    head = "+".join(sorted(script.get_heads()))
    revisions = current_revisions(engine)
    before = "+".join(revisions) or None
    if any(not _known(script, rev) for rev in revisions):
        raise SchemaTooNewError(
            tr(
                "The database schema ({found}) is newer than this program knows (up to {head}). "
                "Install the newer version of the workstation that wrote it; nothing was changed.",
                found=before,
                head=head,
            )
        )
    if before == head:
        return UpgradeResult(before, head, None)
    backup = None
    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    if path is not None and path.exists() and before is not None:
        backup = _backup_sqlite(path, before)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    return UpgradeResult(before, head, backup)


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def has_schema(engine: Engine) -> bool:
    """Whether the database has this program's tables at all."""
    return "cases" in inspect(engine).get_table_names()
