"""Reference data in the database: what is loaded, idempotent syncs, and replacing a file without rewriting history."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, article_report
from workstation.models import CalendarYear, CareGroup, Category, Community, Grid, GridStaff, Meta, Street, Unit
from workstation.resources import load_json
from workstation.services import accounts
from workstation.services import lifecycle as lc
from workstation.services.calendar import load_calendar, set_day
from workstation.services.errors import PermissionDeniedError, ValidationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.storage import refdata

SH = ZoneInfo("Asia/Shanghai")
TABLES = (Category, Unit, Street, Community, Grid, GridStaff, CareGroup, CalendarYear, Meta)


def _counts(db) -> dict[str, int]:
    with db.read() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}


def _loader(**replaced: Any):
    """A reader of the shipped files in which some files are replaced by edited copies."""

    def load(name: str) -> Any:
        return replaced[name] if name in replaced else refdata._load(name)

    return load


def _staff(db) -> tuple[accounts.Actor, accounts.Actor]:
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    return admin, accounts.add_user(db, admin, "op1", "operator", PASSWORD)


# -- what is loaded --------------------------------------------------------------------------------


def test_catalogue_has_11_majors_and_118_minors(db):
    with db.read() as s:
        rows = s.scalars(select(Category)).all()
    assert len(rows) == 118 and all(r.active for r in rows)
    assert len({r.major_code for r in rows}) == 11
    assert {r.catalogue_version for r in rows} == {"2020.1"}


@pytest.mark.parametrize(
    ("code", "major", "name", "unit", "limit", "urgency", "closure"),
    [
        ("0201", "街面秩序", "非机动车乱停放", "GRID", "2wh", "normal", "车辆已规整，通道畅通"),
        ("0606", "公用设施", "燃气管道异常", "RQ", "30m", "urgent", "险情已排除"),
        ("1108", "社会事务", "特殊人群走访发现问题", "COMMUNITY", "1wd", "urgent", "问题已解决或已转介"),
        ("0501", "违法建设", "违法搭建", "CG", "15wd", "normal", "违建已拆除，现场恢复"),
    ],
)
def test_catalogue_rows(db, code, major, name, unit, limit, urgency, closure):
    with db.read() as s:
        c = s.get(Category, code)
    assert c is not None
    assert (c.major_code, c.major_name, c.name, c.unit, c.time_limit, c.urgency, c.closure_standard) == (
        code[:2],
        major,
        name,
        unit,
        limit,
        urgency,
        closure,
    )
    assert c.keywords and all(isinstance(k, str) for k in c.keywords)


def test_units_of_the_list_and_one_concrete_unit_per_place(db):
    shipped = load_json("units.json")["units"]
    with db.read() as s:
        units = {u.code: u for u in s.scalars(select(Unit))}
        n_communities = s.scalar(select(func.count()).select_from(Community))
        n_grids = s.scalar(select(func.count()).select_from(Grid))
    kinds = Counter(u.kind for u in units.values())
    assert kinds == {
        "department": 12,  # 11 departments and the 4+X joint enforcement team (JOINT)
        "enterprise": 4,
        "grid_team": 434,
        "street_office": 14,
        "community_station": n_communities,
    }
    assert n_grids == 434 and n_communities == 72
    # every department and enterprise of units.json, none of the abstract territorial codes
    listed = {u["code"] for u in shipped if u["kind"] != "territorial"}
    assert {c for c, u in units.items() if u.kind in ("department", "enterprise")} == listed
    assert not {"GRID", "STREET", "COMMUNITY"} & set(units)
    assert (units["CG"].name, units["CG"].joint_enforcement) == ("区城管局（综合执法）", "4")
    assert (units["JOINT"].name, units["JOINT"].joint_enforcement) == ("4+X综合执法队", "4+X")
    team = units["GRID-S13C01G01"]
    assert (team.name, team.kind, team.grid_code, team.community_code, team.street_code) == (
        "塘西河网格综管队",
        "grid_team",
        "S13C01G01",
        "S13C01",
        "S13",
    )
    assert (units["STREET-S13"].name, units["STREET-S13"].street_code) == ("方兴社区管理中心", "S13")
    station = units["COMMUNITY-S13C01"]
    assert (station.name, station.community_code, station.street_code) == ("塘西河社区居村工作站", "S13C01", "S13")


def test_territory_care_groups_and_calendar_years(db):
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Street)) == 14
        grid = s.get(Grid, "S13C01G01")
        assert grid.name == "塘西河网格" and grid.community_code == "S13C01"
        assert grid.min_lon <= 117.265375 <= grid.max_lon and grid.min_lat <= 31.736671 <= grid.max_lat
        staff = s.scalars(select(GridStaff).where(GridStaff.grid_code == grid.code).order_by(GridStaff.id)).all()
        assert [(p.name, p.role) for p in staff[:2]] == [("汪文宇", "leader"), ("周敏军", "member")]
        groups = s.scalars(select(CareGroup).order_by(CareGroup.code)).all()
        assert [g.code for g in groups] == [f"G{i}" for i in range(1, 10)]
        assert (groups[0].name, groups[0].interval_days, groups[0].window_open_days) == ("高龄老人", 30, 7)
        years = {y.year: y for y in s.scalars(select(CalendarYear))}
    assert set(years) == {2025, 2026}
    assert "2026-10-01" in years[2026].holidays and "2026-10-10" in years[2026].workdays
    assert {y.source for y in years.values()} == {"resources"}
    cal = load_calendar(db)
    assert cal.add(datetime(2026, 11, 27, 17, 30, tzinfo=SH), "2wh") == datetime(2026, 11, 30, 10, 0, tzinfo=SH)


# -- syncing ---------------------------------------------------------------------------------------


def test_sync_is_idempotent(db):
    before = _counts(db)
    with db.write() as s:
        assert refdata.sync(s) == []
    assert _counts(db) == before


def _edited_catalogue() -> dict[str, Any]:
    data = copy.deepcopy(load_json("catalogue.json"))
    data["version"] = "2027.1"
    street = next(m for m in data["majors"] if m["code"] == "02")
    minor = next(m for m in street["minors"] if m["code"] == "0201")
    minor.update(name="非机动车及共享单车乱停放", limit="4wh", closure_standard="车辆已清理，盲道通道畅通")
    street["minors"] = [m for m in street["minors"] if m["code"] != "0212"]
    return data


def test_replacing_the_catalogue_keeps_history(fresh_db):
    db = fresh_db()
    _, op = _staff(db)
    old_case = add_report(db, article_report(external_id="old")).case_id
    lc.file(db, op, old_case, "0201")
    filed_before = get_case(db, old_case)
    before_counts = _counts(db)

    with db.write() as s:
        assert refdata.sync(s, load=_loader(**{"catalogue.json": _edited_catalogue()})) == ["catalogue.json"]

    # the case filed before keeps the code, name, limit, closure standard and deadline it was filed under
    kept = get_case(db, old_case)
    for key in ("category_code", "category_name", "time_limit", "closure_standard", "deadline", "category_major"):
        assert kept[key] == filed_before[key], key
    assert (kept["category_name"], kept["time_limit"], kept["closure_standard"]) == (
        "非机动车乱停放",
        "2wh",
        "车辆已规整，通道畅通",
    )
    # a new filing uses the new entry
    new_case = add_report(db, article_report(external_id="new")).case_id
    lc.file(db, op, new_case, "0201")
    fresh = get_case(db, new_case)
    assert (fresh["category_code"], fresh["category_name"], fresh["time_limit"], fresh["closure_standard"]) == (
        "0201",
        "非机动车及共享单车乱停放",
        "4wh",
        "车辆已清理，盲道通道畅通",
    )
    # the dropped category is retired, not deleted, and cannot be used any more
    with db.read() as s:
        dropped = s.get(Category, "0212")
        assert dropped is not None and dropped.active is False and dropped.name == "占用盲道"
        assert s.get(Category, "0201").catalogue_version == "2027.1"
        assert s.scalar(select(func.count()).select_from(Category).where(Category.active)) == 117
    assert _counts(db) == before_counts
    third = add_report(db, article_report(external_id="third")).case_id
    with pytest.raises(ValidationError, match="Unknown category 0212"):
        lc.file(db, op, third, "0212")
    assert get_case(db, third)["status"] == "reported"


def test_units_dropped_from_the_lists_are_retired_not_deleted(fresh_db):
    db = fresh_db()
    _, op = _staff(db)
    units = copy.deepcopy(load_json("units.json"))
    units["units"] = [u for u in units["units"] if u["code"] != "TX"]
    territory = copy.deepcopy(load_json("territory.json"))
    community = territory["streets"][-1]["communities"][-1]
    gone = community["grids"].pop()["code"]
    with db.write() as s:
        applied = refdata.sync(s, load=_loader(**{"units.json": units, "territory.json": territory}))
    assert applied == ["units.json", "territory.json"]
    with db.read() as s:
        tx, team = s.get(Unit, "TX"), s.get(Unit, f"GRID-{gone}")
        assert tx is not None and tx.active is False
        assert team is not None and team.active is False
        assert s.get(Unit, "CG").active is True
        assert s.get(Unit, "GRID-S13C01G01").active is True  # place units are not in units.json
        assert s.scalar(select(func.count()).select_from(Unit).where(Unit.active)) == 536 - 2
    cid = add_report(db, article_report(external_id=None)).case_id
    lc.file(db, op, cid, "0201")
    for code in ("TX", f"GRID-{gone}"):
        with pytest.raises(ValidationError, match="no longer active"):
            lc.dispatch(db, op, cid, code)
    lc.dispatch(db, op, cid, "CG")


def test_administrators_calendar_edit_survives_a_resync(fresh_db):
    db = fresh_db()
    admin, op = _staff(db)
    with pytest.raises(PermissionDeniedError, match="edit the working calendar"):
        set_day(db, op, date(2026, 11, 30), "holiday")
    set_day(db, admin, date(2026, 11, 30), "holiday")  # a Monday the district gives off
    start = datetime(2026, 11, 27, 17, 30, tzinfo=SH)
    assert load_calendar(db).add(start, "2wh") == datetime(2026, 12, 1, 10, 0, tzinfo=SH)

    shipped = copy.deepcopy(load_json("calendar.json"))
    shipped["years"]["2026"]["holidays"].append("2026-12-31")
    shipped["years"]["2025"]["holidays"].append("2025-12-30")
    with db.write() as s:
        assert refdata.sync(s, load=_loader(**{"calendar.json": shipped})) == ["calendar.json"]
    with db.read() as s:
        y2026, y2025 = s.get(CalendarYear, 2026), s.get(CalendarYear, 2025)
        assert y2026.source == "admin"
        assert "2026-11-30" in y2026.holidays and "2026-12-31" not in y2026.holidays
        assert "2025-12-30" in y2025.holidays and y2025.source == "resources"  # unedited years follow the file
    assert load_calendar(db).add(start, "2wh") == datetime(2026, 12, 1, 10, 0, tzinfo=SH)

    counts = _counts(db)
    with db.write() as s:  # even a forced sync keeps the administrator's year (and duplicates nothing)
        assert refdata.sync(s, force=True) == [name for name, _ in refdata.FILES]
    assert _counts(db) == counts
    with db.read() as s:
        assert "2026-11-30" in s.get(CalendarYear, 2026).holidays

    set_day(db, admin, date(2026, 11, 30), "normal")
    assert load_calendar(db).add(start, "2wh") == datetime(2026, 11, 30, 10, 0, tzinfo=SH)
    with pytest.raises(ValidationError):
        set_day(db, admin, date(2026, 11, 30), "vacation")
