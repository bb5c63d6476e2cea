"""Helpers shared by the care tests: valid identity numbers, people, roster spreadsheets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from tests.conftest import PASSWORD
from workstation.domain.care import id_check_digit
from workstation.services import accounts, care
from workstation.services.actors import Actor
from workstation.storage.db import Database

OTHER_COMMUNITY = "方兴湖社区"  # S13C02, beside the station user's 塘西河社区 (S13C01)
OTHER_GRID = "绿城蓝海网格"  # S13C02G01


def valid_id(birth: str = "19400305", seq: str = "123", region: str = "340104") -> str:
    """An identity number with the right check digit."""
    first = region + birth + seq
    return first + id_check_digit(first)


def wrong_check(number: str) -> str:
    """The same number with a wrong check character."""
    bad = "0" if number[-1] != "0" else "1"
    return number[:-1] + bad


def add(db: Database, by: Actor, **overrides: Any) -> int:
    """Add a person on 塘西河网格 in G5 (90 days) unless told otherwise."""
    data: dict[str, Any] = {
        "name": "张三",
        "grid": "塘西河网格",
        "groups": ["G5"],
        "phone": "13812345678",
        "address": "方兴大道1号3栋502",
    }
    data.update(overrides)
    return care.add_person(db, by, data)


def other_station(db: Database, users: dict[str, Actor]) -> Actor:
    """A station user of another community."""
    return accounts.add_user(db, users["admin"], "station2", "station", PASSWORD, community=OTHER_COMMUNITY)


HEADERS = [
    "序号",
    "姓名",
    "性别",
    "公民身份号码",
    "联系电话",
    "家庭住址",
    "网格",
    "重点人群类别",
    "风险等级",
    "居住状况",
]


def roster_xlsx(
    path: Path, rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS, title: bool = True
) -> Path:
    """An .xlsx roster: an optional title row, the header row, then the rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append(["塘西河社区重点人群花名册"])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path
