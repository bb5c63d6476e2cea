"""Every Qt item model passes Qt's own model tester; the queue model pages lazily and counts for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from sqlalchemy import insert

from workstation.models import Case
from workstation.services import queue as q
from workstation.ui import queue_model
from workstation.ui.pickers import PickItem, PickModel
from workstation.ui.queue_model import QueueModel


def bulk_cases(db, n, status="reported"):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        {
            "channel": "PDA",
            "text": f"测试案件 {i}",
            "received_at": start + timedelta(minutes=i),
            "status": status,
            "priority": 1 if i % 10 == 0 else 2,
            "grid_code": "S13C01G01",
            "last_actor": "system",
            "last_action_at": start,
            "created_at": start,
            "photos": [],
            "result_photos": [],
        }
        for i in range(n)
    ]
    with db.write() as s:
        s.execute(insert(Case), rows)


def test_queue_model_passes_the_model_tester(qtmodeltester, db, users):
    bulk_cases(db, 250)
    model = QueueModel(db, q.QueueFilter(queue="new", actor="op1"))
    qtmodeltester.check(model)


def test_pick_model_passes_the_model_tester(qtmodeltester):
    model = PickModel([PickItem(1, "非机动车乱停放", "x", ("0201",), True), PickItem(2, "机动车乱停放")])
    qtmodeltester.check(model)
    model.set_query("fjdc")
    qtmodeltester.check(model)
    assert model.rowCount() == 1


def test_queue_is_ordered_by_urgency_then_age_and_loads_only_what_is_viewed(db, users, monkeypatch):
    bulk_cases(db, 1000)
    model = QueueModel(db, q.QueueFilter(queue="new", actor="op1"))
    assert model.rowCount() == 1000
    assert model._blocks == {}  # nothing read until a row is shown
    first = [model.row_at(r) for r in range(3)]
    assert [r.priority for r in first] == [1, 1, 1]
    assert first[0].received < first[1].received
    assert len(model._blocks) == 1
    last = model.row_at(999)  # a jump to the end reads from the end
    assert last is not None and last.priority == 2
    assert len(model._rows) <= 2 * queue_model.BLOCK
    urgent = sum(1 for r in range(model.rowCount()) if model.row_at(r).priority == 1)
    assert urgent == 100
    assert len(model._blocks) <= queue_model.MAX_BLOCKS


def test_search_and_filters_run_in_sql(db, users):
    bulk_cases(db, 50)
    model = QueueModel(db, q.QueueFilter(queue="all", actor="op1", search="案件 4"))
    assert model.rowCount() == 11  # 4, 40..49
    model.reload(q.QueueFilter(queue="all", actor="op1", search="17"))
    assert model.rowCount() == 1  # case number 17 (digits search ids, external ids and phones)
    assert model.data(model.index(0, 1), Qt.ItemDataRole.DisplayRole) == "17"
