"""The composition root of the window: settings, database, sign-in, keymap, main window.

``python main.py [--db URL] [--lang en] [--demo]`` starts here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import qasync
from platformdirs import user_config_dir

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from workstation.services.actors import Actor
    from workstation.storage.db import Database
    from workstation.ui.admin.window import AdminWindow
    from workstation.ui.main_window import MainWindow
    from workstation.ui.station.window import StationWindow

import workstation.intake  # noqa: F401  (installs the outbox and unit-response hooks of every case change)
from workstation import __version__
from workstation.commands.keymap import Keymap, KeymapError
from workstation.domain.lifecycle import Role
from workstation.i18n import language, set_language, tr
from workstation.services.accounts import needs_first_admin
from workstation.services.errors import WorkstationError
from workstation.storage.bootstrap import open_database
from workstation.storage.db import APP_NAME

ORG = "GridGovernance"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The window's options."""
    p = argparse.ArgumentParser(prog="workstation", description="Grid-governance operator workstation")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL or SQLite file (default: $WORKSTATION_DB or embedded)")
    p.add_argument("--lang", metavar="LANG", help="zh_CN (default) or en")
    p.add_argument("--demo", action="store_true", help="training mode on a throw-away made-up district")
    p.add_argument("--user", metavar="NAME", help="the user name to sign in as")
    p.add_argument(
        "--station",
        dest="community",
        metavar="COMMUNITY",
        help="shift leads and administrators: open the station workspace of a community",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args, _unknown = p.parse_known_args(list(argv))
    return args


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
        dialog = SignInDialog(db, last_user=user or str(settings.value("session/lastUser", "")))
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        actor = dialog.actor if accepted else None
        dialog.deleteLater()
        if actor is None:
            return None
    settings.setValue("session/lastUser", actor.name)
    return actor


def keymap_file() -> Path:
    """Where a user's key binding changes are stored."""
    return Path(user_config_dir(APP_NAME, appauthor=False)) / "keymap.json"


def main(argv: Sequence[str] | None = None) -> int:
    """Open the window; returns the exit code."""
    args = parse(sys.argv[1:] if argv is None else argv)
    set_language(args.lang)
    from PySide6.QtCore import QLibraryInfo, QLocale, QSettings, QTranslator
    from PySide6.QtWidgets import QApplication, QMessageBox

    from workstation.ui.style import apply_style

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORG)
    app.setApplicationName(APP_NAME)
    if language() == "zh_CN":
        QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
        qt_tr = QTranslator(app)
        if qt_tr.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt_tr)
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
    window = build_window(db, actor, keymap, settings, seat=seat, demo=args.demo, community=args.community)
    window.show()
    window.raise_()
    window.restore_focus()
    loop = qasync.QEventLoop(app)  # asyncio on Qt's event loop: the intake's rounds run as tasks
    asyncio.set_event_loop(loop)
    with loop:  # leaving closes the loop, which waits for the worker threads (every network call has a timeout)
        code = loop.run_forever()
    db.dispose()
    return int(code)
