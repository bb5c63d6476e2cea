"""The window's intake: background polling under qasync, the status bar, outbox, quarantine and mappings."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from sqlalchemy import select
from werkzeug import Request, Response

import workstation.intake  # noqa: F401 - the source kinds and the outbox hook
from tests.conftest import article_report
from tests.test_intake_feed import CENTRE, Feed, feed_item, page
from tests.uihelpers import ModalDriver
from workstation.commands.keymap import Keymap
from workstation.intake.poller import Poller
from workstation.models import Case, OutboxMessage
from workstation.services import lifecycle as lc
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.ui.integration import IntegrationExtension
from workstation.ui.main_window import MainWindow
from workstation.ui.table_pane import local_time

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
FAST = {"timeout_s": 2, "attempts": 2, "backoff_s": 0.01, "backoff_max_s": 0.02}
UNIT = "GRID-S13C01G01"


@pytest.fixture
def make_window(qtbot, db, tmp_path, aio):
    made: list[tuple[MainWindow, IntegrationExtension]] = []

    def make(actor, sources=(), targets=()):
        path = tmp_path / "intake.json"
        path.write_text(json.dumps({"defaults": FAST, "sources": list(sources), "targets": list(targets)}))
        ext = IntegrationExtension(path, tick_ms=50, send_every_s=0.2, round_timeout_s=20)
        settings = QSettings(str(tmp_path / "seat.ini"), QSettings.Format.IniFormat)
        window = MainWindow(db, actor, Keymap.load(None), settings, seat="seat", extensions=[ext])
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitActive(window):
            window.activateWindow()
        window.table.setFocus()
        made.append((window, ext))
        return window, ext

    yield make
    for window, ext in made:
        window.close()
        qtbot.waitUntil(ext.runner.idle, timeout=10000)  # no round may outlive the database


def platform_source(httpserver, name="district", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "platform", "url": httpserver.url_for("/feed"), "poll_interval_s": 600, **extra}


def open_dialog(qtbot, window, key, get):
    QTest.keyClick(window.table, key, CTRL_SHIFT)
    dialog = get()
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=3000)  # the keyboard is in the dialog
    return dialog


class InDialog(ModalDriver):
    """Answers the picker a dialog opens; done once the dialog is the modal window again."""

    def __init__(self, dialog, steps) -> None:
        super().__init__(steps)
        self.dialog = dialog
        self.seen.append(dialog)

    def done(self) -> bool:
        return not self.steps and self.pending == 0 and QApplication.activeModalWidget() is self.dialog


def picker_driver(dialog, keys) -> InDialog:
    return InDialog(dialog, [keys])


def press(qtbot, window, key, modifiers=Qt.KeyboardModifier.NoModifier, steps=()):
    driver = ModalDriver(steps)
    QTest.keyClick(window.table, key, modifiers)
    qtbot.waitUntil(driver.done, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)  # the keyboard is back
    return driver


def channel_cases(db, channel: str) -> list[Case]:
    with db.read() as s:
        return list(s.scalars(select(Case).where(Case.channel == channel).order_by(Case.id)))


def test_the_feed_is_polled_off_the_ui_thread_and_new_reports_reach_the_queue(
    qtbot, db, users, httpserver, make_window, monkeypatch
):
    threads: list[int] = []
    real = Poller.poll_source

    def recording(self, source):
        threads.append(threading.get_ident())
        return real(self, source)

    monkeypatch.setattr(Poller, "poll_source", recording)
    feed = Feed({None: page([feed_item(1), feed_item(2, grid=None, lon=CENTRE[0], lat=CENTRE[1])], "c1")})
    served: list[tuple[float, float]] = []

    def slow(request: Request) -> Response:
        start = time.monotonic()
        time.sleep(0.6)  # a slow platform
        served.append((start, time.monotonic()))
        return feed(request)

    httpserver.expect_request("/feed").respond_with_handler(slow)
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    heartbeat.start(20)
    window, ext = make_window(users["op1"], [platform_source(httpserver)])
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=8000)
    heartbeat.stop()
    assert threads and threading.main_thread().ident not in threads  # the round ran in a worker thread
    start, end = served[0]
    assert sum(1 for t in ticks if start <= t <= end) >= 10  # the UI kept processing events meanwhile
    assert sorted(c.external_id for c in channel_cases(db, "APP")) == ["P-1", "P-2"]
    qtbot.waitUntil(lambda: "1 source OK" in ext.label.text(), timeout=3000)
    assert ext.label.property("state") == "ok"


def test_with_the_platform_down_the_seat_works_on_and_catches_up_when_it_returns(
    qtbot, db, users, httpserver, make_window
):
    cid = add_report(db, article_report()).case_id
    down = {"now": True}
    feed = Feed({None: page([feed_item(7)], "c1")})
    httpserver.expect_request("/feed").respond_with_handler(
        lambda r: Response("maintenance", status=500) if down["now"] else feed(r)
    )
    window, ext = make_window(users["op1"], [platform_source(httpserver)])
    qtbot.waitUntil(lambda: "unreachable since" in ext.label.text(), timeout=5000)
    assert "district" in ext.label.text() and ext.label.property("state") == "down"
    assert "HTTP 500" in ext.label.toolTip()
    # the seat files and dispatches its own case meanwhile
    assert window.current_id() == cid
    press(qtbot, window, Qt.Key.Key_F, steps=[[Qt.Key.Key_Return], [Qt.Key.Key_Return]])
    assert get_case(db, cid)["status"] == "dispatched"
    assert channel_cases(db, "APP") == []
    # the platform is back: a poll asked by hand catches up from the stored cursor
    down["now"] = False
    QTest.keyClick(window.table, Qt.Key.Key_P, CTRL_SHIFT)
    qtbot.waitUntil(lambda: "1 source OK" in ext.label.text(), timeout=5000)
    assert [c.external_id for c in channel_cases(db, "APP")] == ["P-7"]
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)  # the new report is in the queue
    assert window.current_case()["external_id"] == "P-7"


def test_a_failed_outbound_message_is_listed_and_r_sends_it_again(
    qtbot, qtmodeltester, db, users, httpserver, make_window
):
    received: list[str] = []
    answers = [Response('{"error": "unknown case format"}', status=422), Response("ok", status=202)]

    def orders(request: Request) -> Response:
        received.append(request.headers["Idempotency-Key"])
        return answers.pop(0)

    httpserver.expect_request("/orders", method="POST").respond_with_handler(orders)
    target = {"name": "grid-team", "kind": "webhook", "url": httpserver.url_for("/orders"), "units": [UNIT]}
    window, ext = make_window(users["op1"], targets=[target])
    qtbot.waitUntil(lambda: "outbox 0 pending, 0 failed" in ext.label.text(), timeout=3000)  # targets synced
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    qtbot.waitUntil(lambda: "1 failed" in ext.label.text(), timeout=5000)
    assert ext.label.property("state") == "warn"
    dialog = open_dialog(qtbot, window, Qt.Key.Key_O, lambda: ext.outbox_dialog)
    qtmodeltester.check(dialog.model)
    assert dialog.model.rowCount() == 1
    row = dialog.pane.current()
    assert (row["status"], row["target"], row["case_id"], row["kind"]) == ("failed", "grid-team", cid, "dispatch_order")
    cells = [dialog.model.index(0, c).data() for c in range(dialog.model.columnCount())]
    assert cells[:5] == ["failed", "grid-team", f"#{cid}", "Dispatch order", "1/8"] and "HTTP 422" in cells[6]
    QTest.keyClicks(dialog.pane.table, "sent")  # typing filters: no message was sent yet
    assert dialog.model.rowCount() == 0 and dialog.pane.filter.text() == "sent"
    QTest.keyClick(dialog.pane.filter, Qt.Key.Key_Escape)  # clears the filter, back to the table
    assert dialog.model.rowCount() == 1 and dialog.pane.table.hasFocus()
    QTest.keyClick(dialog.pane.table, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: dialog.pane.current()["status"] == "sent", timeout=5000)
    with db.read() as s:
        (message,) = s.scalars(select(OutboxMessage)).all()
    assert received == [message.uuid, message.uuid] and message.response_code == 202
    qtmodeltester.check(dialog.model)
    QTest.keyClick(dialog.pane.table, Qt.Key.Key_Return)  # Enter shows the message itself
    assert dialog.viewer is not None and dialog.viewer.isVisible()
    assert json.loads(dialog.viewer.body.toPlainText())["message_id"] == message.uuid
    QTest.keyClick(dialog.viewer.body, Qt.Key.Key_Escape)
    QTest.keyClick(dialog.pane.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible() and QApplication.activeWindow() is window, timeout=3000)
    qtbot.waitUntil(lambda: "outbox 0 pending, 0 failed" in ext.label.text(), timeout=3000)


def test_a_quarantined_item_is_shown_with_its_reason_and_reprocessed_after_editing(
    qtbot, qtmodeltester, db, users, httpserver, make_window
):
    no_zone = feed_item(1, received_at="2026-06-04T10:19:00")
    no_channel = feed_item(2, channel=None, received_at="2026-06-01T08:05:00+08:00")
    httpserver.expect_request("/feed").respond_with_handler(Feed({None: page([no_zone, no_channel], "c1")}))
    window, ext = make_window(users["op1"], [platform_source(httpserver)])
    qtbot.waitUntil(lambda: ext.runner.rounds["poll"] == 1, timeout=5000)
    dialog = open_dialog(qtbot, window, Qt.Key.Key_Q, lambda: ext.quarantine_dialog)
    items = dialog.items.model
    qtmodeltester.check(items)
    assert items.rowCount() == 2 and dialog.tabs.tabText(0) == "&Items (2)"
    first = dialog.items.current()
    assert (first["source"], first["external_id"], first["times_seen"]) == ("district", "P-1", 1)
    assert "timezone" in items.index(0, 5).data()
    titles = [items.headerData(c, Qt.Orientation.Horizontal) for c in range(items.columnCount())]
    assert titles[2:4] == ["Reported", "First seen"]
    # the report's own time (as the item says it, even the one that kept it out), then when it was seen
    assert [items.index(r, 2).data() for r in (0, 1)] == ["2026-06-04 10:19 (no time zone)", "2026-06-01 08:05"]
    seen = local_time(first["received_at"], ext.tz)
    assert [items.index(r, 3).data() for r in (0, 1)] == [seen, seen] and ":" in seen
    # Enter: the original payload, editable, with the reason
    QTest.keyClick(dialog.items.table, Qt.Key.Key_Return)
    view = dialog.view
    assert view is not None and view.isVisible()
    assert "timezone" in view.reason.text()
    assert json.loads(view.payload.toPlainText())["received_at"] == "2026-06-04T10:19:00"
    view.payload.setPlainText(view.payload.toPlainText().replace("10:19:00", "10:19:00+08:00"))
    QTest.keyClick(view.payload, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=3000)
    (case,) = channel_cases(db, "APP")
    assert case.external_id == "P-1" and "reprocessed" in dialog.message.text()
    assert items.rowCount() == 1 and dialog.items.current()["external_id"] == "P-2"
    # Del discards the other one, with a reason
    driver = picker_driver(dialog, ["test data", Qt.Key.Key_Return])
    QTest.keyClick(dialog.items.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert items.rowCount() == 0 and "discarded" in dialog.message.text()
    qtmodeltester.check(items)
    QTest.keyClick(dialog.items.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)  # the reprocessed report is in the queue


def test_an_unmapped_service_code_is_mapped_from_the_dialog_and_the_next_report_is_categorised(
    qtbot, qtmodeltester, db, users, httpserver, make_window
):
    def request(rid: int, when: str) -> dict[str, Any]:
        return {
            "service_request_id": rid,
            "service_code": "002",
            "service_name": "共享单车乱停",
            "description": f"市民反映 {rid}",
            "requested_datetime": when,
            "lat": CENTRE[1],
            "long": CENTRE[0],
        }

    batch = [request(1, "2026-06-04T10:00:00+08:00")]
    httpserver.expect_request("/v2/services.json").respond_with_json(
        [{"service_code": "002", "service_name": "共享单车乱停"}]
    )
    httpserver.expect_request("/v2/requests.json").respond_with_handler(
        lambda r: Response(json.dumps(batch, ensure_ascii=False), content_type="application/json")
    )
    source = {"name": "citizen311", "kind": "open311", "url": httpserver.url_for("/v2"), "poll_interval_s": 600}
    window, ext = make_window(users["lead"], [source])
    qtbot.waitUntil(lambda: len(channel_cases(db, "OPEN311")) == 1, timeout=5000)
    (first,) = channel_cases(db, "OPEN311")
    assert (first.category_code, first.source_service) == (None, "共享单车乱停")  # uncategorised, name kept
    dialog = open_dialog(qtbot, window, Qt.Key.Key_Q, lambda: ext.quarantine_dialog)
    QTest.keyClick(dialog.items.table, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)  # the mappings tab
    qtbot.waitUntil(lambda: dialog.tabs.currentIndex() == 1, timeout=2000)
    maps = dialog.maps.model
    qtmodeltester.check(maps)
    assert dialog.tabs.tabText(1) == "&Service mappings (1 unmapped)"
    assert [maps.index(0, c).data() for c in range(maps.columnCount())] == [
        "citizen311",
        "002",
        "共享单车乱停",
        "1",
        "none: reports arrive uncategorised",
    ]
    driver = picker_driver(dialog, ["0201", Qt.Key.Key_Return])
    QTest.keyClick(dialog.maps.table, Qt.Key.Key_Return)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert maps.index(0, 4).data() == "0201 非机动车乱停放" and "now maps to 0201" in dialog.message.text()
    assert dialog.tabs.tabText(1) == "&Service mappings (0 unmapped)"
    qtmodeltester.check(maps)
    QTest.keyClick(dialog.maps.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    batch[:] = [request(2, "2026-06-04T11:00:00+08:00")]
    QTest.keyClick(window.table, Qt.Key.Key_P, CTRL_SHIFT)
    qtbot.waitUntil(lambda: len(channel_cases(db, "OPEN311")) == 2, timeout=5000)
    second = channel_cases(db, "OPEN311")[1]
    assert (second.external_id, second.category_code, second.category_name) == (
        "citizen311:2",
        "0201",
        "非机动车乱停放",
    )


def test_an_operator_may_not_change_a_mapping_and_is_told_why(qtbot, db, users, make_window):
    from workstation.intake.mappings import record_services

    record_services(db, "citizen311", [("009", "其他")])
    window, ext = make_window(users["op1"])
    dialog = open_dialog(qtbot, window, Qt.Key.Key_Q, lambda: ext.quarantine_dialog)
    dialog.tabs.setCurrentIndex(1)
    driver = picker_driver(dialog, ["0201", Qt.Key.Key_Return])
    QTest.keyClick(dialog.maps.table, Qt.Key.Key_Return)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert "may not edit the service mappings" in dialog.message.text()
    assert dialog.maps.current()["category_code"] is None


def test_without_settings_nothing_polls_and_the_status_bar_says_so(qtbot, db, users, make_window):
    window, ext = make_window(users["op1"])
    assert ext.label.text() == "– Intake: no sources configured" and ext.label.property("state") == "off"
    QTest.keyClick(window.table, Qt.Key.Key_P, CTRL_SHIFT)
    assert "nothing to poll" in window.message.text()
    assert ext.runner.tasks == set() and ext.runner.rounds == {"poll": 0, "send": 0}


def test_the_idle_lock_closes_the_dialogs_that_show_payloads(qtbot, db, users, make_window):
    from tests.test_intake_quarantine import platform_items
    from workstation.intake.ingest import ingest_items

    ingest_items(db, "district", "platform", platform_items(feed_item(1, channel=None)))
    window, ext = make_window(users["op1"])
    dialog = open_dialog(qtbot, window, Qt.Key.Key_Q, lambda: ext.quarantine_dialog)
    QTest.keyClick(dialog.items.table, Qt.Key.Key_Return)
    assert dialog.view is not None and dialog.view.isVisible() and "P-1" in dialog.view.payload.toPlainText()
    window.central.setVisible(False)  # what the idle lock does first
    assert not dialog.view.isVisible() and not dialog.isVisible()
    window.central.setVisible(True)


def test_the_window_knows_the_targets_before_its_first_send(qtbot, db, users, tmp_path, aio):
    """A dispatch in the first moments of a session writes its order: targets are read at start."""
    from workstation.intake.targets import list_targets

    target = {"name": "grid-team", "kind": "webhook", "url": "http://127.0.0.1:9/orders", "units": [UNIT]}
    path = tmp_path / "intake.json"
    path.write_text(json.dumps({"defaults": FAST, "sources": [], "targets": [target]}))
    ext = IntegrationExtension(path, tick_ms=60000, send_every_s=600, round_timeout_s=20)
    settings = QSettings(str(tmp_path / "seat.ini"), QSettings.Format.IniFormat)
    window = MainWindow(db, users["op1"], Keymap.load(None), settings, seat="seat", extensions=[ext])
    qtbot.addWidget(window)
    assert [t["name"] for t in list_targets(db) if t["active"]] == ["grid-team"]  # no event loop turn yet
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    with db.read() as s:
        assert [m.target for m in s.scalars(select(OutboxMessage))] == ["grid-team"]
    window.close()
    qtbot.waitUntil(ext.runner.idle, timeout=10000)
