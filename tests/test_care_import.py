"""Importing a community's roster from .xlsx: header recognition, every failure reason, all or nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.care_support import HEADERS, add, roster_xlsx, valid_id, wrong_check
from workstation.models import CareMembership, CarePerson
from workstation.services import care_import, care_worklist
from workstation.services.care_import import detect_mapping, import_roster
from workstation.services.errors import PermissionDeniedError, ValidationError

ID1 = valid_id("19400305", "123")
ID2 = valid_id("19520101", "044")
ID3 = valid_id("20120909", "011")


def good_rows():
    return [
        [1, "张三", "男", ID1, "13812345678", "方兴大道1号", "塘西河网格", "高龄老人、独居空巢老人", "高", "独居"],
        [2, "李梅", "女", ID2, "13900001111", "华润蓝海2栋", "华润蓝海网格", "G5,G6", "", "与子女同住"],
        [3, "王小明", "男", ID3, "", "塘西河花园5栋", "S13C01G03", "困境留守儿童", "一般", "其他"],
    ]


def count(db):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(CarePerson))


def test_detect_mapping_recognises_common_chinese_headers():
    headers = ["序号", "姓名", "性别", "出生日期", "身份证号码", "手机号", "现住址", "所属网格", "人员类别"]
    headers += ["风险等级", "居住状况", "紧急联系人", "紧急联系电话", "备注", "健康状况", "走访责任人", "其他"]
    mapping = detect_mapping(headers)
    assert mapping == {
        1: "name",
        2: "gender",
        3: "birth_date",
        4: "id_number",
        5: "phone",
        6: "address",
        7: "grid",
        8: "groups",
        9: "risk",
        10: "living",
        11: "contact_name",
        12: "contact_phone",
        13: "notes",
        14: "health_notes",
        15: "visitor",
    }
    assert detect_mapping(["公民身份号码", "姓 名*", "家庭住址（门牌号）", "重点人群类别", "网格"]) == {
        0: "id_number",
        1: "name",
        2: "address",
        3: "groups",
        4: "grid",
    }


def test_a_good_file_is_imported_with_memberships_contacts_and_risk(db, users, tmp_path):
    headers = [*HEADERS, "紧急联系人", "紧急联系电话", "纳入日期"]
    rows = [
        [*r, "张小三" if i == 0 else "", "13700001111" if i == 0 else "", date(2025, 1, 1)]
        for i, r in enumerate(good_rows())
    ]
    path = roster_xlsx(tmp_path / "roster.xlsx", rows, headers)
    result = import_roster(db, users["station"], path, "塘西河社区")
    assert (result.rows, result.good, result.imported, result.bad, result.header_row) == (3, 3, 3, [], 2)
    first = care_worklist.person_page(db, users["station"], result.person_ids[0])
    assert (first["name"], first["gender"], first["birth_date"], first["living"]) == (
        "张三",
        "male",
        "1940-03-05",
        "alone",
    )
    assert [(m["group"], m["risk"], m["since"]) for m in first["memberships"]] == [
        ("G1", "high", "2025-01-01"),
        ("G2", "high", "2025-01-01"),
    ]
    assert first["memberships"][0]["source"] == "import:roster.xlsx row 3"
    assert first["contacts"] == [{"name": "张小三", "relation": "紧急联系人", "phone": "137****1111"}]
    second = care_worklist.person_page(db, users["lead"], result.person_ids[1])
    assert second["grid_name"] == "华润蓝海网格" and second["living"] == "family"
    assert [m["group"] for m in second["memberships"]] == ["G5", "G6"]
    assert care_worklist.person_page(db, users["lead"], result.person_ids[2])["minor"] is True


def test_every_failure_reason_is_listed_by_row_and_nothing_is_written(db, users, tmp_path):
    add(db, users["station"], id_number=ID2, name="李梅")  # already on the roster
    bad = [
        [1, "张三", "男", wrong_check(ID1), "", "", "塘西河网格", "G1", "", ""],  # row 3
        [2, "李梅", "女", ID2, "", "", "塘西河网格", "G5", "", ""],  # row 4: in the database
        [3, "", "男", valid_id("19500101", "031"), "", "", "塘西河网格", "G5", "", ""],  # row 5: no name
        [4, "赵六", "男", valid_id("19500101", "051"), "", "", "塘西河网格", "老年人", "", ""],  # row 6
        [5, "孙七", "男", valid_id("19500101", "071"), "", "", "绿城蓝海网格", "G5", "", ""],  # row 7: other community
        [6, "周八", "男", ID3, "", "", "塘西河网格", "G8", "", ""],  # row 8
        [7, "吴九", "男", ID3, "", "", "塘西河网格", "G8", "", ""],  # row 9: same number as row 8
        [8, "郑十", "男", valid_id("19500101", "091"), "", "", "塘西河网格", "G5", "", ""],  # row 10: good
    ]
    path = roster_xlsx(tmp_path / "bad.xlsx", bad)
    before = count(db)
    result = import_roster(db, users["station"], path, "塘西河社区")
    messages = [b.message for b in result.bad]
    masked = ID1[:6] + "********" + ID1[-4:-1] + wrong_check(ID1)[-1]
    assert messages == [
        f"row 3: identity number {masked} has a wrong check digit",
        f"row 4: identity number {ID2[:6]}********{ID2[-4:]} is already on the roster",
        "row 5: name is missing",
        "row 6: unknown group 老年人",
        "row 7: grid 绿城蓝海网格 not found in 塘西河社区",
        f"row 9: identity number {ID3[:6]}********{ID3[-4:]} appears twice (first in row 8)",
    ]
    assert result.bad_rows == [3, 4, 5, 6, 7, 9] and (result.rows, result.good, result.imported) == (8, 2, 0)
    assert count(db) == before  # all or nothing
    # the same file with skip_bad: the two good rows go in, the bad ones are listed again
    skipped = import_roster(db, users["station"], path, "塘西河社区", skip_bad=True)
    assert skipped.imported == 2 and skipped.bad_rows == [3, 4, 5, 6, 7, 9]
    assert count(db) == before + 2
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CareMembership)) == 1 + 2


def test_dry_run_writes_nothing(db, users, tmp_path):
    path = roster_xlsx(tmp_path / "roster.xlsx", good_rows())
    result = import_roster(db, users["station"], path, "塘西河社区", dry_run=True)
    assert (result.good, result.imported, result.dry_run) == (3, 0, True) and count(db) == 0


def test_an_explicit_mapping_and_a_file_without_the_needed_columns(db, users, tmp_path):
    path = roster_xlsx(tmp_path / "odd.xlsx", [["张三", "塘西河网格", "G5", ID1]], ["A", "B", "C", "D"], title=False)
    with pytest.raises(ValidationError) as err:
        import_roster(db, users["station"], path, "塘西河社区")
    assert "no column for" in err.value.message
    with pytest.raises(ValidationError):
        import_roster(db, users["station"], path, "塘西河社区", mapping={0: "name", 1: "grid", 2: "team"})
    result = import_roster(
        db, users["station"], path, "塘西河社区", mapping={0: "name", 1: "grid", 2: "groups", 3: "id_number"}
    )
    assert result.header_row == 1 and result.imported == 1


def test_numbers_stored_as_numbers_bad_cells_and_unreadable_files(db, users, tmp_path):
    rows = [
        [1, "张三", "男", 340104194003051231, "", "", "塘西河网格", "G5", "", ""],
        [2, "李四", "女", ID2, "12ab", "", "塘西河网格", "G5", "极高", "在外"],
        [3, "王五", "男", "", "", "", "", "", "", ""],
    ]
    result = import_roster(db, users["station"], roster_xlsx(tmp_path / "r.xlsx", rows), "塘西河社区")
    reasons = {(b.row, b.field): b.reason for b in result.bad}
    assert "stored as a number" in reasons[(3, "id_number")]
    assert set(reasons) == {(3, "id_number"), (4, "phone"), (4, "risk"), (4, "living"), (5, "grid"), (5, "groups")}
    assert result.imported == 0
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_text("not a workbook")
    with pytest.raises(ValidationError, match="Cannot read"):
        import_roster(db, users["station"], garbage, "塘西河社区")
    with pytest.raises(ValidationError, match="Cannot read"):
        import_roster(db, users["station"], tmp_path / "missing.xlsx", "塘西河社区")


def test_who_may_import(db, users, tmp_path):
    path = roster_xlsx(tmp_path / "roster.xlsx", good_rows())
    with pytest.raises(PermissionDeniedError):
        import_roster(db, users["op1"], path, "塘西河社区")
    with pytest.raises(ValidationError):
        import_roster(db, users["lead"], path, "没有的社区")
    assert import_roster(db, users["lead"], path, "S13C01").imported == 3
    assert care_import.FIELDS["id_number"] == "identity number"


def test_living_situations_are_read_whole_never_by_a_part_of_the_cell(db, users, tmp_path):
    values = ["与祖父母同住", "与子女同住", "独居", "与配偶同住", "敬老院", "with family", "和孙子同住"]
    rows = [
        [i + 1, f"人{i}", "男", valid_id("19400305", f"{2 * i + 1:03d}"), "", "", "塘西河网格", "G1", "", value]
        for i, value in enumerate(values)
    ]
    result = import_roster(db, users["station"], roster_xlsx(tmp_path / "r.xlsx", rows), "塘西河社区", skip_bad=True)
    assert [(b.row, b.field) for b in result.bad] == [(9, "living")]  # 和孙子同住: not a value we know
    assert "和孙子同住" in result.bad[0].reason and "with grandparents" in result.bad[0].reason
    living = [care_worklist.person_page(db, users["station"], pid)["living"] for pid in result.person_ids]
    assert living == ["grandparents", "family", "alone", "spouse", "institution", "family"]
    page = care_worklist.person_page(db, users["station"], result.person_ids[0])
    assert page["living_label"] == "with grandparents"
