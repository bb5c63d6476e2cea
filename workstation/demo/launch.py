"""Opening demo mode within seconds: a seeded training world kept as a template, copied for each session.

Seeding the full world (20,000 cases with their histories, the care roster) takes about ten seconds,
so it is done once and kept as a *template*: an SQLite file in the user's cache directory, keyed by
the seed, the sizes, the program's version, its schema heads and the world generator's own files.
Every session copies the template into a fresh throwaway database (``demo.safety``) and so starts
from the same world; copying takes a few hundredths of a second.

On the very first run there is no full template yet: :func:`open_session` then opens on a small
world (a few hundred cases, seeded in under a second and cached as well) and reports that the full
one is missing; the window builds it in the background with :func:`build_template` and switches to
it on the next reset. Nothing here imports Qt.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from platformdirs import user_cache_dir
from sqlalchemy import select
from sqlalchemy.engine import make_url

from workstation import __version__
from workstation.demo.history import STATE_MIX
from workstation.demo.safety import DemoSafetyError, assert_demo_url, demo_database_url
from workstation.demo.world import TRAINER, seed_world
from workstation.i18n import tr
from workstation.models import Meta
from workstation.resources import resource_path
from workstation.services.accounts import find_actor
from workstation.services.actors import Actor
from workstation.services.calendar import load_calendar
from workstation.storage.bootstrap import open_database
from workstation.storage.db import APP_NAME, Database
from workstation.storage.migrate import head_revision

log = logging.getLogger(__name__)

FULL_CASES = 20000
FULL_PEOPLE = 2000
SMALL_CASES = 600
SMALL_PEOPLE = 0
FORMAT = 3
"""Bump when what a template holds changes in a way the other parts of its key do not show."""
DESK_STATES = ("reported", "returned", "handled", "verifying")
"""The states in which a case waits for the operator desk: the training world has none (the previous
shift cleared the desk), so that every case in the trainee's queues is one of their run, with its answer."""
TRAINING_MIX = {state: share for state, share in STATE_MIX.items() if state not in DESK_STATES}
WORLD_START = (9, 0)
"""The local time of day the training world ends at, and the simulation starts from."""
_GENERATOR_FILES = ("world.py", "history.py", "pictures.py", "texts.py", "phrases.py", "people.py", "reference.py")
_RESOURCE_FILES = ("territory.json", "catalogue.json", "units.json", "calendar.json", "care_groups.json")

Progress = Callable[[float, str], None]
"""``progress(fraction, label)``: how far a template build is, 0.0 to 1.0."""

# Where each phase of a build lies on the way from 0 to 1 (measured: planning is the longest).
_PHASES = {
    "opening": (0.0, 0.06),
    "planning cases": (0.06, 0.48),
    "writing cases": (0.48, 0.62),
    "writing history": (0.62, 0.82),
    "writing the care roster": (0.82, 0.97),
    "storing": (0.97, 1.0),
}


class BuildCancelled(Exception):
    """A template build was stopped before it finished (the window closed)."""


def cache_dir() -> Path:
    """Where templates are kept: ``<user cache dir>/demo``."""
    return Path(user_cache_dir(APP_NAME, appauthor=False)) / "demo"


def _digest() -> str:
    """What the templates of this program depend on, besides seed and sizes, as a short hash."""
    h = hashlib.sha256(f"{FORMAT}|{__version__}|{head_revision()}".encode())
    here = Path(__file__).resolve().parent
    for name in _GENERATOR_FILES:
        h.update((here / name).read_bytes())
    for name in _RESOURCE_FILES:
        path = resource_path(name)
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


_DIGEST: str | None = None


def digest() -> str:
    """The program part of the template key (computed once per process)."""
    global _DIGEST
    if _DIGEST is None:
        _DIGEST = _digest()
    return _DIGEST


def template_path(seed: int, cases: int, people: int, cache: Path | None = None) -> Path:
    """The template file of a world: seed, sizes, program version, schema heads, generator files."""
    return (cache or cache_dir()) / f"world-{digest()}-s{seed}-c{cases}-p{people}.sqlite"


def world_now(real: datetime | None = None, tz: ZoneInfo | None = None) -> datetime:
    """The instant a new world ends at: 09:00 local on the latest Monday to Friday up to today."""
    zone = tz or ZoneInfo("Asia/Shanghai")
    local = (real or datetime.now(UTC)).astimezone(zone)
    day = local.date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime(day.year, day.month, day.day, *WORLD_START, tzinfo=zone).astimezone(UTC)


def _scaled(progress: Progress | None, cancelled: Callable[[], bool] | None) -> Callable[[int, int, str], None]:
    def report(done: int, total: int, label: str) -> None:
        if cancelled is not None and cancelled():
            raise BuildCancelled
        if progress is not None:
            low, high = _PHASES.get(label, (0.0, 1.0))
            progress(low + (high - low) * (done / total if total else 1.0), label)

    return report


def _seed(db: Database, seed: int, cases: int, people: int, now: datetime | None, report: Any) -> None:
    end = now or world_now(tz=load_calendar(db).tz)
    report(1, 1, "opening")
    seed_world(db, seed, cases, people, report, now=end, mix=TRAINING_MIX)


