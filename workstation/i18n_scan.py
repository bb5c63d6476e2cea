"""Finding every translatable string in the source: ``tr("...")`` and ``N_("...")`` literals.

Used by the test that fails when a user-visible string has no Chinese translation, and by
``scripts/i18n_update.py``, which lists the strings still to translate.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

MARKERS = {"tr", "N_"}
# Keyword arguments of argparse calls whose literal text is shown by ``--help`` (translated when shown).
HELP_KEYWORDS = {"help", "description", "epilog", "title"}
HELP_CALLS = {"add_argument", "add_parser", "add_subparsers", "add_argument_group", "ArgumentParser", "Parser"}


def literals(path: Path) -> Iterator[tuple[str, int]]:
    """Every marked literal in one file, with its line number, and the help texts of argparse calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        first = node.args[0]
        if name in MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield first.value, node.lineno
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in HELP_CALLS:
            continue
        for kw in node.keywords:
            if kw.arg in HELP_KEYWORDS and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                yield kw.value.value, node.lineno


def scan(root: Path) -> dict[str, list[str]]:
    """Every marked literal under a package folder -> where it is used (``file:line``)."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for text, line in literals(path):
            found.setdefault(text, []).append(f"{path.relative_to(root.parent)}:{line}")
    return found
