"""Privacy on the care roster: masking by default, recorded reveals, and each community kept to itself."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.care_support import OTHER_COMMUNITY, add, other_station, roster_xlsx, valid_id
from workstation.models import CareReveal, utcnow
from workstation.services import care, care_export, care_import, care_privacy, care_visits, care_worklist
from workstation.services.care_visits import Need
from workstation.services.errors import NotFoundError, PermissionDeniedError, ValidationError

ADULT_ID = valid_id("19400305", "123")
CHILD_ID = valid_id("20150601", "022")


@pytest.fixture
def people(db, users):
    st = users["station"]
    adult = add(
        db,
        st,
        name="张三",
        id_number=ADULT_ID,
        phone="13812345678",
        health_notes="高血压，糖尿病",
        contacts=[{"name": "张小三", "relation": "儿子", "phone": "13900001111"}],
    )
    child = add(
        db,
        st,
        name="王小明",
        id_number=CHILD_ID,
        groups=["G8"],
        phone="",
        address="塘西河花园5栋",
        notes="父母在外务工",
        contacts=[{"name": "王奶奶", "relation": "监护人", "phone": "13700002222"}],
    )
    care_visits.record_visit(
        db,
        st,
        child,
        mode="home",
        met=True,
        at=utcnow() - timedelta(days=1),
        observations={"mood": ("concern", "想念父母"), "health": ("ok", "身体好")},
        needs=["需要课业辅导"],
        note="由奶奶照顾",
    )
    return {"adult": adult, "child": child}


def test_phones_ids_health_notes_and_minors_are_masked_by_default(db, users, people):
    for actor in (users["station"], users["op1"], users["lead"], users["admin"]):
        adult = care_worklist.person_page(db, actor, people["adult"])
        assert (adult["name"], adult["phone"], adult["id_number"]) == (
            "张三",
            "138****5678",
            "340104********" + ADULT_ID[-4:],
        )
        assert adult["health_notes"] == "***" and adult["birth_date"] == "1940-03-05" and adult["age"] >= 86
        assert adult["contacts"] == [{"name": "张小三", "relation": "儿子", "phone": "139****1111"}]
        child = care_worklist.person_page(db, actor, people["child"])
        assert child["minor"] is True
        assert (child["name"], child["birth_date"], child["address"], child["notes"], child["age"]) == (
            "王**",
            "****-**-**",
            "***",
            "***",
            None,
        )
        assert child["contacts"][0]["name"] == "王**" and child["contacts"][0]["phone"] == "137****2222"
        (visit,) = child["visits"]
        assert visit["observations"]["mood"] == {"status": "concern", "note": "***"}
        assert visit["note"] == "***" and visit["needs"][0]["text"] == "***"
    rows = {r["person_id"]: r for r in care_worklist.worklist(db, users["op1"])}
    assert rows[people["adult"]]["phone"] == "138****5678"
    assert rows[people["child"]]["name"] == "王**" and rows[people["child"]]["address"] == "***"


def test_reveal_needs_permission_and_a_reason_and_is_recorded(db, users, people):
    st = users["station"]
    assert care_privacy.reveal(db, st, people["adult"], "id_number", "核对低保资格") == ADULT_ID
    assert care_privacy.reveal(db, users["lead"], people["adult"], "phone", "联系家属") == "13812345678"
    assert care_privacy.reveal(db, users["admin"], people["adult"], "health_notes", "医疗救助") == "高血压，糖尿病"
    assert care_privacy.reveal(db, st, people["child"], "name", "上门走访") == "王小明"
    assert care_privacy.reveal(db, st, people["child"], "birth_date", "入学登记") == "2015-06-01"
    visits = care_privacy.reveal(db, st, people["child"], "visits", "转介心理辅导")
    assert visits[0]["observations"]["mood"]["note"] == "想念父母" and visits[0]["needs"][0]["text"] == "需要课业辅导"
    for actor in (users["op1"], users["trainer"], users["gridteam"]):
        with pytest.raises(PermissionDeniedError):
            care_privacy.reveal(db, actor, people["adult"], "phone", "想看看")
    with pytest.raises(ValidationError) as err:
        care_privacy.reveal(db, st, people["adult"], "phone", "   ")
    assert err.value.fields == {"reason": "required"}
    with pytest.raises(ValidationError):
        care_privacy.reveal(db, st, people["adult"], "password", "x")
    audit = care_privacy.reveals(db, users["lead"])
    assert [(a["actor"], a["person_id"], a["field"], a["reason"]) for a in reversed(audit)] == [
        ("station", people["adult"], "id_number", "核对低保资格"),
        ("lead", people["adult"], "phone", "联系家属"),
        ("admin", people["adult"], "health_notes", "医疗救助"),
        ("station", people["child"], "name", "上门走访"),
        ("station", people["child"], "birth_date", "入学登记"),
        ("station", people["child"], "visits", "转介心理辅导"),
    ]
    assert all(a["at"] for a in audit)
    with pytest.raises(PermissionDeniedError):
        care_privacy.reveals(db, st)


def test_the_reveal_audit_is_append_only_in_the_database(db, users, people):
    care_privacy.reveal(db, users["lead"], people["adult"], "phone", "联系家属")
    for stmt in (update(CareReveal).values(reason="nothing to see"), delete(CareReveal)):
        with pytest.raises((DBAPIError, IntegrityError)), db.write() as s:
            s.execute(stmt)
    with db.read() as s:
        assert s.scalars(select(CareReveal.reason)).all() == ["联系家属"]


def test_a_station_user_cannot_reach_another_communitys_people_through_any_service(db, users, people, tmp_path):
    other = other_station(db, users)
    pid = people["adult"]
    # the other community's own roster works for them
    mine = add(db, other, name="李四", grid="绿城蓝海网格", phone="")
    assert [r["person_id"] for r in care_worklist.worklist(db, other)] == [mine]
    with pytest.raises(PermissionDeniedError):
        care_worklist.worklist(db, other, community="塘西河社区")
    with pytest.raises(PermissionDeniedError):
        care_worklist.worklist(db, other, grid="塘西河网格")
    with pytest.raises(PermissionDeniedError):
        care_worklist.coverage(db, other, "塘西河社区")
    with pytest.raises(NotFoundError):
        care_worklist.person_page(db, other, pid)
    with pytest.raises(NotFoundError):
        care_privacy.reveal(db, other, pid, "phone", "看一下")
    with pytest.raises(NotFoundError):
        care_visits.record_visit(db, other, pid, mode="home", met=True, needs=[Need("x", raise_case=True)])
    with pytest.raises(NotFoundError):
        care_visits.record_major_change(db, other, pid, "hospital")
    with pytest.raises(NotFoundError):
        care.update_person(db, other, pid, {"phone": "13900000000"})
    with pytest.raises(NotFoundError):
        care.add_membership(db, other, pid, "G1")
    page = care_worklist.person_page(db, users["station"], people["child"])
    with pytest.raises(NotFoundError):
        care_visits.raise_case_from_need(db, other, page["visits"][0]["id"], 1)
    with pytest.raises(NotFoundError):
        care.set_risk(db, other, care_worklist.person_page(db, users["station"], pid)["memberships"][0]["id"], "high")
    # export: only their own people, and never another community's
    out = care_export.export_ledger(db, other, tmp_path / "ledger.xlsx")
    assert out.rows == 0
    with pytest.raises(PermissionDeniedError):
        care_export.export_ledger(db, other, tmp_path / "x.xlsx", community="塘西河社区")
    with pytest.raises(PermissionDeniedError):
        care_export.export_ledger(db, other, tmp_path / "x.xlsx", community="塘西河社区", reveal_reason="查")
    with pytest.raises(PermissionDeniedError):
        care_import.import_roster(db, other, roster_xlsx(tmp_path / "r.xlsx", []), "塘西河社区")
    # nothing was written by any of the refused calls
    assert care_worklist.person_page(db, users["station"], pid)["visits"] == []
    assert care_privacy.reveals(db, users["admin"]) == []
    # and the first station cannot see the other community's person either
    with pytest.raises(NotFoundError):
        care_worklist.person_page(db, users["station"], mine)
    assert mine not in {r["person_id"] for r in care_worklist.worklist(db, users["station"])}
    assert {r["community_name"] for r in care_worklist.worklist(db, users["op1"])} == {"塘西河社区", OTHER_COMMUNITY}


def test_roles_without_roster_access_are_refused(db, users, people):
    unit = users["gridteam"]
    for call in (
        lambda: care_worklist.worklist(db, unit),
        lambda: care_worklist.person_page(db, unit, people["adult"]),
        lambda: care_visits.record_visit(db, unit, people["adult"], mode="home", met=True),
        lambda: care_visits.list_campaigns(db, unit),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    with pytest.raises(PermissionDeniedError):
        care_visits.record_visit(db, users["op1"], people["adult"], mode="home", met=True)


def test_ledger_export_is_masked_unless_revealed_with_a_reason(db, users, people, tmp_path):
    st = users["station"]
    care_visits.record_visit(
        db, st, people["adult"], mode="phone", met=True, observations={"health": ("concern", "血压高")}
    )
    masked = care_export.export_ledger(db, users["op1"], tmp_path / "masked.xlsx")
    assert (masked.rows, masked.revealed) == (2, False)
    rows = list(load_workbook(masked.path).active.iter_rows(values_only=True))
    text = repr(rows)
    assert "13812345678" not in text and ADULT_ID not in text and "王小明" not in text and "血压高" not in text
    assert "138****5678" in text and "王**" in text
    with pytest.raises(PermissionDeniedError):
        care_export.export_ledger(db, users["op1"], tmp_path / "x.xlsx", reveal_reason="统计")
    with pytest.raises(ValidationError):
        care_export.export_ledger(db, st, tmp_path / "x.xlsx", reveal_reason=" ")
    assert not (tmp_path / "x.xlsx").exists()
    clear = care_export.export_ledger(
        db, st, tmp_path / "clear.xlsx", since=date.today() - timedelta(days=3), reveal_reason="报送民政局"
    )
    text = repr(list(load_workbook(clear.path).active.iter_rows(values_only=True)))
    assert clear.revealed and "13812345678" in text and ADULT_ID in text and "王小明" in text and "血压高" in text
    (entry,) = care_privacy.reveals(db, users["admin"])
    assert (entry["actor"], entry["field"], entry["reason"], entry["person_id"]) == (
        "station",
        "ledger",
        "报送民政局",
        None,
    )
    assert entry["details"]["rows"] == 2 and sorted(entry["details"]["people"]) == sorted(people.values())