def _store(source: Path, target: Path) -> None:
    """Copy a database (even one open in WAL mode) into the cache as one self-contained file, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(part))
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(part, target)


def build_template(
    seed: int,
    cases: int,
    people: int,
    cache: Path | None = None,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Seed a training world into a throwaway database, then store it as the template of (seed, sizes, program).

    The world has no case waiting at the operator desk (:data:`DESK_STATES`): the trainee's queues
    fill with the reports of their run only.

    The world is written in a new temporary directory (checked by ``demo.safety``) and moved into the
    cache only when complete, under its final name in one step: a build that fails or is cancelled
    leaves no template behind, and two programs building at once do not harm each other.

    Args:
        seed: the world's seed.
        cases: historic cases.
        people: people on the care roster.
        cache: the template directory (default :func:`cache_dir`).
        now: the instant the world ends at (default :func:`world_now`).
        progress: called as ``progress(fraction, label)``.
        cancelled: asked now and then; True stops the build with :class:`BuildCancelled`.

    Returns:
        The template file.
    """
    target = template_path(seed, cases, people, cache)
    report = _scaled(progress, cancelled)
    started = time.perf_counter()
    url = assert_demo_url(demo_database_url(seed))
    folder = _folder_of(url)
    try:
        report(0, 1, "opening")
        db = open_database(url)
        try:
            _seed(db, seed, cases, people, now, report)
        finally:
            db.dispose()
        report(0, 1, "storing")
        _store(Path(make_url(url).database or ""), target)
        report(1, 1, "storing")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("demo template %s built in %.1f s", target.name, time.perf_counter() - started)
    _forget_stale(target)
    return target


def _forget_stale(current: Path) -> None:
    """Remove templates of other program versions, and parts of builds that died an hour ago or more."""
    prefix = f"world-{digest()}-"
    for path in current.parent.glob("world-*"):
        stale = not path.name.startswith(prefix) and path.suffix == ".sqlite"
        dead = path.suffix == ".part" and time.time() - path.stat().st_mtime > 3600
        if stale or dead:
            with contextlib.suppress(OSError):
                path.unlink()


def _folder_of(url: str) -> Path:
    return Path(make_url(url).database or "").parent


# -- sessions -----------------------------------------------------------------------------------------


@dataclass
class DemoSession:
    """One demo session: its throwaway database, the trainer signed in, and the templates behind it."""

    db: Database
    actor: Actor
    seed: int
    url: str
    cases: int
    people: int
    small_cases: int
    small_people: int
    cache: Path
    template: Path
    opened_seconds: float = 0.0
    now: datetime | None = None
    resets: int = field(default=0)

    @property
    def file(self) -> Path:
        """The session's database file."""
        return Path(make_url(self.url).database or "")

    @property
    def full_template(self) -> Path:
        """The template of the full world (it may not exist yet)."""
        return template_path(self.seed, self.cases, self.people, self.cache)

    @property
    def full_ready(self) -> bool:
        """Whether the full world's template exists."""
        return self.full_template.exists()

    @property
    def on_full_world(self) -> bool:
        """Whether this session runs on the full world (not the small first-run one)."""
        return self.template == self.full_template

    def build_full(self, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> Path:
        """Build the full world's template (slow: call it from a background thread)."""
        return build_template(
            self.seed, self.cases, self.people, self.cache, now=self.now, progress=progress, cancelled=cancelled
        )

    def world_now(self) -> datetime:
        """The instant the world in the session database ends at."""
        with self.db.read() as s:
            meta = s.get(Meta, f"demo.world.{self.seed}")
            if meta is not None:
                return datetime.fromisoformat(json.loads(meta.value)["now"]).astimezone(UTC)
        return world_now()

    def reset(self) -> Path:
        """Put a fresh copy of the best template (the full one once it exists) in place of the session's world.

        The database object stays the same: its connections are closed and reopen on the new file.
        """
        template = self.full_template if self.full_ready else self.template
        self.file.parent.mkdir(parents=True, exist_ok=True)
        part = self.file.with_name(self.file.name + ".next")
        shutil.copyfile(template, part)
        self.db.dispose()
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(self.file) + suffix).unlink()
        os.replace(part, self.file)
        self.template = template
        self.resets += 1
        return template

    def close(self) -> None:
        """Close the database and delete the session's files."""
        self.db.dispose()
        _SESSIONS.pop(self.url, None)
        shutil.rmtree(self.file.parent, ignore_errors=True)


_SESSIONS: dict[str, DemoSession] = {}
STALE_SESSION = 86400.0
"""A session folder left behind (the program was killed) is removed once untouched this long, in seconds."""


def _sweep_stale_sessions() -> None:
    """Remove the folders of demo sessions that ended without cleaning up (killed) a day ago or more."""
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob("workstation-demo-*"):
        try:
            newest = max((p.stat().st_mtime for p in folder.iterdir()), default=folder.stat().st_mtime)
        except OSError:
            continue
        if now - newest > STALE_SESSION:
            shutil.rmtree(folder, ignore_errors=True)


