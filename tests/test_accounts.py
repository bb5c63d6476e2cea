"""Accounts: the first administrator, who may create users, password hashing, signing in, the CLI."""

from __future__ import annotations

import io
import sys

import pytest
from sqlalchemy import select, update

from tests.conftest import PASSWORD, run_cli
from workstation.cli import main
from workstation.models import User
from workstation.services import accounts
from workstation.services.errors import AuthenticationError, NotFoundError, PermissionDeniedError, ValidationError


def _hash(db, name: str) -> str:
    with db.read() as s:
        return s.scalar(select(User.password_hash).where(User.name == name))


def _names(db) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(User.name).order_by(User.name)))


def test_the_first_user_must_be_an_administrator(db):
    assert accounts.needs_first_admin(db) is True
    with pytest.raises(ValidationError, match="first user must be an administrator") as caught:
        accounts.add_user(db, None, "op1", "operator", PASSWORD)
    assert caught.value.fields == {"role": "the first user must be admin"}
    assert _names(db) == []
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD, display_name="管理员")
    assert (admin.name, admin.role, admin.display_name) == ("admin", "admin", "管理员")
    assert accounts.needs_first_admin(db) is False


def test_later_users_need_an_administrator(db):
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    with pytest.raises(ValidationError, match="--as ADMIN"):
        accounts.add_user(db, None, "op1", "operator", PASSWORD)
    op = accounts.add_user(db, admin, "op1", "operator", PASSWORD)
    with pytest.raises(
        PermissionDeniedError, match=r"op1 \(seat operator\) may not create users; this needs one of: administrator"
    ):
        accounts.add_user(db, op, "op2", "operator", PASSWORD)
    assert _names(db) == ["admin", "op1"]
    assert [(a.name, a.role) for a in accounts.list_users(db)] == [("admin", "admin"), ("op1", "operator")]


def test_passwords_are_hashed_with_argon2id(db):
    accounts.add_user(db, None, "admin", "admin", PASSWORD)
    stored = _hash(db, "admin")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert accounts.hash_password(PASSWORD) != stored  # salted


def test_authenticate_gives_one_message_for_every_failure(db, users):
    signed_in = accounts.authenticate(db, "station", PASSWORD)
    assert (signed_in.name, signed_in.role, signed_in.community_code) == ("station", "station", "S13C01")
    messages = set()
    for name, password in (("station", "wrong-password"), ("nobody", PASSWORD), ("station", "")):
        with pytest.raises(AuthenticationError) as caught:
            accounts.authenticate(db, name, password)
        messages.add(caught.value.message)
    with db.write() as s:  # an inactive user cannot sign in either
        s.execute(update(User).where(User.name == "op2").values(active=False))
    with pytest.raises(AuthenticationError) as caught:
        accounts.authenticate(db, "op2", PASSWORD)
    messages.add(caught.value.message)
    assert messages == {"Wrong user name or password."}
    with pytest.raises(NotFoundError, match="No active user named op2"):
        accounts.find_actor(db, "op2")


def test_station_users_belong_to_a_community(db):
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    with pytest.raises(ValidationError) as caught:
        accounts.add_user(db, admin, "st1", "station", PASSWORD)
    assert "community" in caught.value.fields
    with pytest.raises(ValidationError, match="Unknown community 火星社区"):
        accounts.add_user(db, admin, "st1", "station", PASSWORD, community="火星社区")
    by_name = accounts.add_user(db, admin, "st1", "station", PASSWORD, community="塘西河社区")
    by_code = accounts.add_user(db, admin, "st2", "station", PASSWORD, community="S13C02")
    assert (by_name.community_code, by_code.community_code) == ("S13C01", "S13C02")
    assert accounts.find_actor(db, "st1").community_code == "S13C01"


def test_unit_users_belong_to_a_known_unit(db):
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    with pytest.raises(ValidationError) as caught:
        accounts.add_user(db, admin, "u1", "unit", PASSWORD)
    assert "unit" in caught.value.fields
    with pytest.raises(ValidationError, match="Unknown unit NOPE"):
        accounts.add_user(db, admin, "u1", "unit", PASSWORD, unit="NOPE")
    assert accounts.add_user(db, admin, "u1", "unit", PASSWORD, unit="JJ").unit_code == "JJ"
    assert accounts.add_user(db, admin, "u2", "unit", PASSWORD, unit="GRID-S13C01G01").unit_code == "GRID-S13C01G01"
    assert _names(db) == ["admin", "u1", "u2"]


def test_duplicate_names_short_passwords_bad_names_and_roles_are_refused(db):
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    with pytest.raises(ValidationError, match="A user named admin already exists"):
        accounts.add_user(db, admin, "admin", "operator", PASSWORD)
    with pytest.raises(ValidationError) as caught:
        accounts.add_user(db, admin, "op1", "operator", "short")
    assert caught.value.fields == {"password": "at least 10 characters"}
    with pytest.raises(ValidationError) as caught:
        accounts.add_user(db, admin, "a b", "wizard", PASSWORD)
    assert set(caught.value.fields) == {"name", "role"}
    assert _names(db) == ["admin"]


# -- the command line ------------------------------------------------------------------------------


def test_user_add_through_the_cli(db_url, monkeypatch, capsys):
    monkeypatch.delenv("WORKSTATION_USER", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "boss", "--role", "admin", "--password-stdin", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "user boss added as administrator"

    monkeypatch.setattr(sys, "stdin", io.StringIO("another-secret-1\n"))
    argv = ["user", "add", "st1", "--role", "station", "--community", "塘西河社区", "--password-stdin"]
    assert run_cli([*argv, "--as", "boss", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "user st1 added as station staff"

    assert run_cli(["user", "list", "--as", "boss", "--db", db_url]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split() for line in listing] == [["boss", "admin"], ["st1", "station", "S13C01"]]

    from workstation.storage.bootstrap import open_database

    db = open_database(db_url)
    try:
        assert accounts.authenticate(db, "st1", "another-secret-1").community_code == "S13C01"
        assert _hash(db, "boss").startswith("$argon2id$")
    finally:
        db.dispose()


def test_user_add_needs_a_password_source_and_an_administrator(db_url, monkeypatch, capsys):
    monkeypatch.delenv("WORKSTATION_USER", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    assert main(["user", "add", "boss", "--role", "admin", "--db", db_url]) == 1
    assert "use --password-stdin" in capsys.readouterr().err

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "op1", "--role", "operator", "--password-stdin", "--db", db_url]) == 1
    assert "The first user must be an administrator" in capsys.readouterr().err

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "boss", "--role", "admin", "--password-stdin", "--db", db_url]) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "op1", "--role", "operator", "--password-stdin", "--db", db_url]) == 1
    assert "Say who acts: --as USER" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    argv = ["user", "add", "op1", "--role", "operator", "--password-stdin", "--as", "boss"]
    assert run_cli([*argv, "--db", db_url]) == 1
    assert "password: at least 10 characters" in capsys.readouterr().err
