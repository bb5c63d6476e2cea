"""The care roster and visits through the services: validation, visits raising cases, the worklist."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.care_support import add, valid_id, wrong_check
from workstation.models import CarePerson, CareVisit, CareVisitNeed, Case, utcnow
from workstation.services import care, care_visits, care_worklist
from workstation.services.care_visits import Need
from workstation.services.errors import ConflictError, PermissionDeniedError, ValidationError
from workstation.services.queries import get_case


def test_add_person_derives_birth_date_gender_and_community_from_id_and_grid(db, users):
    pid = add(db, users["station"], id_number=valid_id("19400305", "124"), living="alone")
    with db.read() as s:
        p = s.get(CarePerson, pid)
        assert (p.birth_date, p.gender, p.grid_code, p.community_code) == (
            date(1940, 3, 5),
            "female",
            "S13C01G01",
            "S13C01",
        )
        assert p.created_by == "station" and p.version == 1


def test_bad_fields_are_each_named(db, users):
    with pytest.raises(ValidationError) as err:
        care.add_person(
            db,
            users["station"],
            {
                "name": "",
                "grid": "没有这个网格",
                "id_number": wrong_check(valid_id()),
                "phone": "138abc",
                "living": "somewhere",
                "groups": ["G42"],
                "contacts": [{"name": "李四", "relation": "女儿", "phone": "x1"}],
            },
        )
    assert set(err.value.fields) == {"name", "grid", "id_number", "phone", "living", "groups", "contacts"}
    assert err.value.fields["id_number"] == "wrong check digit"
    with pytest.raises(ValidationError) as err:
        add(db, users["station"], id_number=valid_id("19400305", "123"), birth_date="1941-01-01", gender="女")
    assert set(err.value.fields) == {"birth_date", "gender"}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CarePerson)) == 0


def test_identity_numbers_are_unique(db, users):
    number = valid_id()
    add(db, users["station"], id_number=number)
    with pytest.raises(ValidationError) as err:
        add(db, users["lead"], id_number=number.lower(), name="李四")
    assert err.value.fields == {"id_number": "already on the roster"}


def test_station_staff_add_only_in_their_own_community_and_operators_not_at_all(db, users):
    with pytest.raises(ValidationError) as err:
        add(db, users["station"], grid="绿城蓝海网格")  # a grid of 方兴湖社区
    assert "grid" in err.value.fields
    assert add(db, users["lead"], grid="绿城蓝海网格")  # a shift lead may, anywhere
    with pytest.raises(PermissionDeniedError):
        add(db, users["op1"])


def test_update_person_checks_the_version_and_the_grid(db, users):
    pid = add(db, users["station"])
    assert care.update_person(db, users["station"], pid, {"phone": "13900001111"}, expected_version=1) == 2
    with pytest.raises(ConflictError):
        care.update_person(db, users["station"], pid, {"phone": "13900002222"}, expected_version=1)
    with pytest.raises(ValidationError) as err:
        care.update_person(db, users["station"], pid, {"grid": "绿城蓝海网格", "phone": "13*"})
    assert set(err.value.fields) == {"grid", "phone"}
    care.update_person(db, users["station"], pid, {"grid": "华润蓝海网格"})
    assert care_worklist.person_page(db, users["station"], pid)["grid"] == "S13C01G02"


def test_memberships_overlap_risk_and_end(db, users):
    st = users["station"]
    pid = add(db, st, groups=[])
    mid = care.add_membership(db, st, pid, "独居空巢老人", since=date(2026, 1, 1))
    with pytest.raises(ValidationError, match="already in this group"):
        care.add_membership(db, st, pid, "G2", since=date(2026, 2, 1))
    with pytest.raises(ValidationError):
        care.add_membership(db, st, pid, "G10")
    care.set_risk(db, st, mid, "high")
    page = care_worklist.person_page(db, st, pid, now=utcnow())
    assert page["memberships"][0]["risk"] == "high" and page["schedule"]["interval_days"] == 3
    care.end_membership(db, st, mid, date(2026, 3, 1))
    assert care_worklist.person_page(db, st, pid)["schedule"] is None
    assert care_worklist.worklist(db, st) == []
    assert [r["person_id"] for r in care_worklist.worklist(db, st, everyone=True)] == [pid]


def test_a_visit_with_a_need_raises_a_case_in_the_operator_queue_once(db, users):
    st = users["station"]
    pid = add(db, st, groups=["G3"])
    result = care_visits.record_visit(
        db,
        st,
        pid,
        mode="home",
        met=True,
        visitor="周敏军",
        observations={"health": ("concern", "腿脚不便"), "safety": "ok"},
        needs=[Need("卫生间需要安装扶手", raise_case=True), "想了解助餐服务"],
        key="visit-key-1",
    )
    assert result.created and result.case_ids[1] is None
    case_id = result.case_ids[0]
    assert case_id is not None
    case = get_case(db, case_id)
    assert (case["channel"], case["status"], case["grid"]) == ("VISIT", "reported", "S13C01G01")
    assert case["external_id"] == f"visit-{result.visit_id}-1"
    assert case["address"] == "方兴大道1号3栋502" and "卫生间需要安装扶手" in case["text"]
    assert case["reporter_name"] == "周敏军"
    # the same visit again (a retry): nothing new, the same case
    again = care_visits.record_visit(db, st, pid, mode="home", met=True, needs=[Need("x", True)], key="visit-key-1")
    assert (again.visit_id, again.created, again.case_ids) == (result.visit_id, False, result.case_ids)
    assert care_visits.raise_case_from_need(db, st, result.visit_id, 1) == case_id
    # the other need is raised later by hand, once
    second = care_visits.raise_case_from_need(db, st, result.visit_id, 2)
    assert care_visits.raise_case_from_need(db, st, result.visit_id, 2) == second != case_id
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.channel == "VISIT")) == 2
        assert s.scalar(select(func.count()).select_from(CareVisit)) == 1
        needs = s.scalars(select(CareVisitNeed).order_by(CareVisitNeed.seq)).all()
        assert [(n.case_id, n.raise_case) for n in needs] == [(case_id, True), (second, True)]


def test_visit_input_is_checked_field_by_field(db, users):
    pid = add(db, users["station"])
    with pytest.raises(ValidationError) as err:
        care_visits.record_visit(
            db,
            users["station"],
            pid,
            mode="letter",
            met=True,
            at=utcnow() + timedelta(days=1),
            observations={"hair": "ok"},
            needs=[" "],
            next_due=date(2020, 1, 1),
        )
    assert set(err.value.fields) == {"mode", "at", "observations", "needs", "next_due", "next_due_reason"}
    with pytest.raises(ValidationError) as err:
        care_visits.record_visit(
            db, users["station"], pid, mode="phone", met=False, next_due=date(2099, 1, 1), next_due_reason="住院"
        )
    assert set(err.value.fields) == {"next_due"}
    assert care_worklist.person_page(db, users["station"], pid)["visits"] == []


def test_a_met_visit_resets_the_schedule_and_an_unmet_one_does_not(db, users):
    st = users["station"]
    now = utcnow()
    pid = add(db, st, groups=["G2"])  # 7 days, window 2
    care_visits.record_visit(db, st, pid, mode="home", met=True, at=now - timedelta(days=6))
    care_visits.record_visit(db, st, pid, mode="phone", met=False, at=now - timedelta(days=1))
    (row,) = care_worklist.worklist(db, st, now=now)
    assert row["status"] == "due" and row["reason"] == "interval" and row["interval_days"] == 7
    assert row["due"] == (now - timedelta(days=6) + timedelta(days=7)).astimezone(_tz()).isoformat()
    (late,) = care_worklist.worklist(db, st, now=now + timedelta(days=3))
    assert late["status"] == "overdue" and late["overdue_days"] == 2


def _tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def test_next_date_override_and_major_change(db, users):
    st = users["station"]
    now = utcnow()
    pid = add(db, st, groups=["G5"], living="family")
    care_visits.record_visit(
        db,
        st,
        pid,
        mode="home",
        met=True,
        at=now - timedelta(days=1),
        next_due=date.today() + timedelta(days=5),
        next_due_reason="出院后复查",
    )
    page = care_worklist.person_page(db, st, pid, now=now)
    assert page["schedule"]["reason"] == "override"
    assert page["visits"][0]["next_due_reason"] == "出院后复查"
    change = care_visits.record_major_change(db, st, pid, "alone", at=now - timedelta(hours=30), note="老伴去世")
    page = care_worklist.person_page(db, st, pid, now=now)
    assert page["living"] == "alone" and page["version"] == 2
    assert page["schedule"]["reason"] == "override"  # the visit 1 day ago answered the change
    care_visits.record_major_change(db, users["op1"], pid, "hospital", at=now - timedelta(hours=2))
    (row,) = care_worklist.worklist(db, st, now=now)
    assert row["reason"] == "urgent" and row["status"] == "due" and row["urgent"][0]["kind"] == "hospital"
    assert care_worklist.worklist(db, st, now=now + timedelta(hours=23))[0]["status"] == "overdue"
    care_visits.record_visit(db, st, pid, mode="phone", met=True, at=now - timedelta(minutes=1))
    (row,) = care_worklist.worklist(db, st, now=now)
    assert row["reason"] == "interval" and row["urgent"] == [] and row["status"] == "scheduled"
    assert [c["pending"] for c in care_worklist.person_page(db, st, pid, now=now)["changes"]] == [False, False]
    assert change
    with pytest.raises(ValidationError):
        care_visits.record_major_change(db, st, pid, "moved")
    with pytest.raises(PermissionDeniedError):
        care_visits.record_major_change(db, users["gridteam"], pid, "hospital")


def test_campaign_asks_chosen_groups_in_chosen_streets(db, users):
    st, lead = users["station"], users["lead"]
    now = utcnow()
    elderly = add(db, st, groups=["G1"], name="甲")
    poor = add(db, st, groups=["G5"], name="乙", phone="")
    elsewhere = add(db, lead, groups=["G1"], name="丙", grid="东风花园网格")  # 包公街道
    for pid in (elderly, poor, elsewhere):
        care_visits.record_visit(db, lead, pid, mode="home", met=True, at=now - timedelta(days=2))
    with pytest.raises(PermissionDeniedError):
        care_visits.create_campaign(db, st, "高温", "heat", ["G1"], ["方兴社区"], now + timedelta(days=1))
    with pytest.raises(ValidationError) as err:
        care_visits.create_campaign(db, lead, "", "flood", ["G0"], ["火星街道"], now - timedelta(days=1))
    assert set(err.value.fields) == {"title", "kind", "groups", "streets", "deadline"}
    cid = care_visits.create_campaign(db, lead, "高温走访", "heat", ["高龄老人"], ["方兴社区"], now + timedelta(days=1))
    rows = {r["person_id"]: r for r in care_worklist.worklist(db, lead, now=now)}
    assert rows[elderly]["campaigns"] == [cid] and rows[elderly]["reason"] == "campaign"
    assert rows[poor]["campaigns"] == [] and rows[elsewhere]["campaigns"] == []
    assert care_visits.list_campaigns(db, st)[0]["groups"] == ["G1"]
    care_visits.record_visit(db, st, elderly, mode="phone", met=True)
    rows = {r["person_id"]: r for r in care_worklist.worklist(db, lead, now=utcnow())}
    assert rows[elderly]["campaigns"] == []
    care_visits.cancel_campaign(db, lead, cid)
    assert care_visits.list_campaigns(db, lead) == []


def test_worklist_order_overdue_first_then_due_then_scheduled(db, users, monkeypatch):
    monkeypatch.setenv("WORKSTATION_CARE_BACKDATE_DAYS", "90")  # a history of visits up to 80 days back
    st = users["station"]
    now = utcnow()
    ids = {}
    # (name, group, days since the last met visit): G2 every 7 days (window 2), G5 every 90 (window 14)
    for name, group, ago in [
        ("按时", "G5", 10),
        ("略迟", "G2", 8),
        ("窗口", "G2", 6),
        ("久迟", "G2", 20),
        ("将到", "G5", 80),
    ]:
        ids[name] = add(db, st, name=name, groups=[group], phone="")
        care_visits.record_visit(db, st, ids[name], mode="home", met=True, at=now - timedelta(days=ago))
    ids["新人"] = add(db, st, name="新人", groups=["G5"], since=date(2020, 1, 1), phone="")  # never visited
    rows = care_worklist.worklist(db, st, now=now)
    assert [r["name"] for r in rows] == ["新人", "久迟", "略迟", "窗口", "将到", "按时"]
    assert [r["status"] for r in rows] == ["overdue", "overdue", "overdue", "due", "due", "scheduled"]
    assert rows[1]["overdue_days"] == 13 and rows[0]["reason"] == "first"
    assert [r["name"] for r in care_worklist.worklist(db, st, status="due", now=now)] == ["窗口", "将到"]
    assert [r["name"] for r in care_worklist.worklist(db, users["op1"], grid="塘西河网格", now=now)][:2] == [
        "新人",
        "久迟",
    ]
    with pytest.raises(ValidationError):
        care_worklist.worklist(db, st, status="late")


def test_coverage_per_grid(db, users):
    st = users["station"]
    now = utcnow()
    a = add(db, st, name="甲", groups=["G2"])
    b = add(db, st, name="乙", groups=["G2"], phone="")
    add(db, st, name="丙", groups=["G2"], grid="华润蓝海网格", phone="", since=date(2026, 1, 1))
    care_visits.record_visit(db, st, a, mode="home", met=True, at=now - timedelta(days=3))
    care_visits.record_visit(db, st, b, mode="home", met=True, at=now - timedelta(days=10))
    cov = care_worklist.coverage(db, st, now=now)
    grids = {g["grid_name"]: g for g in cov["grids"]}
    row = grids["塘西河网格"]
    assert (row["people"], row["on_time"], row["overdue"], row["share_on_time"]) == (2, 1, 1, 0.5)
    assert (grids["华润蓝海网格"]["people"], grids["华润蓝海网格"]["overdue"]) == (1, 1)
    assert grids["洞庭湖路网格"]["share_on_time"] is None
    assert (cov["people"], cov["on_time"], cov["overdue"], cov["community_name"]) == (3, 1, 2, "塘西河社区")
    with pytest.raises(ValidationError):
        care_worklist.coverage(db, users["lead"])  # a desk role names the community
    assert care_worklist.coverage(db, users["lead"], "S13C01")["people"] == 3