def session_for(db: Database) -> DemoSession:
    """The demo session a database was opened for by :func:`open_demo`.

    Raises:
        DemoSafetyError: the database is not a demo session's.
    """
    session = _SESSIONS.get(db.url)
    if session is None:
        raise DemoSafetyError(tr("{url} is not a demo session's database.", url=db.url))
    return session


def open_session(
    seed: int = 1,
    *,
    cases: int = FULL_CASES,
    people: int = FULL_PEOPLE,
    small_cases: int = SMALL_CASES,
    small_people: int = SMALL_PEOPLE,
    cache: Path | None = None,
    url: str | None = None,
    now: datetime | None = None,
) -> DemoSession:
    """Open a demo session: a fresh copy of the cached world in a throwaway database, the trainer signed in.

    Without a full template, the session opens on the small world (built and cached first if need
    be): check :attr:`DemoSession.full_ready` and build the full one with :meth:`DemoSession.build_full`.

    Args:
        seed: the world's seed.
        cases: the full world's historic cases.
        people: the full world's care roster.
        small_cases: the first-run world's historic cases.
        small_people: the first-run world's care roster.
        cache: the template directory (default :func:`cache_dir`).
        url: the session database (default: a new temporary file); never the production database.
        now: the instant a world built now ends at (default :func:`world_now`).

    Raises:
        DemoSafetyError: ``url`` is the production database or not a throwaway one; nothing was written.
    """
    started = time.perf_counter()
    url = assert_demo_url(url or demo_database_url(seed))
    _sweep_stale_sessions()
    path = Path(make_url(url).database or "")
    if str(path) in ("", ":memory:"):
        raise DemoSafetyError(tr("Demo mode needs a throwaway database file, not {url}.", url=url))
    cache = cache or cache_dir()
    template = template_path(seed, cases, people, cache)
    if not template.exists():
        template = template_path(seed, small_cases, small_people, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    if template.exists():
        shutil.copyfile(template, path)
        db = open_database(url)
    else:  # the very first run: seed the small world right here, and keep a copy for the next time
        db = open_database(url)
        _seed(db, seed, small_cases, small_people, now, _scaled(None, None))
        try:
            _store(path, template)
        except OSError as exc:  # a cache that cannot be written costs speed next time, nothing else
            log.warning("the demo template could not be kept in %s: %s", cache, exc)
    actor = find_actor(db, TRAINER)
    with db.read() as s:
        if s.scalar(select(Meta.key).where(Meta.key == f"demo.world.{seed}")) is None:
            db.dispose()
            raise DemoSafetyError(tr("The demo template {path} holds no training world.", path=template))
    session = DemoSession(
        db=db,
        actor=actor,
        seed=seed,
        url=url,
        cases=cases,
        people=people,
        small_cases=small_cases,
        small_people=small_people,
        cache=cache,
        template=template,
        now=now,
    )
    session.opened_seconds = time.perf_counter() - started
    _SESSIONS[url] = session
    if path.parent.name.startswith("workstation-demo-"):
        atexit.register(shutil.rmtree, path.parent, True)
    log.info("demo session opened in %.2f s on %s", session.opened_seconds, template.name)
    return session


def open_demo(seed: int = 1, **options: Any) -> tuple[Database, Actor]:
    """Demo mode's entry point for the window: a throwaway database with the training world, and the trainer.

    ``options`` are those of :func:`open_session`.
    """
    session = open_session(seed, **options)
    return session.db, session.actor


# -- building a template in a process of its own -----------------------------------------------------


def _cancel_on_sigterm() -> None:
    def stop(_signum: int, _frame: object) -> None:
        raise BuildCancelled

    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    """``python -m workstation.demo.launch``: build a template, printing ``progress FRACTION LABEL`` lines.

    The window runs the full world's build this way, in a process of its own, so that the build
    neither slows the window down nor touches its (simulated) clock. The last line is ``built PATH``.
    """
    p = argparse.ArgumentParser(prog="python -m workstation.demo.launch", description="build a demo world template")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cases", type=int, default=FULL_CASES)
    p.add_argument("--people", type=int, default=FULL_PEOPLE)
    p.add_argument("--cache", type=Path, default=None, help="template directory (default: the user cache)")
    p.add_argument("--now", default=None, help="the instant the world ends at, ISO 8601 with a zone")
    args = p.parse_args(argv)
    _cancel_on_sigterm()

    def progress(fraction: float, label: str) -> None:
        print(f"progress {fraction:.4f} {label}", flush=True)

    now = datetime.fromisoformat(args.now) if args.now else None
    try:
        path = build_template(args.seed, args.cases, args.people, args.cache, now=now, progress=progress)
    except BuildCancelled:
        return 2
    print(f"built {path}", flush=True)
    return 0


__all__ = [
    "FULL_CASES",
    "SMALL_CASES",
    "BuildCancelled",
    "DemoSafetyError",
    "DemoSession",
    "build_template",
    "cache_dir",
    "main",
    "open_demo",
    "open_session",
    "session_for",
    "template_path",
]


if __name__ == "__main__":
    raise SystemExit(main())
