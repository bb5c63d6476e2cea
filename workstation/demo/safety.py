"""Demo mode never writes to the configured production database.

Demo mode runs on a throwaway SQLite file in a fresh temporary directory. :func:`assert_demo_url`
refuses, before anything is opened or created, a URL that is the configured production database
(``--db``/``WORKSTATION_DB``, else the embedded file) or that is not a temporary database: only an
in-memory SQLite database or an SQLite file under the system's temporary directory qualifies.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from workstation.demo.world import Progress, WorldSummary, seed_world, world_exists
from workstation.i18n import tr
from workstation.services.errors import WorkstationError
from workstation.storage.bootstrap import open_database
from workstation.storage.db import ENV_DB, Database, default_db_path, resolve_db_url


class DemoSafetyError(WorkstationError):
    """Demo mode was pointed at a database it must not write to."""


def production_url() -> str:
    """The configured production database's URL, resolved without creating anything."""
    configured = os.environ.get(ENV_DB)
    return resolve_db_url(configured) if configured else f"sqlite:///{default_db_path()}"


def demo_database_url(seed: int = 1) -> str:
    """A throwaway SQLite URL in a new temporary directory."""
    folder = tempfile.mkdtemp(prefix="workstation-demo-")
    return f"sqlite:///{Path(folder) / f'demo-{seed}.sqlite'}"


def _identity(url: str) -> tuple[str, str]:
    """What a URL points at: ("sqlite", resolved file) or (backend, user@host:port/database)."""
    try:
        parsed = make_url(resolve_db_url(url))
    except ArgumentError:
        return ("?", url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ":memory:"
        if database == ":memory:":
            return ("sqlite", ":memory:")
        return ("sqlite", str(Path(database).expanduser().resolve()))
    return (backend, f"{parsed.username or ''}@{parsed.host or ''}:{parsed.port or ''}/{parsed.database or ''}")


def is_production(url: str, production: str | None = None) -> bool:
    """Whether ``url`` names the configured production database (however it is spelled)."""
    return _identity(url) == _identity(production or production_url())


def _temporary(path: str) -> bool:
    temp = Path(tempfile.gettempdir()).resolve()
    return path == ":memory:" or Path(path).is_relative_to(temp)


def assert_demo_url(url: str, production: str | None = None) -> str:
    """Return ``url`` if demo mode may write to it.

    Args:
        url: the database demo mode is about to open.
        production: the production database's URL (default: the configured one).

    Raises:
        DemoSafetyError: it is the production database, or not a temporary SQLite database.
    """
    target = _identity(url)
    if is_production(url, production):
        raise DemoSafetyError(
            tr("Demo mode refuses {url}: it is the configured production database. Nothing was written.", url=url)
        )
    if target[0] != "sqlite" or not _temporary(target[1]):
        raise DemoSafetyError(
            tr(
                "Demo mode refuses {url}: demo data goes only to a throwaway SQLite database in the temporary "
                "directory. Nothing was written.",
                url=url,
            )
        )
    return url


@dataclass(frozen=True)
class DemoDatabase:
    """An open demo database and the world seeded into it (None: it was there already)."""

    db: Database
    url: str
    world: WorldSummary | None


def open_demo(
    seed: int = 1,
    *,
    cases: int = 20000,
    people: int = 2000,
    url: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    opener: Callable[[str], Database] = open_database,
) -> DemoDatabase:
    """The entry point of demo mode: a checked throwaway database with a seeded world.

    Raises:
        DemoSafetyError: ``url`` is the production database or not a temporary one (checked before
            anything is opened, so nothing is created or written).
    """
    url = assert_demo_url(url or demo_database_url(seed))
    db = opener(url)
    world = None if world_exists(db, seed) else seed_world(db, seed, cases, people, progress, now=now)
    return DemoDatabase(db, url, world)
