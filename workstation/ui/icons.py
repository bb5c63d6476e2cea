"""The small status icons shipped in ``resources/icons/`` (SVG), instead of glyphs many fonts lack (``⏳``)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from workstation.resources import resource_path

NAMES = ("overdue", "near", "urgent")


@cache
def icon(name: str) -> QIcon:
    """The icon of that name (``overdue``, ``near``, ``urgent``)."""
    if name not in NAMES:
        raise KeyError(name)
    return QIcon(str(resource_path("icons", f"{name}.svg")))
