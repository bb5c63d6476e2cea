"""The race suite: seat processes doing every kind of action on shared cases keep every invariant.

A small run of bench/race.py (which has the load version and the figures) on the database under test:
PostgreSQL, or one SQLite file shared by all the seat processes.
"""

from __future__ import annotations

from bench import race

SEATS, ACTIONS, CASES = 4, 60, 24


def test_seat_processes_racing_keep_every_invariant(db_url, db):
    db.dispose()  # the race prepares the database through its own connections
    result = race.race(db_url, SEATS, ACTIONS, CASES, seed=7)
    assert result.actions == SEATS * ACTIONS
    assert result.violations == []
    kinds = {key.split(":")[0] for key, n in result.outcomes.items() if key.endswith(":ok")}
    assert {"file", "dispatch", "merge", "reject", "reopen", "handle"} <= kinds, result.outcomes
    assert result.refusals().get("conflict", 0) > 0, "the seats never collided: the race proved nothing"


def test_the_invariant_check_finds_a_mutual_merge(db_url, db, users):
    from tests.conftest import article_report
    from tests.test_audit import tamper
    from workstation.services.reports import add_report

    a = add_report(db, article_report(external_id="lost-a")).case_id
    b = add_report(db, article_report(external_id="lost-b")).case_id
    tamper(  # the state the old merge left behind: both merged, into each other
        db_url,
        f"UPDATE cases SET status = 'merged', merged_into_id = {b}, version = 2 WHERE id = {a}",
        f"UPDATE cases SET status = 'merged', merged_into_id = {a}, version = 2 WHERE id = {b}",
    )
    found = race.violations(db_url)
    assert any("lost from every queue" in v for v in found), found
