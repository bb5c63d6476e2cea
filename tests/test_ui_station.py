"""The station workspace, driven by the keyboard only: worklist, visits, cases from needs, reveals."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from tests.care_support import HEADERS, OTHER_GRID, add, roster_xlsx, valid_id, wrong_check
from tests.uihelpers import ModalDriver, type_text
from workstation.commands.keymap import Keymap
from workstation.models import utcnow
from workstation.services import care_privacy, care_visits, care_worklist
from workstation.services.care_visits import Need
from workstation.services.queries import get_case
from workstation.ui.main_window import MainWindow
from workstation.ui.station import care_actions
from workstation.ui.station.coverage import CoverageModel
from workstation.ui.station.import_dialog import ImportDialog
from workstation.ui.station.visit_dialog import VisitDialog
from workstation.ui.station.window import StationWindow
from workstation.ui.station.worklist_model import WorklistModel

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier


class Keys(ModalDriver):
    """Answers modals like a keyboard: each key goes to the widget that has the focus.

    A step holds keys (``Qt.Key``), ``(key, modifiers)``, ASCII or Chinese text, or a callable run
    at that moment (to look at the dialog between keys). A modal is answered once it is active.
    """

    def __init__(self, steps, inspect=None) -> None:
        super().__init__(steps, inspect)
        self.started = time.monotonic()

    def _tick(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is not None and time.monotonic() - self.started > 8:  # a dialog left open would hang the test
            self.steps.clear()
            modal.reject()
            raise AssertionError(f"{modal.objectName()} was still open")
        if modal is None or modal in self.seen or not self.steps or QApplication.activeWindow() is not modal:
            if not self.steps and modal is None and self.pending == 0:
                self.timer.stop()
            return
        super()._tick()

    def _send(self, target: QWidget, step) -> None:
        try:
            for item in step:
                focus = QApplication.focusWidget()
                widget = focus if focus is not None and target.isAncestorOf(focus) else target
                if callable(item):
                    item()
                elif isinstance(item, str):
                    for n, line in enumerate(item.split("\n")):
                        if n:
                            QTest.keyClick(widget, Qt.Key.Key_Return)
                        type_text(widget, line)
                elif isinstance(item, tuple):
                    QTest.keyClick(widget, item[0], item[1])
                else:
                    QTest.keyClick(widget, item)
        finally:
            self.pending -= 1


@pytest.fixture
def make_window(qtbot, db, tmp_path):
    def make(actor, name="station", **kwargs):
        settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
        window = StationWindow(db, actor, Keymap.load(None), settings, seat=name, **kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitActive(window):
            window.activateWindow()
        window.table.setFocus()
        return window

    return make


def press(qtbot, window, key, steps=(), modifier=Qt.KeyboardModifier.NoModifier):
    driver = Keys(steps)
    QTest.keyClick(window.table, key, modifier)
    qtbot.waitUntil(driver.done, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)  # the keyboard is back
    return driver


@pytest.fixture
def people(db, users):
    """Three people of 塘西河社区: one never visited since 2020, one a few days late, one visited lately."""
    st, now = users["station"], utcnow()
    ids = {
        "久迟": add(db, st, name="久迟", groups=["G2"], since=date(2020, 1, 1), id_number=valid_id("19400305", "123")),
        "略迟": add(db, st, name="略迟", groups=["G2"], grid="华润蓝海网格", visitor="周敏", phone="13900001111"),
        "按时": add(db, st, name="按时", groups=["G5"], phone=""),
    }
    care_visits.record_visit(db, st, ids["略迟"], mode="home", met=True, at=now - timedelta(days=10))
    care_visits.record_visit(db, st, ids["按时"], mode="home", met=True, at=now - timedelta(days=10))
    return ids


def row_of(db, actor, person_id):
    return next(r for r in care_worklist.worklist(db, actor) if r["person_id"] == person_id)


def test_r_records_a_visit_whose_need_becomes_a_case_in_the_operator_queue(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    assert [window.model.person_at(r) for r in range(3)] == [people["久迟"], people["略迟"], people["按时"]]
    assert window.current_person() == people["久迟"]  # the most overdue first
    assert window.model.index(0, 0).data().endswith("Overdue")
    assert "久迟" in window.panel.text() and "(masked · s reveals)" in window.panel.text()
    assert "overdue 2" in window.counts_label.text()

    def looks(dialog):
        assert isinstance(dialog, VisitDialog)
        assert QApplication.focusWidget() is dialog.mode

    steps = [
        [
            "2",
            "n",
            "y",
            "h",
            (Qt.Key.Key_N, ALT),
            "!卫生间需要安装扶手\n想了解助餐服务 lunch",
            (Qt.Key.Key_Return, CTRL),
        ]
    ]
    driver = Keys(steps, looks)
    QTest.keyClick(window.table, Qt.Key.Key_R)
    qtbot.waitUntil(driver.done, timeout=5000)

    visit = care_worklist.person_page(db, users["station"], people["久迟"])["visits"][0]
    assert (visit["mode"], visit["met"], visit["observations"]["health"]["status"]) == ("phone", True, "concern")
    assert [(n["text"], n["urgent"], n["raise_case"]) for n in visit["needs"]] == [
        ("卫生间需要安装扶手", True, True),
        ("想了解助餐服务 lunch", False, True),  # typed letters are text there, not keys
    ]
    assert [area for area, o in visit["observations"].items() if o["status"] == "concern"] == ["health"]
    cases = [n["case_id"] for n in visit["needs"]]
    assert all(cases)
    assert window.message.text() == f"Visit recorded; cases #{cases[0]}, #{cases[1]} raised."
    assert row_of(db, users["station"], people["久迟"])["status"] == "scheduled"
    qtbot.waitUntil(lambda: window.model.person_at(0) == people["略迟"], timeout=3000)  # no longer first
    assert window.current_person() == people["久迟"]  # still selected
    assert f"case #{cases[0]}" in window.panel.text()

    settings = QSettings(str(window.settings.fileName()) + ".op", QSettings.Format.IniFormat)
    desk = MainWindow(db, users["op1"], Keymap.load(None), settings, seat="op")
    qtbot.addWidget(desk)
    queue = [desk.model.id_at(r) for r in range(desk.model.rowCount())]
    assert cases[0] in queue and cases[1] in queue
    case = get_case(db, cases[0])
    assert (case["channel"], case["status"], case["priority"]) == ("VISIT", "reported", 1)
    assert case["channel_label"] == "Found on a care visit"  # 走访发现 in Chinese


def test_n_raises_the_latest_visits_need_and_picks_among_several(qtbot, db, users, people, make_window):
    st = users["station"]
    visit = care_visits.record_visit(db, st, people["久迟"], mode="home", met=False, needs=["门锁坏了"])
    window = make_window(st)
    window.select_row(window.model.row_of(people["久迟"]))
    press(qtbot, window, Qt.Key.Key_N)
    case_id = care_worklist.person_page(db, st, people["久迟"])["visits"][0]["needs"][0]["case_id"]
    assert case_id and get_case(db, case_id)["external_id"] == f"visit-{visit.visit_id}-1"
    assert window.message.text() == f"Case #{case_id} raised: 门锁坏了"

    care_visits.record_visit(db, st, people["按时"], mode="phone", met=True, needs=["需要助餐", "需要理发"])
    window.select_row(window.model.row_of(people["按时"]))
    press(qtbot, window, Qt.Key.Key_N, [["lf", Qt.Key.Key_Return]])  # lf = 理发
    needs = care_worklist.person_page(db, st, people["按时"])["visits"][0]["needs"]
    assert [bool(n["case_id"]) for n in needs] == [False, True]


def test_n_without_a_need_opens_the_visit_form_at_the_needs(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    seen = {}

    def looks(dialog):
        seen["focus"] = QApplication.focusWidget() is dialog.needs

    driver = Keys([[Qt.Key.Key_Escape]], looks)
    QTest.keyClick(window.table, Qt.Key.Key_N)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert seen == {"focus": True}
    assert care_worklist.person_page(db, users["station"], people["久迟"])["visits"] == []  # Esc: nothing


def test_a_bad_next_date_keeps_the_form_open_with_the_reason(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    errors = []

    def error():
        errors.append(QApplication.activeModalWidget().error.text())

    steps = [[(Qt.Key.Key_X, ALT), "2099-01-01", (Qt.Key.Key_Return, CTRL), error, Qt.Key.Key_Escape]]
    press(qtbot, window, Qt.Key.Key_R, steps)
    assert "required with a next date" in errors[0]
    assert care_worklist.person_page(db, users["station"], people["久迟"])["visits"] == []


def test_u_records_a_major_change_and_the_person_is_due_within_a_day(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    window.select_row(window.model.row_of(people["按时"]))
    assert window.model.record(people["按时"])["status"] == "scheduled"
    press(qtbot, window, Qt.Key.Key_U, [["hosp", Qt.Key.Key_Return], ["住院三天", Qt.Key.Key_Return]])
    row = row_of(db, users["station"], people["按时"])
    assert (row["status"], row["reason"], row["urgent"][0]["kind"]) == ("due", "urgent", "hospital")
    assert window.model.record(people["按时"])["reason"] == "urgent"
    assert window.current_person() == people["按时"]
    assert "due for a visit within 24 hours" in window.message.text()


def test_s_reveals_with_a_reason_and_records_it_and_refuses_without(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    window.select_row(window.model.row_of(people["略迟"]))
    assert "139****1111" in window.panel.text()
    errors, shown = [], []

    def error():
        errors.append(QApplication.activeModalWidget().error.text())

    press(qtbot, window, Qt.Key.Key_S, [["phone", Qt.Key.Key_Return], [Qt.Key.Key_Return, error, Qt.Key.Key_Escape]])
    assert errors == ["Say why you need the clear value (a reason)."]
    assert care_privacy.reveals(db, users["lead"]) == []

    def clear(dialog):
        if hasattr(dialog, "view"):
            shown.append(dialog.view.toPlainText())

    driver = Keys([["phone", Qt.Key.Key_Return], ["老人电话无人接听", Qt.Key.Key_Return], [Qt.Key.Key_Escape]], clear)
    QTest.keyClick(window.table, Qt.Key.Key_S)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert shown == ["13900001111"]
    audit = care_privacy.reveals(db, users["lead"])
    assert [(a["actor"], a["person_id"], a["field"], a["reason"]) for a in audit] == [
        ("station", people["略迟"], "phone", "老人电话无人接听")
    ]
    assert "139****1111" in window.panel.text()  # the page stays masked


def test_a_station_user_never_sees_another_community_and_a_lead_picks_one(qtbot, db, users, people, make_window):
    other = add(db, users["lead"], name="别处", grid=OTHER_GRID, groups=["G2"], since=date(2020, 1, 1))
    window = make_window(users["station"])
    shown = {window.model.person_at(r) for r in range(window.model.rowCount())}
    assert shown == set(people.values())
    assert [window.grid_filter.itemText(i) for i in range(window.grid_filter.count())] == [
        "All grids",
        "塘西河网格",
        "华润蓝海网格",
    ]
    press(qtbot, window, Qt.Key.Key_1, modifier=CTRL)  # station staff: back to the list, no picker
    assert window.community == "S13C01"

    driver = Keys([["塘西河", Qt.Key.Key_Return]])  # no community yet: the picker opens at start
    lead = make_window(users["lead"], name="lead")
    qtbot.waitUntil(driver.done, timeout=5000)
    assert lead.community == "S13C01" and lead.model.rowCount() == 3
    press(qtbot, lead, Qt.Key.Key_1, [["方兴湖", Qt.Key.Key_Return]], modifier=CTRL)
    assert lead.community == "S13C02"
    assert [lead.model.person_at(r) for r in range(lead.model.rowCount())] == [other]
    assert "方兴湖社区" in lead.windowTitle()
    assert make_window(users["lead"], name="lead").community == "S13C02"  # remembered


def test_reveal_is_refused_with_the_services_reason_when_not_allowed(qtbot, db, users, people, make_window):
    window = make_window(users["op1"], community="塘西河社区")
    press(qtbot, window, Qt.Key.Key_S)  # no picker, no prompt
    assert "may not see personal information in clear" in window.message.text()
    assert window.message.property("error") is True
    assert care_privacy.reveals(db, users["lead"]) == []


def test_every_station_command_is_enabled_and_in_the_palette(qtbot, db, users, make_window):
    from workstation.commands.registry import all_commands

    window = make_window(users["station"])
    seen = {}

    def inspect(picker):
        seen["ids"] = [i.key for i in picker.model.items]

    driver = Keys([[Qt.Key.Key_Escape]], inspect)
    QTest.keyClick(window.table, Qt.Key.Key_K, CTRL)
    qtbot.waitUntil(driver.done, timeout=5000)
    station = [c.id for c in all_commands({"station"})]
    assert seen["ids"] == station
    assert all(window.actions_by_id[c].isEnabled() for c in station)
    assert "care.record_visit" in station and "queue.next" not in station


def test_j_k_and_search_move_and_filter_the_list(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    QTest.keyClick(window.table, Qt.Key.Key_J)
    assert window.current_person() == people["略迟"]
    QTest.keyClick(window.table, Qt.Key.Key_K)
    assert window.current_person() == people["久迟"]
    QTest.keyClick(window.table, Qt.Key.Key_Slash)
    assert window.search.hasFocus()
    type_text(window.search, "周敏")  # the visitor
    QTest.keyClick(window.search, Qt.Key.Key_Return)
    assert window.table.hasFocus()
    assert window.model.rowCount() == 1 and window.current_person() == people["略迟"]
    assert window.counts_label.text().startswith("1 of 3 shown")
    QTest.keyClick(window.table, Qt.Key.Key_1, CTRL)
    assert window.model.rowCount() == 3


def test_a_visit_recorded_elsewhere_refreshes_the_list_and_keeps_the_selection(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    window.select_row(window.model.row_of(people["略迟"]))
    care_visits.record_visit(db, users["lead"], people["久迟"], mode="home", met=True)
    qtbot.waitUntil(lambda: window.model.person_at(0) == people["略迟"], timeout=3000)
    assert window.current_person() == people["略迟"]
    assert "overdue 1" in window.counts_label.text()


def test_g_shows_coverage_per_grid(qtbot, db, users, people, make_window, qtmodeltester):
    window = make_window(users["station"])
    seen = {}

    def looks(dialog):
        seen["rows"] = [[dialog.model.index(r, c).data() for c in range(4)] for r in range(dialog.model.rowCount())]
        qtmodeltester.check(dialog.model)

    driver = Keys([[Qt.Key.Key_Escape]], looks)
    QTest.keyClick(window.table, Qt.Key.Key_G)
    qtbot.waitUntil(driver.done, timeout=5000)
    rows = {r[0]: r[1:] for r in seen["rows"]}
    assert rows["塘西河网格 (S13C01G01)"] == ["2", "50%", "1"]
    assert rows["华润蓝海网格 (S13C01G02)"] == ["1", "0%", "1"]
    assert rows["All of 塘西河社区"] == ["3", "33%", "2"]


def test_ctrl_e_exports_the_ledger_masked(qtbot, db, users, people, make_window, tmp_path, monkeypatch):
    path = tmp_path / "ledger.xlsx"
    monkeypatch.setattr(care_actions.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window = make_window(users["station"])
    press(qtbot, window, Qt.Key.Key_E, [[Qt.Key.Key_Return]], modifier=CTRL)  # the masked export is first
    assert "2 visits written" in window.message.text()
    sheet = load_workbook(path).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["按时", "略迟"]
    phones = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "139****1111" in phones
    assert care_privacy.reveals(db, users["lead"]) == []


def test_ctrl_e_in_clear_needs_a_reason_and_is_recorded(qtbot, db, users, people, make_window, tmp_path, monkeypatch):
    path = tmp_path / "clear"
    monkeypatch.setattr(care_actions.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window = make_window(users["station"])
    press(
        qtbot, window, Qt.Key.Key_E, [[Qt.Key.Key_Down, Qt.Key.Key_Return], ["区里核对台账", Qt.Key.Key_Return]], CTRL
    )
    sheet = load_workbook(tmp_path / "clear.xlsx").active
    assert "13900001111" in [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    audit = care_privacy.reveals(db, users["lead"])
    assert [(a["field"], a["reason"], a["details"]["rows"]) for a in audit] == [("ledger", "区里核对台账", 2)]


def test_worklist_model_passes_the_model_tester(qtmodeltester, db, users, people):
    model = WorklistModel()
    model.set_rows(care_worklist.worklist(db, users["station"]))
    qtmodeltester.check(model)
    model.set_filter(search="华润")
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    model.set_filter(search="", grid="S13C01G01")
    assert model.rowCount() == 2
    assert model.counts()["overdue"] == 2


def test_coverage_model_passes_the_model_tester(qtmodeltester, db, users, people):
    model = CoverageModel(care_worklist.coverage(db, users["station"]))
    qtmodeltester.check(model)


def test_the_layout_is_remembered(qtbot, db, users, people, make_window):
    window = make_window(users["station"])
    window.table.setColumnWidth(2, 333)
    window.close()
    settings = window.settings
    assert settings.value("station/geometry") is not None and settings.value("station/split") is not None
    again = make_window(users["station"])
    assert again.table.columnWidth(2) == 333


def test_visit_recording_needs_a_need_text(db, users, people):
    with pytest.raises(Exception, match="cannot be empty"):
        care_visits.record_visit(db, users["station"], people["久迟"], mode="home", met=True, needs=[Need("  ")])


def roster_rows(bad_id=False):
    second = valid_id("19520101", "044")
    return [
        [
            1,
            "章一",
            "男",
            valid_id("19400305", "123"),
            "13812345678",
            "方兴大道1号",
            "塘西河网格",
            "高龄",
            "高",
            "独居",
        ],
        [2, "李二", "女", wrong_check(second) if bad_id else second, "", "华润蓝海2栋", "华润蓝海网格", "G5", "", ""],
        [3, "王三", "男", valid_id("20120909", "011"), "", "塘西河花园5栋", "塘西河网格", "困境儿童", "", "其他"],
    ]


def names_in(window):
    return sorted(r["name"] for r in window.model.all_rows)


def test_ctrl_i_refuses_a_roster_with_a_bad_row_then_imports_the_good_ones(
    qtbot, db, users, make_window, tmp_path, monkeypatch
):
    path = roster_xlsx(tmp_path / "roster.xlsx", roster_rows(bad_id=True))
    monkeypatch.setattr(care_actions.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window = make_window(users["station"])
    assert names_in(window) == []
    seen = {}

    def look():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ImportDialog)
        seen["mapping"] = [[dialog.model.index(r, c).data() for c in range(3)] for r in range(3)]
        seen["problems"] = dialog.problems.toPlainText()

    def refused():
        seen["error"] = QApplication.activeModalWidget().error.text()

    press(qtbot, window, Qt.Key.Key_I, [[look, (Qt.Key.Key_Return, CTRL), refused, Qt.Key.Key_Escape]], CTRL)
    assert seen["mapping"] == [["A", "序号", "—"], ["B", "姓名", "name"], ["C", "性别", "gender"]]
    assert "2 of 3 rows can be imported." in seen["problems"]
    assert "row 4: identity number" in seen["problems"] and "wrong check digit" in seen["problems"]
    assert "1 rows have problems; nothing was imported" in seen["error"]
    assert names_in(window) == [] and care_worklist.worklist(db, users["station"]) == []

    press(qtbot, window, Qt.Key.Key_I, [[(Qt.Key.Key_S, ALT), (Qt.Key.Key_Return, CTRL)]], CTRL)
    assert window.message.text() == "2 people imported from roster.xlsx; 1 bad rows skipped."
    assert names_in(window) == ["王*", "章一"]  # a child's name is masked


def test_ctrl_i_enter_on_a_column_changes_its_field_and_the_fixed_file_imports(
    qtbot, db, users, make_window, tmp_path, monkeypatch, qtmodeltester
):
    headers = [h if h != "重点人群类别" else "所属人群" for h in HEADERS]  # not recognised
    path = roster_xlsx(tmp_path / "fixed.xlsx", roster_rows(), headers)
    monkeypatch.setattr(care_actions.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window = make_window(users["station"])
    seen = []

    def look():
        dialog = QApplication.activeModalWidget()
        qtmodeltester.check(dialog.model)
        seen.append((dialog.model.index(7, 2).data(), dialog.problems.toPlainText()))

    def active():  # the picker closed: the dialog has the keyboard again
        qtbot.waitUntil(lambda: QApplication.activeWindow() is QApplication.activeModalWidget(), timeout=2000)

    steps = [[look, *[Qt.Key.Key_Down] * 7, Qt.Key.Key_Return, active, look, (Qt.Key.Key_Return, CTRL)], ["groups\n"]]
    press(qtbot, window, Qt.Key.Key_I, steps, CTRL)
    assert seen[0] == ("—", "The file has no column for: groups. Give the mapping of columns to fields.")
    assert seen[1] == ("groups", "3 of 3 rows can be imported.")
    assert window.message.text() == "3 people imported from fixed.xlsx."
    assert names_in(window) == ["李二", "王*", "章一"]


def test_a_visit_typed_in_later_keeps_when_it_happened_and_who_visited(qtbot, db, users, people, make_window):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    centre = ZoneInfo("Asia/Shanghai")
    window = make_window(users["station"])
    now = datetime.now(centre).replace(second=0, microsecond=0)
    happened = now - timedelta(days=3, hours=2)
    seen = []

    def look():
        dialog = QApplication.activeModalWidget()
        seen.append((dialog.error.text(), QApplication.focusWidget() is dialog.when))

    steps = [
        [
            (Qt.Key.Key_W, ALT),
            (now + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
            (Qt.Key.Key_Return, CTRL),
            look,  # refused: in the future; the cursor is back on the time
            (Qt.Key.Key_W, ALT),
            (now - timedelta(days=31)).strftime("%Y-%m-%d %H:%M"),
            (Qt.Key.Key_Return, CTRL),
            look,  # refused: beyond the back-dating limit
            (Qt.Key.Key_W, ALT),
            happened.strftime("%Y-%m-%d %H:%M"),
            (Qt.Key.Key_O, ALT),
            "王芳",
            (Qt.Key.Key_Return, CTRL),
        ]
    ]
    press(qtbot, window, Qt.Key.Key_R, steps)
    assert "in the future" in seen[0][0] and seen[0][1]
    assert "more than 30 days ago" in seen[1][0] and seen[1][1]
    visit = care_worklist.person_page(db, users["station"], people["久迟"])["visits"][0]
    assert datetime.fromisoformat(visit["at"]) == happened
    assert visit["visitor"] == "王芳" and visit["recorded_by"] == "station"
    assert datetime.fromisoformat(visit["recorded_at"]) >= now
    text = window.panel.text()
    assert happened.strftime("%m-%d %H:%M") in text and "recorded " in text and "by station" in text
