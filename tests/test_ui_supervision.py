"""The supervision window through its keys: live figures, drill-down into the queue view, the map."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from tests.conftest import article_report
from workstation.commands.keymap import Keymap
from workstation.services import lifecycle as lc
from workstation.services.reports import add_report
from workstation.ui.admin.window import AdminWindow
from workstation.ui.main_window import MainWindow
from workstation.ui.supervision.window import SupervisionWindow


def _window(qtbot, db, actor, tmp_path, cls=MainWindow):
    settings = QSettings(str(tmp_path / f"{actor.name}.ini"), QSettings.Format.IniFormat)
    window = cls(db, actor, Keymap.load(None), settings, seat="sup")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitActive(window):
        window.activateWindow()
    window.restore_focus()
    return window


def _open(qtbot, window) -> SupervisionWindow:
    qtbot.keyClick(window.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    sup = window.supervision
    assert isinstance(sup, SupervisionWindow) and sup.isVisible()
    qtbot.addWidget(sup)
    qtbot.waitUntil(lambda: sup.figures is not None, timeout=3000)
    return sup


def _cell(sup, row: int, col: int) -> str:
    return sup.tables["figures"].item(row, col).text()


def test_lead_opens_supervision_and_sees_a_new_report_within_two_seconds(qtbot, db, users, tmp_path):
    add_report(db, article_report(external_id=None, received_at="2026-11-30T09:00:00+08:00"))
    window = _window(qtbot, db, users["lead"], tmp_path)
    sup = _open(qtbot, window)
    before = int(_cell(sup, 0, 4).replace(",", ""))  # Reported, since launch
    assert before == 1
    cid = add_report(db, article_report(external_id=None)).case_id
    lc.file(db, users["op1"], cid, "0201")
    qtbot.waitUntil(lambda: int(_cell(sup, 0, 4).replace(",", "")) == 2, timeout=2000)
    assert _cell(sup, 1, 4) == "1"  # Filed, since launch
    sup.close()


def test_enter_on_a_number_lists_its_cases_in_the_queue_view(qtbot, db, users, tmp_path):
    for n in range(3):
        cid = add_report(db, article_report(external_id=None)).case_id
        if n:
            lc.file(db, users["op1"], cid, "0201")
    window = _window(qtbot, db, users["lead"], tmp_path)
    sup = _open(qtbot, window)
    table = sup.tables["figures"]
    table.setCurrentCell(1, 4)  # Filed since launch
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert window.model.rowCount() == 2
    assert window.filter.when is not None and window.filter.when[0] == "filed_at"
    assert "2 " in window.message.text() or "2" in window.message.text()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)  # the queue view comes forward
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # queue New: the drill ends
    assert window.filter.when is None and window.model.rowCount() == 1
    sup.close()


def test_number_keys_switch_views_and_the_map_lists_every_grid(qtbot, db, users, tmp_path):
    add_report(db, article_report(external_id=None))
    window = _window(qtbot, db, users["lead"], tmp_path)
    sup = _open(qtbot, window)
    qtbot.keyClick(sup.table, Qt.Key.Key_4)
    assert sup.current_view() == "overdue"
    qtbot.keyClick(sup.table, Qt.Key.Key_9)
    assert sup.current_view() == "map"
    assert sup.map.list.rowCount() == 434
    first = sup.map.measure
    qtbot.keyClick(sup.table, Qt.Key.Key_M)
    assert sup.map.measure != first
    grid = sup.map.canvas.selected
    assert grid
    qtbot.keyClick(sup.table, Qt.Key.Key_Return)
    assert window.filter.grid == grid
    sup.close()


def test_an_administrator_drills_into_a_queue_view_of_its_own(qtbot, db, users, tmp_path):
    add_report(db, article_report(external_id=None))
    admin = _window(qtbot, db, users["admin"], tmp_path, AdminWindow)
    sup = _open(qtbot, admin)
    sup.tables["figures"].setCurrentCell(0, 4)
    qtbot.keyClick(sup.table, Qt.Key.Key_Return)
    view = admin.queue_view
    qtbot.addWidget(view)
    assert isinstance(view, MainWindow) and view.model.rowCount() == 1
    sup.close()
    view.close()


def test_an_operator_is_not_offered_supervision(qtbot, db, users, tmp_path):
    window = _window(qtbot, db, users["op1"], tmp_path)
    assert "view.supervision" not in window.actions_by_id


def test_the_case_panel_shows_where_its_case_is(qtbot, db, users, tmp_path):
    cid = add_report(db, article_report(external_id=None, lon=117.229, lat=31.745)).case_id
    window = _window(qtbot, db, users["op1"], tmp_path)
    assert window.current_id() == cid
    where = window.panel.location
    assert where is not None and where.isVisible()
    assert where.selected == "S13C01G01" and where.points == [(117.229, 31.745)]
    assert {g.code[:3] for g in where.shapes} == {"S13"} and len(where.shapes) > 1
    assert "塘西河网格" in where.toolTip()


def test_the_hot_spot_measure_is_read_once_the_map_is_shown(qtbot, db, users, tmp_path, monkeypatch):
    from workstation.services import supervision as sup

    calls: list[bool] = []
    real = sup._hot_grids

    def counted(*args, **kwargs):
        calls.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(sup, "_hot_grids", counted)
    add_report(db, article_report(external_id=None))
    window = _window(qtbot, db, users["lead"], tmp_path)
    sup_window = _open(qtbot, window)
    qtbot.wait(300)
    assert not calls  # the first paint does not scan for hot spots
    qtbot.keyClick(sup_window.table, Qt.Key.Key_9)  # the map
    qtbot.waitUntil(lambda: bool(calls) and "hot" in sup_window.map.measures, timeout=3000)
    sup_window.close()
