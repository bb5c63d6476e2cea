"""What every command shares: common options, opening the database, naming the actor, printing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from workstation.i18n import tr
from workstation.services.accounts import find_actor
from workstation.services.actors import SYSTEM, Actor
from workstation.services.errors import ValidationError
from workstation.storage.bootstrap import open_database
from workstation.storage.db import Database


def options(gui: bool = False) -> argparse.ArgumentParser:
    """Options accepted by every command: the database and the language."""
    p = argparse.ArgumentParser(add_help=False)
    default = None if gui else argparse.SUPPRESS
    p.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="SQLAlchemy URL or SQLite file (default: $WORKSTATION_DB, else the embedded file)",
    )
    p.add_argument("--lang", metavar="LANG", default=default, help="zh_CN (default) or en")
    return p


def window_options(p: argparse.ArgumentParser) -> None:
    """Add the window's own options (given without a command) to the top-level parser.

    ``python main.py``, ``python -m workstation`` and the installed ``workstation`` all parse with
    :func:`workstation.cli.build_parser`, so each accepts exactly these.
    """
    p.add_argument("--demo", action="store_true", help="training mode on a throw-away made-up district")
    p.add_argument("--user", metavar="NAME", help="the user name to sign in as")
    p.add_argument(
        "--station",
        dest="community",
        metavar="COMMUNITY",
        help="shift leads and administrators: open the station workspace of a community",
    )


def actor_option(p: argparse.ArgumentParser) -> None:
    """Add ``--as USER``."""
    p.add_argument(
        "--as",
        dest="actor",
        metavar="USER",
        help="the user who acts (default: $WORKSTATION_USER)",
    )


def database(args: argparse.Namespace) -> Database:
    """Open the database named by ``--db`` (upgrading it and loading reference data).

    The outbound targets of the intake settings file are made known first, so a case changed by
    this command writes its outbox messages even if ``intake run`` never ran.
    """
    from workstation.intake.targets import ensure_configured_targets

    db = open_database(getattr(args, "db", None))
    problem = ensure_configured_targets(db, getattr(args, "config", None))
    if problem:
        print(problem, file=sys.stderr)
    return db


def actor(db: Database, args: argparse.Namespace, default_system: bool = False) -> Actor:
    """The actor named by ``--as`` (or $WORKSTATION_USER).

    Raises:
        ValidationError: nobody named and no default.
    """
    name = getattr(args, "actor", None) or os.environ.get("WORKSTATION_USER")
    if not name:
        if default_system:
            return SYSTEM
        raise ValidationError(tr("Say who acts: --as USER (or set WORKSTATION_USER)."), {"as": tr("required")})
    return find_actor(db, name)


def emit_json(item: Any) -> None:
    """Print one JSON line."""
    sys.stdout.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")


class Progress:
    """A one-line progress indicator on standard error, shown only on a terminal."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.live = sys.stderr.isatty()

    def step(self, n: int = 1) -> None:
        """Count ``n`` more items done."""
        self.done += n
        if self.live and (self.done % 50 == 0 or self.done == self.total):
            of = f"/{self.total}" if self.total else ""
            sys.stderr.write(f"\r{self.label}: {self.done}{of}")
            sys.stderr.flush()

    def finish(self) -> None:
        """End the progress line."""
        if self.live and self.done:
            sys.stderr.write("\n")
