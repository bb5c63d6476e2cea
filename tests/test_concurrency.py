"""Two seats acting on one case at once: exactly one wins, and the loser is told who and when."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import article_report
from workstation.services import lifecycle as lc
from workstation.services.errors import ConflictError
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.storage.db import Database


@pytest.mark.parametrize("attempt", range(3))
def test_two_seats_race_to_dispatch_one_case(db, db_url, users, attempt):
    cid = add_report(db, article_report(external_id=f"race-{attempt}")).case_id
    lc.file(db, users["op1"], cid, "0201")
    seen = get_case(db, cid)["version"]  # both seats look at the case at this version
    seats = {"op1": Database(db_url), "op2": Database(db_url)}  # separate connection pools
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def act(name: str, unit: str) -> None:
        barrier.wait()
        try:
            results[name] = lc.dispatch(seats[name], users[name], cid, unit, expected_version=seen)
        except Exception as exc:
            results[name] = exc

    threads = [threading.Thread(target=act, args=("op1", "GRID")), threading.Thread(target=act, args=("op2", "JJ"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for seat in seats.values():
        seat.dispose()
    winners = [n for n, r in results.items() if isinstance(r, lc.Outcome)]
    losers = [n for n, r in results.items() if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    error = results[losers[0]]
    assert isinstance(error, ConflictError)
    assert error.by == winners[0]
    assert f"changed by {winners[0]} at" in error.message
    case = get_case(db, cid)
    assert [e["action"] for e in case["history"]].count("dispatch") == 1
    assert case["unit_code"] == ("GRID-S13C01G01" if winners[0] == "op1" else "JJ")
    assert case["version"] == seen + 1


def test_a_stale_version_is_refused_and_nothing_is_written(db, users):
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    with pytest.raises(ConflictError, match="changed by op1"):
        lc.reject(db, users["op2"], cid, "重复", expected_version=1)
    assert get_case(db, cid)["status"] == "filed"
