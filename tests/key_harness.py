"""The registry-wide key harness's contract (the harness itself comes from the key-harness branch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class KeyEnv:  # handed to setup and check
    qtbot: Any
    window: Any
    db: Any
    role: str
    users: dict
    extra: dict


@dataclass(frozen=True)
class KeyEffect:
    check: Callable[[KeyEnv], None]  # asserts the visible effect after the key press
    setup: Callable[[KeyEnv], None] | None = None  # e.g. select a case in the needed state
    windows: tuple[str, ...] | None = None  # roles: operator, lead, station, trainer, admin; None = all offering it
