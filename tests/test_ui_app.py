"""The composition root picks the window by role and the case panel shows what a seat needs."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from tests.conftest import article_report
from workstation.app import build_window
from workstation.commands.keymap import Keymap
from workstation.services.reports import add_report
from workstation.ui.main_window import MainWindow
from workstation.ui.station.window import StationWindow


def make(qtbot, db, actor, tmp_path, **kw):
    settings = QSettings(str(tmp_path / f"{actor.name}.ini"), QSettings.Format.IniFormat)
    window = build_window(db, actor, Keymap.load(None), settings, seat="t", demo=False, **kw)
    qtbot.addWidget(window)
    return window


def test_each_role_gets_its_window(qtbot, db, users, tmp_path):
    operator = make(qtbot, db, users["op1"], tmp_path)
    assert isinstance(operator, MainWindow) and "intake" in operator.scopes
    assert isinstance(make(qtbot, db, users["station"], tmp_path), StationWindow)
    assert isinstance(make(qtbot, db, users["lead"], tmp_path), MainWindow)
    lead_station = make(qtbot, db, users["lead"], tmp_path, community="塘西河社区")
    assert isinstance(lead_station, StationWindow)


def test_the_case_panel_masks_the_phone_and_names_the_source_service(qtbot, db, users, tmp_path):
    from sqlalchemy import update

    from workstation.models import Case

    cid = add_report(db, article_report(external_id=None)).case_id
    with db.write() as s:
        s.execute(update(Case).where(Case.id == cid).values(source_service="Abandoned bicycle"))
    window = make(qtbot, db, users["op1"], tmp_path)
    text = window.panel.body.toPlainText()
    assert "138****5678" in text and "13812345678" not in text
    assert "the source calls it Abandoned bicycle" in text


def test_an_empty_queue_says_so_in_its_middle(qtbot, db, users, tmp_path):
    from PySide6.QtCore import Qt

    window = make(qtbot, db, users["op1"], tmp_path)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    placeholder = window.table.empty_label
    assert placeholder.isVisible() and placeholder.text() == "No cases in this queue."
    centre = window.table.viewport().rect().center()
    assert placeholder.geometry().contains(centre)
    add_report(db, article_report(external_id=None))
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert not placeholder.isVisible()
