"""The shift lead's work and the units' phoned-in answers in the operator's window, by keyboard only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from sqlalchemy import update

import workstation.intake  # noqa: F401 - installs the lifecycle hooks
from tests.conftest import article_report
from tests.uihelpers import ModalDriver
from workstation.commands.keymap import Keymap
from workstation.demo.pictures import picture
from workstation.models import Case, utcnow
from workstation.services import lifecycle as lc
from workstation.services import photos
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.ui.main_window import MainWindow

CTRL = Qt.KeyboardModifier.ControlModifier
UNIT = "GRID-S13C01G01"


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
    qtbot.waitUntil(driver.done, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return driver


def dispatched(db, users, overdue=False, **report) -> int:
    cid = add_report(db, article_report(external_id=None, **report)).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    if overdue:
        with db.write() as s:
            s.execute(update(Case).where(Case.id == cid).values(deadline_at=utcnow() - timedelta(hours=3)))
    return cid


def test_a_lead_closes_the_loop_supervise_suspend_resume_without_the_command_line(qtbot, db, users, make_window):
    cid = dispatched(db, users, overdue=True)
    window = make_window(users["lead"])
    QTest.keyClick(window.table, Qt.Key.Key_4, CTRL)  # the overdue queue
    assert window.current_id() == cid
    press(qtbot, window, Qt.Key.Key_S, [["speed up", Qt.Key.Key_Return]])  # 督办 with a note
    case = get_case(db, cid)
    assert case["supervised"] is not None and case["history"][-1]["reason"] == "speed up"
    assert "supervised" in window.message.text()
    press(qtbot, window, Qt.Key.Key_G, [[Qt.Key.Key_Return]])  # 挂账 with the first usual reason
    case = get_case(db, cid)
    assert case["status"] == "suspended" and case["history"][-1]["reason"].startswith("Needs funding")
    QTest.keyClick(window.table, Qt.Key.Key_6, CTRL)  # all cases: the suspended case is there
    window.select_row(window.model.row_of(cid) or 0)
    assert window.current_id() == cid
    press(qtbot, window, Qt.Key.Key_H)  # 恢复
    case = get_case(db, cid)
    assert case["status"] == "dispatched"
    assert [(e["action"], e["actor"]) for e in case["history"][-3:]] == [
        ("supervise", "lead"),
        ("suspend", "lead"),
        ("resume", "lead"),
    ]


def test_refusals_are_said_in_the_status_bar_before_any_dialog(qtbot, db, users, make_window):
    cid = dispatched(db, users)  # not overdue
    window = make_window(users["lead"])
    QTest.keyClick(window.table, Qt.Key.Key_6, CTRL)
    assert window.current_id() == cid
    press(qtbot, window, Qt.Key.Key_S)
    assert "not overdue" in window.message.text() and window.message.property("error") is True
    press(qtbot, window, Qt.Key.Key_H)  # resume: the case is not suspended
    assert "applies only to cases that are suspended" in window.message.text()
    press(qtbot, window, Qt.Key.Key_R)  # reopen: the case is not rejected
    assert "applies only to" in window.message.text()
    assert [e["action"] for e in get_case(db, cid)["history"]] == ["report", "file", "dispatch"]


def test_operators_are_not_offered_the_leads_work(qtbot, db, users, make_window):
    window = make_window(users["op1"])
    for command in ("case.supervise", "case.suspend", "case.resume", "case.reopen", "case.extension"):
        assert command not in window.actions_by_id
    trainer = make_window(users["trainer"], "trainer-seat")  # outside demo mode a trainer is no lead
    assert "case.supervise" not in trainer.actions_by_id
    lead = make_window(users["lead"], "lead-seat")
    assert lead.actions_by_id["case.suspend"].shortcut().toString() == "G"
    assert lead.actions_by_id["case.suspend"].isEnabled()


def test_a_lead_reopens_a_rejected_report_with_a_reason(qtbot, db, users, make_window):
    cid = add_report(db, article_report(external_id=None)).case_id
    lc.reject(db, users["op1"], cid, "Out of scope")
    window = make_window(users["lead"])
    QTest.keyClick(window.table, Qt.Key.Key_6, CTRL)
    assert window.current_id() == cid
    press(qtbot, window, Qt.Key.Key_R, [[Qt.Key.Key_Return, "caller phoned again", Qt.Key.Key_Return]])
    case = get_case(db, cid)  # an empty reason was refused in the dialog; the typed one went through
    assert case["status"] == "reported" and case["history"][-1]["reason"] == "caller phoned again"


def test_a_lead_refuses_an_extension_with_a_reason_and_approves_the_next(qtbot, db, users, make_window):
    cid = dispatched(db, users)
    lc.request_extension(db, users["gridteam"], cid, "2wd", "材料未到")
    window = make_window(users["lead"])
    QTest.keyClick(window.table, Qt.Key.Key_6, CTRL)
    assert "Extension asked" in window.panel.body.toPlainText()  # the lead sees the request waiting
    deadline = get_case(db, cid)["deadline"]
    press(qtbot, window, Qt.Key.Key_E, [[Qt.Key.Key_Down, Qt.Key.Key_Return], ["not justified", Qt.Key.Key_Return]])
    case = get_case(db, cid)
    assert case["extensions"][-1]["status"] == "refused" and case["history"][-1]["reason"] == "not justified"
    assert "Extension asked" not in window.panel.body.toPlainText()
    assert case["deadline"] == deadline
    lc.request_extension(db, users["gridteam"], cid, "1wd", "再等一天")
    press(qtbot, window, Qt.Key.Key_E, [[Qt.Key.Key_Return]])
    case = get_case(db, cid)
    assert case["extensions"][-1]["status"] == "approved" and case["deadline"] > deadline


def test_an_operator_records_a_units_phoned_answers_on_its_behalf(qtbot, db, users, make_window, tmp_path):
    after = tmp_path / "after.png"
    after.write_bytes(picture(1, "after"))
    cid = dispatched(db, users)
    window = make_window(users["op1"])
    QTest.keyClick(window.table, Qt.Key.Key_6, CTRL)
    assert window.current_id() == cid
    press(qtbot, window, Qt.Key.Key_Q)  # 签收
    assert get_case(db, cid)["status"] == "in_progress"
    press(
        qtbot,
        window,
        Qt.Key.Key_B,
        [
            ["bikes moved", Qt.Key.Key_Return],
            # a path that is no file is refused in the dialog, which stays open with the text selected
            [f"{tmp_path}/missing.jpg", Qt.Key.Key_Return, f"https://x.example/a.jpg {after}", Qt.Key.Key_Return],
        ],
    )
    case = get_case(db, cid)
    assert case["status"] == "handled" and case["result"] == "bikes moved"
    ack, handled = case["history"][-2:]
    assert (ack["action"], handled["action"]) == ("acknowledge", "handle")
    for event in (ack, handled):
        assert event["actor"] == "op1" and event["details"]["for_unit"] == UNIT
        assert event["who"] == "recorded by op1 for 塘西河网格综管队"
    link, stored = handled["details"]["photos"]
    assert link == "https://x.example/a.jpg" and stored.startswith(f"photo://phoned/{cid}/")
    views = {v.ref: v for v in photos.case_photos(db, cid)}
    assert views[stored].state == "stored" and views[stored].kind == "after"  # shown beside the report's photos
    assert "recorded by op1 for 塘西河网格综管队" in window.panel.body.toPlainText()


def test_an_operator_records_a_return_from_a_co_unit_with_its_reason(qtbot, db, users, make_window):
    cid = dispatched(db, users)
    lc.add_unit(db, users["op1"], cid, "CG")
    window = make_window(users["op1"])
    QTest.keyClick(window.table, Qt.Key.Key_6, CTRL)
    press(qtbot, window, Qt.Key.Key_T, [[Qt.Key.Key_Down, Qt.Key.Key_Return], ["not ours", Qt.Key.Key_Return]])
    event = get_case(db, cid)["history"][-1]
    assert (event["action"], event["reason"], event["details"]["for_unit"]) == ("return", "not ours", "CG")
    assert get_case(db, cid)["status"] == "returned"
