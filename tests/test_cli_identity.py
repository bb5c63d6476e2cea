"""Who acts on the command line: passwords, API tokens, lockout, weak passwords, and masked phones."""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.care_support import add as add_person
from tests.care_support import valid_id
from tests.conftest import PASSWORD, article_report, run_cli
from workstation.intake.targets import set_target
from workstation.models import ApiToken, CareReveal, SignInFailure, utcnow
from workstation.services import accounts, care_visits, lockout
from workstation.services import lifecycle as lc
from workstation.services.care_visits import Need
from workstation.services.errors import AuthenticationError, ValidationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.storage.bootstrap import open_database


@pytest.fixture(autouse=True)
def _clean_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSTATION_USER", raising=False)
    monkeypatch.delenv("WORKSTATION_TOKEN", raising=False)
    monkeypatch.setenv("WORKSTATION_DB", str(tmp_path / "fallback.sqlite"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal: nothing can be asked


@pytest.fixture
def cli(db_url, capsys):
    def run(*args: str, code: int = 0, password: str | None = PASSWORD, stdin: str = ""):
        sys.stdin = io.StringIO(stdin)
        rc = run_cli([*args, "--db", db_url], password=password)
        out = capsys.readouterr()
        assert rc == code, f"exit {rc}\nstdout: {out.out}\nstderr: {out.err}"
        return out

    run.db_url = db_url  # type: ignore[attr-defined]
    return run


# -- proof of identity -----------------------------------------------------------------------------


def test_naming_a_user_without_the_password_is_refused(cli, db, users, monkeypatch):
    cid = add_report(db, article_report()).case_id
    err = cli("case", "reject", str(cid), "--reason", "x", "--as", "lead", password=None, code=1).err
    assert "No terminal to ask for the password: pipe it with --password-stdin, or use --token." in err
    err = cli("case", "reject", str(cid), "--reason", "x", "--as", "lead", password="guessed-wrong-1", code=1).err
    assert err == "error: Wrong user name or password.\n"
    monkeypatch.setenv("WORKSTATION_USER", "lead")  # names the user, proves nothing
    assert "No terminal" in cli("case", "reject", str(cid), "--reason", "x", password=None, code=1).err
    assert get_case(db, cid)["status"] == "reported"  # nothing was done
    monkeypatch.delenv("WORKSTATION_USER")
    cli("case", "reject", str(cid), "--reason", "x", "--as", "lead")  # the password on standard input
    case = get_case(db, cid)
    assert case["status"] == "rejected" and case["history"][-1]["actor"] == "lead"


def test_on_a_terminal_the_password_is_asked_without_echo(cli, db, users, monkeypatch):
    asked: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return PASSWORD

    monkeypatch.setattr("getpass.getpass", getpass)
    cid = add_report(db, article_report()).case_id
    sys.stdin = Terminal("")
    assert (
        run_cli(["case", "reject", str(cid), "--reason", "x", "--as", "lead", "--db", cli.db_url], password=None) == 0
    )
    assert asked == ["Password for lead: "] and get_case(db, cid)["status"] == "rejected"


def test_reports_piped_on_standard_input_follow_the_password_line(cli, db, users):
    report = json.dumps(article_report(), ensure_ascii=False)
    out = cli("report", "add", "-", "--as", "op1", "--password-stdin", stdin=f"{PASSWORD}\n{report}\n", password=None)
    assert out.out == "line 1: added as case 1\n"
    assert get_case(db, 1)["history"][0]["actor"] == "op1"


def test_a_password_piped_to_a_command_that_needs_nobody_is_proven_and_never_read_as_input(cli, users):
    # scripts pass "--as USER --password-stdin" to every command; assist suggest needs nobody, and read the
    # password line as a report text, printing it back
    texts = f"{PASSWORD}\n超市门口电瓶车停得横七竖八\n"
    out = cli("assist", "suggest", "--json", "--as", "op1", "--password-stdin", stdin=texts, password=None).out
    assert PASSWORD not in out
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["超市门口电瓶车停得横七竖八"]
    argv = ("assist", "suggest", "--as", "op1", "--password-stdin")
    err = cli(*argv, stdin="wrong\n超市门口\n", password=None, code=1).err
    assert "超市门口" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["intake", "mapping", "set", "open311", "006", "0201"],
        ["report", "add", "-"],
        ["case", "list", "--json"],
        ["case", "show", "1"],
        ["case", "export"],
        ["outbox", "list"],
        ["outbox", "send"],
        ["intake", "run", "--once"],
        ["intake", "quarantine", "list"],
        ["user", "list"],
        ["user", "add", "op9", "--role", "operator"],
        ["calendar", "set", "2026-11-30", "holiday"],
        ["care", "due"],
        ["demo", "score", "1"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_without_anyone_named_nothing_acts_as_system(cli, db, users, argv):
    add_report(db, article_report())
    err = cli(*argv, code=1).err
    assert err.startswith("error: Say who acts: --as USER with that user's password")
    assert "--password-stdin" in err and "--token TOKEN or WORKSTATION_TOKEN" in err


def test_the_refusal_is_in_chinese_by_default(db_url, users, capsys):
    assert run_cli(["--lang", "zh_CN", "intake", "mapping", "set", "open311", "006", "0201", "--db", db_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "--password-stdin" in err and "WORKSTATION_TOKEN" in err


def test_commands_that_need_no_identity(cli, db_url, capsys):
    assert len(cli("catalogue", "list", "--json").out.splitlines()) == 11
    assert cli("calendar", "due", "--from", "2026-11-27T17:30:00+08:00", "--limit", "2wh").out
    assert cli("calendar", "show", "--year", "2026").out
    cli("intake", "mapping", "list")
    with pytest.raises(SystemExit) as caught:
        run_cli(["case", "--help"])
    assert caught.value.code == 0
    capsys.readouterr()
    # the first administrator, while no user exists, needs no one to vouch for them
    out = cli("user", "add", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert out.out == "user boss added as administrator\n"
    err = cli("user", "add", "op9", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n", code=1).err
    assert err.startswith("error: Say who acts")


def test_a_station_user_may_not_do_what_an_anonymous_caller_could(cli, users):
    err = cli("intake", "mapping", "set", "open311", "006", "0201", "--as", "station", code=1).err
    assert "may not edit the service mappings" in err
    cli("intake", "mapping", "set", "open311", "006", "0201", "--as", "lead")


def test_a_new_administrator_cannot_be_made_without_proof(cli, db, users):
    err = cli("user", "add", "evil", "--role", "admin", "--as", "admin", "--password-stdin", password=None,
              stdin="new-strong-secret-1\n", code=1).err  # fmt: skip
    assert err == "error: Wrong user name or password.\n"
    assert "evil" not in [a.name for a in accounts.list_users(db)]
    # the admin's password first, then the new user's
    cli("user", "add", "boss2", "--role", "admin", "--as", "admin", stdin="new-strong-secret-1\n")
    assert accounts.authenticate(db, "boss2", "new-strong-secret-1").role == "admin"


# -- API tokens ------------------------------------------------------------------------------------


def test_tokens_made_by_an_administrator_prove_an_integration_account(cli, db, users, monkeypatch):
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    assert "may not manage API tokens" in cli("user", "token", "add", "gridteam", "--name", "x", "--as", "op1",
                                              code=1).err  # fmt: skip
    made = cli("user", "token", "add", "gridteam", "--name", "综管队系统", "--as", "admin")
    token = made.out.strip()
    assert token.startswith("wst_") and len(token) > 40 and "shown only now" in made.err
    with db.read() as s:
        row = s.scalar(select(ApiToken))
        assert row.owner == "gridteam" and token not in row.token_hash and row.last_used_at is None

    out = cli("case", "acknowledge", str(cid), "--token", token, password=None)
    assert out.out.startswith(f"case {cid}: in progress")
    assert get_case(db, cid)["history"][-1]["actor"] == "gridteam"
    err = cli("case", "handle", str(cid), "--result", "x", "--token", token, "--as", "op1", code=1).err
    assert err == "error: The API token belongs to gridteam, not to op1: nothing was done.\n"
    monkeypatch.setenv("WORKSTATION_TOKEN", token)
    monkeypatch.setenv("WORKSTATION_USER", "op2")  # names someone, but the token is the proof
    cli("case", "handle", str(cid), "--result", "已规整", password=None)
    assert get_case(db, cid)["history"][-1]["actor"] == "gridteam"
    monkeypatch.delenv("WORKSTATION_USER")
    # an explicit --as beats the environment's token: that user proves it with a password
    cli("case", "rework", str(cid), "--reason", "仍有车辆", "--as", "op1")
    assert get_case(db, cid)["history"][-1]["actor"] == "op1"
    monkeypatch.delenv("WORKSTATION_TOKEN")

    listing = cli("user", "token", "list", "--as", "admin").out
    assert "综管队系统" in listing and "gridteam" in listing and "last used: 20" in listing and "active" in listing
    assert token not in listing
    cli("user", "token", "revoke", "1", "--as", "admin")
    err = cli("case", "handle", str(cid), "--result", "x", "--token", token, password=None, code=1).err
    assert err == "error: The API token is unknown or revoked.\n"
    assert "revoked" in cli("user", "token", "list", "--as", "admin").out
    err = cli("case", "show", str(cid), "--token", "wst_made-up", password=None, code=1).err
    assert err == "error: The API token is unknown or revoked.\n"


# -- sign-in: lockout, equal timing, weak passwords -------------------------------------------------


def test_wrong_passwords_lock_the_user_name_for_every_seat_until_an_administrator_unlocks(db, db_url, users, cli):
    for _ in range(lockout.USER_LIMIT):
        with pytest.raises(AuthenticationError, match="Wrong user name or password"):
            accounts.authenticate(db, "op1", "guess-guess-guess", source="seat-1")
    other_seat = open_database(db_url)  # another seat, its own connection: the count is in the database
    try:
        with pytest.raises(AuthenticationError, match="Too many wrong passwords for op1"):
            accounts.authenticate(other_seat, "op1", PASSWORD, source="seat-2")
    finally:
        other_seat.dispose()
    err = cli("case", "list", "--as", "op1", code=1).err  # the right password, still locked
    assert "Too many wrong passwords for op1" in err and "workstation user unlock op1" in err
    assert "may not unlock sign-ins" in cli("user", "unlock", "op1", "--as", "op2", code=1).err
    assert cli("user", "unlock", "op1", "--as", "admin").out == "op1: sign-in unlocked\n"
    assert accounts.authenticate(db, "op1", PASSWORD).name == "op1"


def test_a_lock_ends_by_itself_and_a_right_password_resets_the_count(db, users, monkeypatch):
    for _ in range(lockout.USER_LIMIT - 1):
        with pytest.raises(AuthenticationError):
            accounts.authenticate(db, "op1", "guess-guess-guess")
    accounts.authenticate(db, "op1", PASSWORD)
    assert lockout.failures(db, lockout.USER, "op1") == (0, None)
    now = utcnow()
    for _ in range(lockout.USER_LIMIT):
        lockout.record_failure(db, "op1", "here", now)
    count, until = lockout.failures(db, lockout.USER, "op1")
    assert count == lockout.USER_LIMIT and until == now + lockout.LOCK
    with pytest.raises(AuthenticationError, match="locked for 15 more minute"):
        lockout.check(db, "op1", "here", now + timedelta(minutes=1))
    lockout.check(db, "op1", "here", now + lockout.LOCK + timedelta(seconds=1))  # over


def test_unknown_names_lock_too_and_a_source_locks_after_many_names(db, users):
    for _ in range(lockout.USER_LIMIT):
        with pytest.raises(AuthenticationError, match="Wrong user name or password"):
            accounts.authenticate(db, "nobody", "guess-guess-guess", source="probe")
    with pytest.raises(AuthenticationError, match="Too many wrong passwords for nobody"):
        accounts.authenticate(db, "nobody", "guess-guess-guess", source="probe")  # looks like a real name
    for i in range(lockout.SOURCE_LIMIT - lockout.USER_LIMIT):
        with pytest.raises(AuthenticationError, match="Wrong user name"):
            accounts.authenticate(db, f"name{i}", "guess-guess-guess", source="probe")
    with pytest.raises(AuthenticationError, match="Too many failed sign-ins from probe"):
        accounts.authenticate(db, "op1", PASSWORD, source="probe")
    assert accounts.authenticate(db, "op1", PASSWORD, source="elsewhere").name == "op1"
    lockout.unlock(db, users["admin"], source="probe")
    assert accounts.authenticate(db, "op1", PASSWORD, source="probe").name == "op1"
    with db.read() as s:
        assert s.scalar(select(SignInFailure).where(SignInFailure.key == "probe")) is None


def test_an_unknown_name_is_checked_against_a_hash_like_a_known_one(db, users, monkeypatch):
    calls: list[str] = []
    real = accounts._hasher

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, stored, password):
            calls.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    for name in ("op1", "nobody-here"):
        with pytest.raises(AuthenticationError):
            accounts.authenticate(db, name, "guess-guess-guess")
    assert len(calls) == 2 and all(h.startswith("$argon2id$") for h in calls)
    assert calls[1] != calls[0]  # the unknown name ran the hasher on a dummy hash, with the same cost


@pytest.mark.parametrize(
    ("name", "password", "why"),
    [
        ("op9", "password", "at least 10 characters"),
        ("op9", "password123", "a common password"),
        ("op9", "QwertyUIOP", "a common password"),
        ("operator01", "Operator01", "the same as the user name"),
    ],
)
def test_weak_passwords_are_refused(db, users, name, password, why):
    with pytest.raises(ValidationError) as caught:
        accounts.add_user(db, users["admin"], name, "operator", password)
    assert why in caught.value.fields["password"]
    assert accounts.password_problem(name, "a-long-unusual-phrase") is None


# -- personal data on the command line --------------------------------------------------------------


def test_case_listings_and_exports_mask_the_reporters_phone(cli, db, users, tmp_path):
    cid = add_report(db, article_report()).case_id
    for argv in (["case", "show", str(cid), "--json"], ["case", "list", "--json"], ["case", "export"]):
        out = cli(*argv, "--as", "op1").out
        assert "13812345678" not in out and '"reporter_phone": "138****5678"' in out
    with db.read() as s:
        assert s.scalars(select(CareReveal)).all() == []


def test_reveal_is_for_leads_and_administrators_and_is_recorded(cli, db, users):
    cid = add_report(db, article_report()).case_id
    err = cli("case", "show", str(cid), "--json", "--reveal", "--reason", "回访", "--as", "op1", code=1).err
    assert "may not see personal information in clear" in err
    err = cli("case", "show", str(cid), "--json", "--reveal", "--as", "lead", code=1).err
    assert "Say why you need the clear value" in err
    out = cli("case", "show", str(cid), "--json", "--reveal", "--reason", "回访核实", "--as", "lead").out
    assert json.loads(out)["reporter_phone"] == "13812345678"
    cli("case", "export", "--reveal", "--reason", "上报区里", "--as", "admin")
    with db.read() as s:
        rows = [(r.actor, r.field, r.reason, r.details) for r in s.scalars(select(CareReveal).order_by(CareReveal.id))]
    assert rows == [
        ("lead", "reporter_phone", "回访核实", {"command": "case show", "cases": [cid]}),
        ("admin", "reporter_phone", "上报区里", {"command": "case export"}),
    ]


def test_outbox_listing_masks_the_phone_in_dispatch_orders(cli, db, users):
    set_target(db, users["admin"], "grid", "webhook", "http://127.0.0.1:9/orders", units=["GRID-S13C01G01"])
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    out = cli("outbox", "list", "--json", "--as", "op1").out
    assert out and "13812345678" not in out
    assert json.loads(out.splitlines()[0])["body"]["case"]["reporter"]["phone"] == "138****5678"


def test_a_minors_need_and_address_stay_out_of_the_case_a_visit_raises(cli, db, users):
    st = users["station"]
    child = add_person(db, st, name="王小明", id_number=valid_id("20150601", "022"), groups=["G8"], phone="",
                       address="塘西河花园5栋", notes="父母在外务工")  # fmt: skip
    result = care_visits.record_visit(
        db, st, child, mode="home", met=True, needs=[Need("需要心理辅导，父亲酗酒", raise_case=True)]
    )
    cid = result.case_ids[0]
    shown = (
        cli("case", "show", str(cid), "--as", "op1").out + cli("case", "show", str(cid), "--json", "--as", "op1").out
    )
    assert "心理辅导" not in shown and "酗酒" not in shown and "塘西河花园" not in shown
    case = get_case(db, cid)
    assert case["grid"] == "S13C01G01" and f"person {child}" in case["text"] and "masked" in case["text"]


def _leaf_handlers() -> dict[str, object]:
    """Every command of the command line (area + command), with the function that runs it."""
    from workstation.cli import build_parser

    found: dict[str, object] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        handler = parser.get_default("handler")
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if handler is not None and not subs:
            found[" ".join(path)] = handler
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*path, name))

    walk(build_parser(), ())
    return found


def test_only_listed_commands_run_without_proof_of_who_acts():
    from workstation.cli.common import NO_IDENTITY

    free = {path for path, handler in _leaf_handlers().items() if handler in NO_IDENTITY}
    assert free == {
        "db upgrade",
        "db roles",  # prints a script, reads nothing
        "catalogue list",
        "calendar due",
        "calendar show",
        "assist suggest",
        "assist duplicates",
        "intake status",
        "intake mapping list",
        "demo seed",
        "demo scenarios",
        "demo check",
        "user add",  # only the first administrator, while no user exists; later ones need an administrator
    }


def test_every_other_command_is_refused_before_it_runs_when_nobody_proves_who_acts(db_url, users, capsys, monkeypatch):
    """A command that forgot to ask who acts is still guarded: the dispatcher asks before any handler."""
    from workstation.cli import common

    ran: list[str] = []
    for path, handler in _leaf_handlers().items():
        if handler in common.NO_IDENTITY:
            continue
        args = argparse.Namespace(db=db_url, actor=None, token=None, password_stdin=False)
        monkeypatch.delenv("WORKSTATION_TOKEN", raising=False)
        monkeypatch.delenv("WORKSTATION_USER", raising=False)
        with pytest.raises(ValidationError):
            common.require_identity(handler, args)
        ran.append(path)
    assert {"photos show", "case list", "case show", "case reject", "outbox list"} <= set(ran)
