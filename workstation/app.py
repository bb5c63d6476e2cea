"""The composition root of the window: settings, database, sign-in, keymap, main window.

``workstation [--db URL] [--lang en] [--demo] [--user NAME] [--station COMMUNITY]`` (or ``python main.py`` or
``python -m workstation``) without a command starts :func:`run_window`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import qasync
from platformdirs import user_config_dir

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from workstation.services.actors import Actor
    from workstation.storage.db import Database
    from workstation.ui.admin.window import AdminWindow
    from workstation.ui.main_window import MainWindow
    from workstation.ui.station.window import StationWindow

import workstation.intake  # noqa: F401  (installs the outbox and unit-response hooks of every case change)
from workstation.commands.keymap import Keymap, KeymapError
from workstation.display import display_problem
from workstation.domain.lifecycle import Role
from workstation.i18n import set_language, tr
from workstation.services.accounts import needs_first_admin
from workstation.services.errors import WorkstationError
from workstation.storage.bootstrap import open_database
from workstation.storage.db import APP_NAME

ORG = "GridGovernance"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The window's options, parsed by the one parser of every entry point (:func:`workstation.cli.build_parser`)."""
    from workstation.cli import build_parser

    return build_parser().parse_args(list(argv))


def build_window(
    db: Database,
    actor: Actor,
    keymap: Keymap,
    settings: QSettings,
    *,
    seat: str,
    demo: bool,
    community: str | None = None,
) -> MainWindow | StationWindow | AdminWindow:
    """The window the user's role works in.

    Station staff get the station workspace (so does a lead or administrator who names
    ``--station COMMUNITY``); administrators the administrator's window; everyone else the
    operator's window with its extensions.
    """
    from workstation.ui.main_window import Extension, MainWindow

    if actor.role == Role.STATION or (community and actor.role in (Role.LEAD, Role.ADMIN)):
        from workstation.ui.station.window import StationWindow

        return StationWindow(db, actor, keymap, settings, seat=seat, demo=demo, community=community)
    if actor.role == Role.ADMIN:
        from workstation.ui.admin.window import AdminWindow

        return AdminWindow(db, actor, keymap, settings, seat=seat, demo=demo)
    extensions: list[Extension] = []
    if demo:
        from workstation.ui.training import TrainingExtension

        extensions.append(TrainingExtension(db))  # the live simulation, scenarios and scores of demo mode
    else:
        from workstation.ui.integration import IntegrationExtension

        extensions.append(IntegrationExtension(None))  # the settings file: $WORKSTATION_INTAKE or the default
    from workstation.ui.photo_runner import PhotoFetchExtension

    extensions.append(PhotoFetchExtension())  # URL photos (reports, unit responses) fetched in the background
    return MainWindow(db, actor, keymap, settings, seat=seat, demo=demo, extensions=extensions)


def sign_in(db: Database, settings: QSettings, user: str | None = None) -> Actor | None:
    """Who works at the seat: the first-run administrator just created, or the user who signs in.

    Returns:
        The actor, or None when the dialog was closed. The user name is remembered for next time.
    """
    from PySide6.QtWidgets import QDialog

    from workstation.ui.dialogs import FirstAdminDialog, SignInDialog

    actor = None
    if needs_first_admin(db):
        first = FirstAdminDialog(db)
        accepted = first.exec() == QDialog.DialogCode.Accepted
        actor = first.actor if accepted else None  # created with the password typed twice: no second sign-in
        first.deleteLater()
        if actor is None:
            return None
    if actor is None:
        dialog = SignInDialog(db, last_user=user or str(settings.value(last_user_key(db.url), "") or ""))
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        actor = dialog.actor if accepted else None
        dialog.deleteLater()
        if actor is None:
            return None
    settings.setValue(last_user_key(db.url), actor.name)
    return actor


