"""Roles that leaked: the trainer outside demo mode, undo past another seat's hold, a unit answering for another."""

from __future__ import annotations

import io
import sys

import pytest
from sqlalchemy import select

import workstation.intake  # noqa: F401 - installs the lifecycle hooks
from tests.care_support import add as add_person
from tests.conftest import article_report, run_cli
from tests.test_intake_feed import page, poller, source
from workstation.models import Meta, QuarantinedItem, UnitResponse
from workstation.services import leases
from workstation.services import lifecycle as lc
from workstation.services.errors import PermissionDeniedError
from workstation.services.leases import TakenError
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.services.training import DEMO_ONLY_ACTIONS, is_demo_database


@pytest.fixture
def cli(db_url, capsys, monkeypatch):
    monkeypatch.delenv("WORKSTATION_USER", raising=False)

    def run(*args: str, code: int = 0):
        sys.stdin = io.StringIO("")
        rc = run_cli([*args, "--db", db_url])
        out = capsys.readouterr()
        assert rc == code, f"exit {rc}\nstdout: {out.out}\nstderr: {out.err}"
        return out

    return run


def _mark_demo(db) -> None:
    with db.write() as s:
        s.add(Meta(key="demo.world.1", value="{}"))


COMMANDS = {
    "verify": [],
    "close": [],
    "rework": ["--reason", "x"],
    "decide_extension": ["--approve"],
    "supervise": [],
    "suspend": ["--reason", "x"],
    "resume": [],
    "reopen": ["--reason", "x"],
}


@pytest.mark.parametrize("action", sorted(DEMO_ONLY_ACTIONS))
def test_a_trainer_outside_demo_mode_may_not_take_a_leads_or_verifiers_action(cli, db, users, action):
    cid = add_report(db, article_report()).case_id
    command = action.replace("_", "-")
    err = cli("case", command, str(cid), *COMMANDS[action], "--as", "trainer", code=1).err
    assert "trainer (trainer) may" in err and "only in demo mode" in err
    assert len(get_case(db, cid)["history"]) == 1


def test_a_trainer_in_a_demo_database_teaches_as_before(cli, db, users):
    cid = add_report(db, article_report()).case_id
    lc.reject(db, users["op1"], cid, "信息不全")
    with pytest.raises(PermissionDeniedError, match="only in demo mode"):
        lc.reopen(db, users["trainer"], cid, "复核")
    assert not _is_demo(db)
    _mark_demo(db)
    assert _is_demo(db)
    assert cli("case", "reopen", str(cid), "--reason", "复核", "--as", "trainer").out.startswith(f"case {cid}: new")
    # filing and dispatching stay desk work the trainer may show anywhere
    cli("case", "file", str(cid), "--category", "0201", "--as", "trainer")


def _is_demo(db) -> bool:
    with db.read() as s:
        return is_demo_database(s)


def test_a_trainer_outside_demo_mode_reads_no_person_pages_or_worklists(cli, db, users):
    pid = add_person(db, users["station"])
    for argv in (["care", "person", str(pid)], ["care", "due"], ["care", "coverage"]):
        err = cli(*argv, "--as", "trainer", code=1).err
        assert "only in demo mode" in err, argv
    assert cli("care", "person", str(pid), "--as", "op1").out  # desk roles still read them
    _mark_demo(db)
    assert cli("care", "person", str(pid), "--as", "trainer").out


def test_undo_respects_another_seats_hold_on_the_case(cli, db, users):
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    leases.acquire(db, users["op2"], cid, "seat-2")
    with pytest.raises(TakenError, match="open at op2's seat"):
        lc.undo(db, users["op1"], cid)
    err = cli("case", "undo", str(cid), "--as", "op1", code=1).err
    assert "open at op2's seat" in err
    assert get_case(db, cid)["status"] == "filed"
    leases.release(db, users["op2"], cid)
    cli("case", "undo", str(cid), "--as", "op1")
    assert get_case(db, cid)["status"] == "reported"


def test_a_units_feed_cannot_answer_for_a_case_of_another_unit(db, users, httpserver):
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid, "JJ")
    claim = {"response_id": "CG-1", "case_id": cid, "unit": "JJ", "type": "handled", "result": "已处理"}
    httpserver.expect_request("/cg").respond_with_data(page([claim], "c1"), content_type="application/json")
    cfg = source(httpserver, "/cg", name="cg-responses", kind="unit_responses", options={"units": ["CG"]})
    result = poller(db, cfg).poll_all()[0]
    assert (result.applied, result.quarantined) == (0, 1), result.line()
    assert get_case(db, cid)["status"] == "dispatched"
    with db.read() as s:
        (held,) = s.scalars(select(QuarantinedItem)).all()
        assert held.reason == "the feed cg-responses speaks for CG, not for unit JJ: not applied"
        assert s.scalars(select(UnitResponse)).all() == []  # JJ's own "CG-1" would still be applied later
    # the same answer from JJ's own feed is applied
    httpserver.expect_request("/jj").respond_with_data(page([claim], "j1"), content_type="application/json")
    jj = source(httpserver, "/jj", name="jj-responses", kind="unit_responses", options={"units": ["JJ"]})
    assert poller(db, jj).poll_all()[0].applied == 1
    assert get_case(db, cid)["status"] == "handled"


def test_a_feed_that_names_no_units_applies_nothing(db, users, httpserver):
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid, "JJ")
    claim = {"response_id": "JJ-1", "case_id": cid, "unit": "JJ", "type": "acknowledge"}
    httpserver.expect_request("/any").respond_with_data(page([claim], "a1"), content_type="application/json")
    result = poller(db, source(httpserver, "/any", name="anyone", kind="unit_responses")).poll_all()[0]
    assert (result.applied, result.quarantined) == (0, 1)
    assert get_case(db, cid)["status"] == "dispatched"
