"""The administrator's window verifies the history in the background and shows when it was tampered with."""

from __future__ import annotations

import threading

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel

from tests.conftest import article_report
from tests.test_audit import tamper
from workstation.app import build_window
from workstation.commands.keymap import Keymap
from workstation.services import audit
from workstation.services import lifecycle as lc
from workstation.services.reports import add_report


def open_window(qtbot, db, actor, tmp_path, **kw):
    settings = QSettings(str(tmp_path / f"{actor.name}.ini"), QSettings.Format.IniFormat)
    window = build_window(db, actor, Keymap.load(None), settings, seat="t", demo=False, **kw)
    qtbot.addWidget(window)
    return window


def settled(qtbot, window):
    qtbot.waitUntil(lambda: window.audit_mark.report is not None or "not verified" in window.audit_mark.text())
    window.audit_mark.worker.join(10)


def test_the_administrator_sees_the_history_verified_off_the_gui_thread(qtbot, db, users, tmp_path, monkeypatch):
    lc.file(db, users["op1"], add_report(db, article_report()).case_id, "0201")
    threads: list[str] = []
    real = audit.verify

    def verify(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "verify", verify)
    window = open_window(qtbot, db, users["admin"], tmp_path)
    settled(qtbot, window)
    assert threads == ["audit-verify"]
    assert window.audit_mark.text() == "Audit ✓" and window.audit_mark.isVisible() is window.isVisible()
    assert window.audit_mark.property("error") is False


def test_a_tampered_history_is_shown_to_the_administrator(qtbot, db, db_url, users, tmp_path):
    cid = add_report(db, article_report()).case_id
    lc.reject(db, users["op1"], cid, "重复")
    tamper(db_url, f"UPDATE case_events SET reason = '' WHERE case_id = {cid} AND action = 'reject'")
    for window in (
        open_window(qtbot, db, users["admin"], tmp_path),
        open_window(qtbot, db, users["admin"], tmp_path, community="塘西河社区"),  # the station workspace too
    ):
        settled(qtbot, window)
        mark = window.audit_mark
        assert mark.text() == "Audit: history tampered (1)" and mark.property("error") is True
        assert "changed after it was written" in mark.toolTip()


def test_other_roles_get_no_audit_mark(qtbot, db, users, tmp_path):
    for name in ("op1", "lead", "station"):
        window = open_window(qtbot, db, users[name], tmp_path)
        assert window.audit_mark is None
        assert window.findChild(QLabel, "auditMark") is None
