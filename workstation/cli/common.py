"""What every command shares: common options, opening the database, proving who acts, printing.

Who acts on the command line proves it, as in the window: ``--as USER`` (or $WORKSTATION_USER, which
only names the user) with the user's password, asked on the terminal or read from the first line of
standard input with ``--password-stdin``; or an API token (``--token`` or $WORKSTATION_TOKEN) that an
administrator made for an integration account. Nobody acts as "system" from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.services.accounts import authenticate, authenticate_token
from workstation.services.actors import Actor
from workstation.services.errors import AuthenticationError, ValidationError
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
    if not gui:
        p.add_argument(
            "--as", dest="actor", metavar="USER", default=default, help="the user who acts (default: $WORKSTATION_USER)"
        )
        p.add_argument(
            "--password-stdin",
            action="store_true",
            default=default,
            help="read your password from the first line of standard input (else it is asked on the terminal)",
        )
        p.add_argument(
            "--token",
            metavar="TOKEN",
            default=default,
            help="an API token instead of a password (default: $WORKSTATION_TOKEN)",
        )
    return p


def window_options(p: argparse.ArgumentParser) -> None:
    """Add the window's own options (given without a command) to the top-level parser.

    ``python main.py``, ``python -m workstation`` and the installed ``workstation`` all parse with
    :func:`workstation.cli.build_parser`, so each accepts exactly these.
    """
    p.add_argument("--demo", action="store_true", help="training mode on a throw-away made-up district")
    p.add_argument("--user", metavar="NAME", help="the user name to sign in as")
    p.add_argument(
        "--wall",
        action="store_true",
        help="the centre's big screen: live figures full screen, read-only (a shift lead or administrator signs in)",
    )
    p.add_argument(
        "--station",
        dest="community",
        metavar="COMMUNITY",
        help="shift leads and administrators: open the station workspace of a community",
    )


def database(args: argparse.Namespace) -> Database:
    """Open the database named by ``--db`` (upgrading it and loading reference data).

    The outbound targets of the intake settings file are made known first, so a case changed by
    this command writes its outbox messages even if ``intake run`` never ran.
    """
    from workstation.intake.targets import ensure_configured_targets

    opened: Database | None = getattr(args, "_db", None)
    if opened is not None:  # one command, one database: the identity check opened it already
        return opened
    db = open_database(getattr(args, "db", None))
    problem = ensure_configured_targets(db, getattr(args, "config", None))
    if problem:
        print(problem, file=sys.stderr)
    args._db = db
    return db


NO_IDENTITY: set[Callable[..., Any]] = set()


def no_identity(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a command that may run without proof of who acts (reference data, status, the first user).

    Every other command proves its user before it runs (:func:`require_identity`), so a new command
    cannot forget to.
    """
    NO_IDENTITY.add(handler)
    return handler


def require_identity(handler: Callable[..., Any], args: argparse.Namespace) -> None:
    """Prove who acts before any command that is not marked :func:`no_identity` runs.

    Raises:
        ValidationError: nobody named and no token.
        AuthenticationError: a wrong password or token, or a locked name or source.
    """
    # A command that needs nobody is still given "--as USER --password-stdin" by scripts that pass it to
    # every command: the first line of standard input is then that user's password, proven and never
    # read as the command's own input (assist suggest would have treated it as a report text).
    named = bool(getattr(args, "actor", None)) and getattr(args, "password_stdin", False)
    if handler not in NO_IDENTITY or named:
        actor(database(args), args)


ENV_USER = "WORKSTATION_USER"
ENV_TOKEN = "WORKSTATION_TOKEN"
CASE_READERS = (Role.OPERATOR, Role.LEAD, Role.TRAINER, Role.ADMIN, Role.STATION)


def read_secret(args: argparse.Namespace, prompt: str) -> str:
    """One secret: the next line of standard input with ``--password-stdin``, else asked on the terminal.

    Raises:
        ValidationError: no terminal to ask on and no ``--password-stdin``, or standard input ended.
    """
    if getattr(args, "password_stdin", False):
        # From the byte layer when there is one: the text layer would read ahead past this line, and a
        # command reading the rest as bytes (report add judges each line's encoding alone) would lose it.
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is not None:
            line = buffer.readline().decode(getattr(sys.stdin, "encoding", None) or "utf-8", "replace")
        else:
            line = sys.stdin.readline()
        if not line:
            raise ValidationError(
                tr("--password-stdin: standard input ended before the password line."), {"password": tr("required")}
            )
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValidationError(
            tr("No terminal to ask for the password: pipe it with --password-stdin, or use --token."),
            {"password": tr("required")},
        )
    return getpass.getpass(prompt)


def actor(db: Database, args: argparse.Namespace, roles: Iterable[Role] | None = None, what: str = "") -> Actor:
    """The user who acts, once proven by a token or a password (asked once per command).

    Args:
        db: the database.
        args: the parsed command line (``--as``, ``--password-stdin``, ``--token``).
        roles: when given, the roles that may run this command.
        what: the command as the refusal names it.

    Raises:
        ValidationError: nobody named and no token; or no way to read the password.
        AuthenticationError: a wrong password or token, or a locked name or source.
        PermissionDeniedError: the proven user's role may not run the command.
    """
    proven: Actor | None = getattr(args, "_proven", None)
    if proven is None:
        proven = _prove(db, args)
        args._proven = proven
    if roles is not None:
        proven.require(roles, what)
    return proven


def _prove(db: Database, args: argparse.Namespace) -> Actor:
    explicit = getattr(args, "actor", None) or None
    # explicit options beat the environment: an explicit --as with no --token proves by password
    token = getattr(args, "token", None) or (None if explicit else os.environ.get(ENV_TOKEN)) or None
    if token:
        who = authenticate_token(db, token)
        if explicit and explicit != who.name:
            raise AuthenticationError(
                tr("The API token belongs to {owner}, not to {name}: nothing was done.", owner=who.name, name=explicit)
            )
        return who
    name = explicit or os.environ.get(ENV_USER) or None
    if not name:
        raise ValidationError(
            tr(
                "Say who acts: --as USER with that user's password (asked on the terminal, or the first line of "
                "standard input with --password-stdin), or an API token (--token TOKEN or WORKSTATION_TOKEN)."
            ),
            {"as": tr("required")},
        )
    password = read_secret(args, tr("Password for {name}: ", name=name))
    return authenticate(db, name, password)


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
