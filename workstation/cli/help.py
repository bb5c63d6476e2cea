"""Argument parsing that speaks the program's language: ``--help``, usage and argparse's own errors.

argparse writes its headings ("usage:", "options:") and errors through ``gettext``; :func:`install`
routes them through :func:`workstation.i18n.tr`, and :class:`Formatter` translates every help text,
description and section title when it is shown (so a parser built before ``--lang`` was read still
prints in the chosen language). Help texts are plain English literals (``help="..."``); the i18n scan
finds them and the test of translations requires a Chinese one.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from workstation.domain.lifecycle import N_
from workstation.i18n import set_language, tr

# argparse's own messages (Python 3.11–3.13), listed so the catalogue carries their translations.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("options"),
    N_("positional arguments"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("expected %s argument"),
    N_("expected %s arguments"),
)


def _gettext(text: str) -> str:
    return tr(text) if text else text


def _ngettext(singular: str, plural: str, n: int) -> str:
    return tr(singular if n == 1 else plural)


def install() -> None:
    """Route argparse's own messages through the program's catalogue (idempotent)."""
    argparse._ = _gettext  # type: ignore[attr-defined]
    argparse.ngettext = _ngettext  # type: ignore[attr-defined]


class Formatter(argparse.HelpFormatter):
    """Shows help texts, descriptions and section titles translated; unnamed positionals in capitals."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 30, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width)

    def start_section(self, heading: str | None) -> None:  # noqa: D102
        super().start_section(tr(heading) if heading else heading)

    def add_usage(  # noqa: D102
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, tr("usage: ") if prefix is None else prefix)

    def _format_text(self, text: str) -> str:
        return super()._format_text(tr(text) if text else text)

    def _expand_help(self, action: argparse.Action) -> str:
        if action.help:
            action = _with_help(action, tr(action.help))
        return super()._expand_help(action)

    def _get_default_metavar_for_positional(self, action: argparse.Action) -> str:
        return action.dest.upper()


def _with_help(action: argparse.Action, text: str) -> argparse.Action:
    copy = argparse.Action.__new__(type(action))
    copy.__dict__.update(action.__dict__)
    copy.help = text
    return copy


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` (and, through ``add_subparsers``, its sub-parsers) speaking the program's language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)
        install()

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """Add an argument; an unnamed positional is shown (and named in errors) in capitals."""
        action = super().add_argument(*args, **kwargs)
        if not action.option_strings and action.metavar is None and action.nargs != argparse.PARSER:
            action.metavar = action.dest.upper()
        return action


def language_from(argv: Sequence[str]) -> None:
    """Set the language named by ``--lang`` in ``argv`` before anything is parsed or printed.

    An unknown language is left for the parser to report; the language in force stays.
    """
    args = list(argv)
    for i, arg in enumerate(args):
        value = None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value is not None:
            with contextlib.suppress(ValueError):
                set_language(value)
            return
