"""The suggestion engine in the seat window, driven by the keyboard: the unit follows the address, the 4+X
team is offered for repeat complaints, and the shift lead's hot spots."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.uihelpers import ModalDriver
from workstation import clock
from workstation.commands.keymap import Keymap
from workstation.services import lifecycle as lc
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.ui.main_window import MainWindow

T0 = datetime.fromisoformat("2026-06-01T20:00:00+08:00")


@pytest.fixture
def make_window(qtbot, db, tmp_path):
    def make(actor, name="seat"):
        settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(db, actor, Keymap.load(None), settings, seat=name)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitActive(window):
            window.activateWindow()
        window.table.setFocus()
        return window

    return make


def press(qtbot, window, key, steps=(), modifier=Qt.KeyboardModifier.NoModifier):
    driver = ModalDriver(steps)
    QTest.keyClick(window.table, key, modifier)
    qtbot.waitUntil(driver.done, timeout=8000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return driver


def report(db, text: str, at: datetime, grid: str | None = "塘西河网格") -> int:
    data = {"channel": "12345", "text": text, "received_at": at.isoformat()}
    if grid:
        data["grid"] = grid
    return add_report(db, data).case_id


def test_dispatch_picker_unit_follows_the_address_when_no_grid_was_given(qtbot, db, users, make_window):
    cid = report(db, "市民来电反映：洞庭湖路与嵩山路交口向西10米电动车乱停乱放", T0, grid=None)
    window = make_window(users["op1"])
    assert window.current_id() == cid
    press(qtbot, window, Qt.Key.Key_F, [[Qt.Key.Key_Return], [Qt.Key.Key_Return]])  # f, Enter, Enter
    case = get_case(db, cid)
    assert (case["status"], case["category_code"], case["unit_code"]) == ("dispatched", "0201", "GRID-S13C01G01")


def test_a_third_complaint_offers_the_joint_team_with_the_earlier_cases(qtbot, db, users, make_window):
    first = report(db, "楼下烧烤摊油烟太大", T0)
    second = report(db, "又在楼下露天烧烤了", T0 + timedelta(days=9))
    for cid in (first, second):
        lc.file(db, users["op1"], cid, "0207")
        lc.dispatch(db, users["op1"], cid, "CG")
    third = report(db, "烧烤摊天天烤到半夜，说了多少次了", T0 + timedelta(days=20))
    window = make_window(users["op1"])
    assert window.current_id() == third
    # f, type 0207, Enter; in the dispatch picker the category's unit comes first, the 4+X team second
    press(qtbot, window, Qt.Key.Key_F, [["0207", Qt.Key.Key_Return], [Qt.Key.Key_Down, Qt.Key.Key_Return]])
    case = get_case(db, third)
    assert case["unit_code"] == "JOINT"
    items = window.triage.unit_items(third)
    joint = next(item for item in items if item.key == "JOINT")
    assert joint.suggested and f"#{first}" in joint.detail and f"#{second}" in joint.detail
    assert items[0].key == "CG" and items[1].key == "JOINT"


def test_hot_spots_list_for_the_shift_lead_selects_the_latest_case(qtbot, db, users, make_window):
    ids = [report(db, "小区门口又有人占道摆摊", T0 + timedelta(days=d)) for d in (0, 3, 6)]
    for cid in ids:
        lc.file(db, users["op1"], cid, "0204")
    window = make_window(users["lead"])
    with clock.using(lambda: T0 + timedelta(days=7)):
        press(
            qtbot,
            window,
            Qt.Key.Key_H,
            [[Qt.Key.Key_Return]],
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    assert window.current_id() == ids[-1]
