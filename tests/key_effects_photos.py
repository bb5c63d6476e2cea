"""Key effects of the photo commands, for the registry-wide key harness (``tests/key_harness.py``).

``case.photos`` (p): the selected case's photos open full size; Escape closes the viewer again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.conftest import article_report
from workstation.demo.pictures import picture
from workstation.services import photos
from workstation.services.reports import add_report


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


REFS = ("photo://key-harness/1.jpg", "photo://key-harness/2.jpg")


def _case_with_photos(env: KeyEnv) -> None:
    for n, ref in enumerate(REFS):
        photos.put(env.db, ref, picture(n, "before"))
    received = "2020-01-01T08:00:00+08:00"  # the oldest case: first in the new-reports queue
    cid = add_report(env.db, article_report(external_id="key-harness-photos", photos=list(REFS), received_at=received))
    env.extra["photo_case"] = cid.case_id
    env.window.refresh(select=cid.case_id)
    assert env.window.current_id() == cid.case_id


def _viewer_opened(env: KeyEnv) -> None:
    viewer = env.window.photo_viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.index == 0 and not viewer.image.pixmap().isNull()
    assert REFS[0] in viewer.caption.text()
    QTest.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.index == 1
    QTest.keyClick(viewer, Qt.Key.Key_Escape)
    env.qtbot.waitUntil(lambda: env.window.photo_viewer is None, timeout=3000)
    env.qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=3000)


EFFECTS: dict[str, KeyEffect] = {
    "case.photos": KeyEffect(check=_viewer_opened, setup=_case_with_photos),
}
