"""Two seats acting on one case at once: exactly one wins, and the loser is told who and when."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import article_report
from workstation.services import lifecycle as lc
from workstation.services.errors import ConflictError, ValidationError
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


@pytest.mark.parametrize("attempt", range(3))
def test_two_seats_merging_two_reports_into_each_other_leave_one_open(db, db_url, users, attempt):
    first = add_report(db, article_report(external_id=f"mutual-a-{attempt}")).case_id
    second = add_report(db, article_report(external_id=f"mutual-b-{attempt}")).case_id
    seen = {cid: get_case(db, cid)["version"] for cid in (first, second)}
    seats = {"op1": Database(db_url), "op2": Database(db_url)}
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def act(name: str, source: int, target: int) -> None:
        barrier.wait()
        try:
            results[name] = lc.merge(
                seats[name],
                users[name],
                source,
                target,
                expected_version=seen[source],
                expected_into_version=seen[target],
            )
        except Exception as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=act, args=("op1", first, second)),
        threading.Thread(target=act, args=("op2", second, first)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for seat in seats.values():
        seat.dispose()
    winners = [n for n, r in results.items() if isinstance(r, lc.Outcome)]
    losers = [n for n, r in results.items() if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert f"changed by {winners[0]} at" in results[losers[0]].message  # type: ignore[union-attr]
    states = sorted(get_case(db, cid)["status"] for cid in (first, second))
    assert states == ["merged", "reported"]


def test_a_merge_into_a_case_merged_meanwhile_is_refused_without_a_cycle(db, users):
    a = add_report(db, article_report(external_id="cycle-a")).case_id
    b = add_report(db, article_report(external_id="cycle-b")).case_id
    c = add_report(db, article_report(external_id="cycle-c")).case_id
    lc.merge(db, users["op1"], a, b)
    lc.merge(db, users["op1"], b, c)  # a -> b -> c is a chain, not a cycle
    with pytest.raises(ValidationError, match="merge into that one"):
        lc.merge(db, users["op2"], c, a)
    assert get_case(db, c)["status"] == "reported"


def test_what_an_action_checks_is_what_it_changes_while_another_seat_commits(db, db_url, users, monkeypatch):
    """Seat A reads the case, then (slowly) its extension request; seat B decides that request meanwhile.

    A must not refuse for a reason that B created ("no extension request waiting"): either B waits for
    A, or A is told of the conflict. On PostgreSQL each statement of a transaction sees its own
    snapshot, so the case is locked before anything is read.
    """
    from tests.conftest import PASSWORD
    from workstation.services import accounts

    lead2 = accounts.add_user(db, users["admin"], "lead2", "lead", PASSWORD)
    cid = add_report(db, article_report(external_id="snapshot")).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    lc.request_extension(db, users["gridteam"], cid, "1wd", "材料未到")
    seen = get_case(db, cid)["version"]
    b_done = threading.Event()
    real = lc._check_unit_actor

    def slow(s, by, case):  # runs after the case is read and before the request is
        if by.name == "lead":
            b_done.wait(3)
        return real(s, by, case)

    monkeypatch.setattr(lc, "_check_unit_actor", slow)
    seats = {"lead": Database(db_url), "lead2": Database(db_url)}
    results: dict[str, object] = {}

    def act(name: str, actor, approve: bool) -> None:
        try:
            results[name] = lc.decide_extension(seats[name], actor, cid, approve, expected_version=seen)
        except Exception as exc:
            results[name] = exc
        if name == "lead2":
            b_done.set()

    a = threading.Thread(target=act, args=("lead", users["lead"], True))
    a.start()
    time.sleep(0.5)
    b = threading.Thread(target=act, args=("lead2", lead2, False))
    b.start()
    for t in (a, b):
        t.join(30)
    for seat in seats.values():
        seat.dispose()
    assert isinstance(results["lead"], lc.Outcome), results
    assert isinstance(results["lead2"], ConflictError), results
    assert get_case(db, cid)["version"] == seen + 1