def keymap_file() -> Path:
    """Where a user's key binding changes are stored."""
    return Path(user_config_dir(APP_NAME, appauthor=False)) / "keymap.json"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments as every entry point does and open the window (or run the command given)."""
    from workstation.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


QUIT_AFTER = "WORKSTATION_QUIT_AFTER"


def quit_after_seconds(env: Mapping[str, str]) -> float | None:
    """The seconds after which ``$WORKSTATION_QUIT_AFTER`` closes the window (smoke tests), or None.

    Raises:
        ValueError: the value is not a positive number of seconds (the message says so).
    """
    raw = env.get(QUIT_AFTER, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86400:
        raise ValueError(tr("{name} must be a number of seconds, not {value!r}.", name=QUIT_AFTER, value=raw))
    return seconds


def schedule_quit(app: QApplication, seconds: float) -> None:
    """After ``seconds``, name the open windows on standard error and close them as the user would.

    Closing every window is the window's own exit path (``Ctrl+Q`` closes the window): layouts are
    saved, held cases given back, and an open dialog (sign-in, first administrator) is cancelled.
    """
    from PySide6.QtCore import QTimer

    def close_all() -> None:
        titles = [w.windowTitle() for w in app.topLevelWidgets() if w.isVisible() and w.windowTitle()]
        print(
            tr(
                "Closing after {seconds} s ({name}); open: {titles}",
                seconds=seconds,
                name=QUIT_AFTER,
                titles=" | ".join(titles) or "-",
            ),
            file=sys.stderr,
            flush=True,
        )
        app.closeAllWindows()

    QTimer.singleShot(int(seconds * 1000), app, close_all)


def last_user_key(url: str) -> str:
    """The settings key of the user name last signed in to one database.

    Per database, so a seat pointed at another database never offers a user of the first one: the
    URL without its password (an SQLite file by its absolute path), hashed so the settings file
    holds no server address.
    """
    from sqlalchemy.engine import make_url

    from workstation.storage.db import sqlite_file

    parsed = make_url(url)
    file = sqlite_file(url)
    ident = f"sqlite:{file.resolve()}" if file else parsed.render_as_string(hide_password=True)
    return "session/lastUser/" + hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]


def run_window(args: argparse.Namespace) -> int:
    """Open the window with parsed options; returns the exit code.

    Without a usable display it says what to install or set, and returns 2, before Qt would abort.
    """
    set_language(args.lang)
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from workstation.ui.locale import apply_language
    from workstation.ui.style import apply_style

    try:
        quit_after = quit_after_seconds(os.environ)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    if quit_after is not None:
        schedule_quit(app, quit_after)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP_NAME)
    apply_language(app)  # Qt's own buttons and dialogs in the program's language
    apply_style(app)
    settings = QSettings()
    try:
        if args.demo:
            from workstation.demo.launch import open_demo

            db, actor = open_demo()
        else:
            db = open_database(args.db)
            actor = None
    except WorkstationError as exc:
        QMessageBox.critical(None, tr("Cannot open the database"), exc.message)
        return 1
    try:
        keymap = Keymap.load(keymap_file())
    except (KeymapError, ValueError) as exc:
        QMessageBox.warning(
            None,
            tr("Key bindings"),
            tr("Your key bindings were not loaded ({reason}); the defaults are in force.", reason=exc),
        )
        keymap = Keymap.load(None)
    if actor is None:
        actor = sign_in(db, settings, args.user)
        if actor is None:
            return 0
    seat = f"{socket.gethostname()}:{os.getpid()}"
    wall = None
    if getattr(args, "wall", False):
        if actor.role not in (Role.LEAD, Role.ADMIN, Role.TRAINER):
            QMessageBox.critical(None, tr("Wall"), tr("The wall is for shift leads and administrators."))
            return 1
        from workstation.ui.supervision.wall import WallWindow

        wall = WallWindow(db, actor, keymap, settings, demo=args.demo)
    if wall is None or args.demo:  # in demo mode the trainer's window runs the simulation the wall shows
        window = build_window(db, actor, keymap, settings, seat=seat, demo=args.demo, community=args.community)
        window.show()
        window.raise_()
        window.restore_focus()
    if wall is not None:
        wall.setGeometry(wall.screen().geometry())  # the whole screen, with or without a window manager
        wall.showFullScreen()
        wall.raise_()
        wall.activateWindow()
    loop = qasync.QEventLoop(app)  # asyncio on Qt's event loop: the intake's rounds run as tasks
    asyncio.set_event_loop(loop)
    with loop:  # leaving closes the loop, which waits for the worker threads (every network call has a timeout)
        code = loop.run_forever()
    db.dispose()
    return int(code)
