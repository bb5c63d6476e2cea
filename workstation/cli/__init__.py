"""The command line: scriptable operations over the same services as the window.

The one entry point of the program: ``workstation``, ``python -m workstation`` and ``python main.py``
all call :func:`main`. Without a command it opens the window with the window's options
(``--demo``, ``--user``, ``--station``, ``--db``, ``--lang``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from workstation import __version__
from workstation.cli import assist, audit, care, cases, common, demo, intake, photos, reference, reports, serve, users
from workstation.cli.help import Parser, language_from
from workstation.i18n import set_language, tr
from workstation.services.errors import WorkstationError

AREAS = (reference, reports, cases, users, assist, care, intake, photos, demo, audit, serve)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = Parser(
        prog="workstation",
        description="Operator workstation of the district grid-governance centre. Without a command, opens the window.",
        parents=[common.options(gui=True)],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common.window_options(parser)
    sub = parser.add_subparsers(dest="area", metavar="COMMAND")
    for area in AREAS:
        area.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (or open the window) and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    language_from(args_list)  # --help and argparse's errors already speak the chosen language
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        set_language(getattr(args, "lang", None))
    except ValueError as exc:
        parser.error(str(exc))
    if not getattr(args, "area", None):
        from workstation.app import run_window

        return run_window(args)
    handler = getattr(args, "handler", None)
    if handler is None:  # an area without its command: show the area's commands, and fail
        with contextlib.suppress(SystemExit):
            parser.parse_args([args.area, "--help"])
        return 2
    try:
        common.require_identity(handler, args)
        return int(handler(args) or 0)
    except WorkstationError as exc:
        print(tr("error: {message}", message=exc.message), file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(
            tr(
                "database error: {reason}. Check --db (or WORKSTATION_DB) and that the database server "
                "is reachable; nothing was changed by the failed step.",
                reason=reason,
            ),
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(tr("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (e.g. `head`) stopped reading: not an error of ours
        sys.stderr.close()
        return 0
