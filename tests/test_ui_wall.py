"""Wall mode: full screen without menus, views in turn, the latest arrivals as they come, read-only."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt

from tests.conftest import article_report
from workstation.commands.keymap import Keymap
from workstation.services.reports import add_report
from workstation.ui.supervision.wall import WallWindow


def _wall(qtbot, db, actor, tmp_path) -> WallWindow:
    settings = QSettings(str(tmp_path / "wall.ini"), QSettings.Format.IniFormat)
    wall = WallWindow(db, actor, Keymap.load(None), settings)
    qtbot.addWidget(wall)
    wall.showFullScreen()
    qtbot.waitExposed(wall)
    with qtbot.waitActive(wall):
        wall.activateWindow()
    qtbot.waitUntil(lambda: wall.figures is not None, timeout=3000)
    return wall


def test_the_wall_is_full_screen_without_menus_and_cycles_its_views(qtbot, db, users, tmp_path):
    wall = _wall(qtbot, db, users["lead"], tmp_path)
    assert wall.isFullScreen() and not wall.menuBar().isVisible()
    assert set(wall.actions_by_id) >= {"wall.next", "session.quit"}
    assert not any(a.startswith("case.") for a in wall.actions_by_id)  # read-only: no action on a case
    first = wall.views.currentIndex()
    wall.timer.setInterval(50)
    qtbot.waitUntil(lambda: wall.views.currentIndex() != first, timeout=2000)
    shown = wall.views.currentIndex()
    wall.timer.stop()
    wall.setFocus()
    qtbot.keyClick(wall.focusWidget(), Qt.Key.Key_Space)
    assert wall.views.currentIndex() == (shown + 1) % len(wall.pages)
    wall.close()


def test_a_new_report_reaches_the_wall_within_two_seconds(qtbot, db, users, tmp_path):
    wall = _wall(qtbot, db, users["lead"], tmp_path)
    assert wall.ticker[0].text() == ""
    cid = add_report(db, article_report(external_id=None)).case_id
    qtbot.waitUntil(lambda: f"#{cid}" in wall.ticker[0].text(), timeout=2000)
    assert "塘西河网格" in wall.ticker[0].text() and "138" not in wall.ticker[0].text()  # no phone on the wall
    assert wall.head[("all", "reported")].text() == "1"
    wall.close()
