"""Remembering a window's layout: size and position, splitter and column widths (QSettings)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QHeaderView, QMainWindow, QSplitter


def restore_layout(
    window: QMainWindow,
    settings: QSettings,
    prefix: str,
    splitter: QSplitter,
    header: QHeaderView,
    sizes: Sequence[int],
) -> None:
    """Put the window back as it was left, or give it sensible defaults."""
    geometry = settings.value(f"{prefix}/geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    else:  # first run: as large as the screen allows, up to 1500×860
        screen = window.screen().availableGeometry() if window.screen() is not None else None
        width, height = 1500, 860
        if screen is not None and screen.width() > 640:
            width, height = min(width, screen.width()), min(height, screen.height())
        window.resize(width, height)
    state = settings.value(f"{prefix}/state")
    if state is not None:
        window.restoreState(state)
    split = settings.value(f"{prefix}/split")
    if split is not None:
        splitter.restoreState(split)
    else:
        splitter.setSizes(list(sizes))
    columns = settings.value(f"{prefix}/header")
    if columns is not None:
        header.restoreState(columns)


def save_layout(
    window: QMainWindow, settings: QSettings, prefix: str, splitter: QSplitter, header: QHeaderView
) -> None:
    """Remember the window's layout and column widths."""
    settings.setValue(f"{prefix}/geometry", window.saveGeometry())
    settings.setValue(f"{prefix}/state", window.saveState())
    settings.setValue(f"{prefix}/split", splitter.saveState())
    settings.setValue(f"{prefix}/header", header.saveState())
    settings.sync()
