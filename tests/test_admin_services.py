"""What the administrator's window calls: accounts, the working calendar's lists, refusals named."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import PASSWORD
from workstation.services import accounts
from workstation.services.calendar import known_years, load_calendar, set_day, year_days
from workstation.services.errors import AuthenticationError, NotFoundError, PermissionDeniedError, ValidationError


def row(db, admin, name):
    return next(r for r in accounts.user_rows(db, admin) if r["name"] == name)


def test_user_rows_show_role_place_and_state_to_administrators_only(db, users):
    rows = {r["name"]: r for r in accounts.user_rows(db, users["admin"])}
    assert rows["station"]["community"] == "塘西河社区" and rows["station"]["role"] == "station"
    assert rows["gridteam"]["unit"] == "塘西河网格综管队" and rows["gridteam"]["unit_code"] == "GRID-S13C01G01"
    assert all(r["active"] for r in rows.values())
    with pytest.raises(PermissionDeniedError):
        accounts.user_rows(db, users["lead"])


def test_a_disabled_user_cannot_sign_in_until_enabled(db, users):
    accounts.set_active(db, users["admin"], "op1", False)
    assert row(db, users["admin"], "op1")["active"] is False
    with pytest.raises(AuthenticationError):
        accounts.authenticate(db, "op1", PASSWORD)
    accounts.set_active(db, users["admin"], "op1", True)
    assert accounts.authenticate(db, "op1", PASSWORD).name == "op1"


def test_the_last_administrator_stays(db, users):
    with pytest.raises(ValidationError, match="your own account"):
        accounts.set_active(db, users["admin"], "admin", False)
    with pytest.raises(ValidationError, match="only active administrator"):
        accounts.change_role(db, users["admin"], "admin", "operator")
    accounts.change_role(db, users["admin"], "lead", "admin")  # a second administrator
    accounts.change_role(db, users["admin"], "admin", "operator")
    assert row(db, accounts.find_actor(db, "lead"), "admin")["role"] == "operator"


def test_reset_password(db, users):
    with pytest.raises(ValidationError, match="at least 10"):
        accounts.reset_password(db, users["admin"], "op1", "short")
    accounts.reset_password(db, users["admin"], "op1", "another-pass-2")
    assert accounts.authenticate(db, "op1", "another-pass-2").name == "op1"
    with pytest.raises(AuthenticationError):
        accounts.authenticate(db, "op1", PASSWORD)
    with pytest.raises(NotFoundError):
        accounts.reset_password(db, users["admin"], "nobody", "another-pass-2")
    with pytest.raises(PermissionDeniedError):
        accounts.reset_password(db, users["lead"], "op1", "another-pass-2")


def test_roles_need_their_community_or_unit(db, users):
    with pytest.raises(ValidationError, match="belong to a community") as caught:
        accounts.change_role(db, users["admin"], "op2", "station")
    assert caught.value.fields == {"community": "required"}
    assert row(db, users["admin"], "op2")["role"] == "operator"  # nothing was changed
    accounts.change_role(db, users["admin"], "op2", "station", community="塘西河社区")
    assert accounts.find_actor(db, "op2").community_code == row(db, users["admin"], "station")["community_code"]
    with pytest.raises(ValidationError, match="Unknown role"):
        accounts.change_role(db, users["admin"], "op2", "boss")
    with pytest.raises(ValidationError, match="belongs to a unit"):
        accounts.change_role(db, users["admin"], "op1", "unit")
    accounts.change_role(db, users["admin"], "op1", "unit", unit="CG")
    assert accounts.find_actor(db, "op1").unit_code == "CG"


def test_set_place(db, users):
    with pytest.raises(ValidationError, match="Unknown community"):
        accounts.set_place(db, users["admin"], "station", community="月球社区")
    with pytest.raises(ValidationError, match="belong to a community"):
        accounts.set_place(db, users["admin"], "station", community="")
    with pytest.raises(ValidationError, match="Unknown unit"):
        accounts.set_place(db, users["admin"], "gridteam", unit="NOPE")
    accounts.set_place(db, users["admin"], "gridteam", unit="CG")
    assert row(db, users["admin"], "gridteam")["unit_code"] == "CG"


def test_calendar_lists_per_year_and_edits(db, users):
    assert 2026 in known_years(db)
    days = year_days(db, 2026)
    national = next(d for d in days if d["date"] == "2026-10-01")
    assert (national["kind"], national["weekday"]) == ("holiday", 4)
    assert [d["date"] for d in days] == sorted(d["date"] for d in days)
    set_day(db, users["admin"], date(2026, 12, 31), "holiday")
    set_day(db, users["admin"], date(2026, 12, 26), "workday")  # a Saturday
    kinds = {d["date"]: d["kind"] for d in year_days(db, 2026)}
    assert kinds["2026-12-31"] == "holiday" and kinds["2026-12-26"] == "workday"
    cal = load_calendar(db)
    assert not cal.is_working_day(date(2026, 12, 31)) and cal.is_working_day(date(2026, 12, 26))
    with pytest.raises(ValidationError, match="regular working day already"):
        set_day(db, users["admin"], date(2026, 12, 30), "workday")  # a Wednesday
    load_calendar(db)  # still loads
    set_day(db, users["admin"], date(2026, 12, 31), "normal")
    assert "2026-12-31" not in {d["date"] for d in year_days(db, 2026)}
    assert year_days(db, 1999) == []
