"""The demo care roster: people of the nine groups, their memberships and visit histories, in bulk.

Rows are what ``services.care.add_person``/``add_membership`` and ``services.care_visits.record_visit``
write (valid identity numbers whose birth date and gender agree with the person, visits at which the
person was met or not, observations per area), drawn from the seed and dated from ``now`` backwards:
half of the people live in the communities that have demo station accounts, the others anywhere;
most are visited on time over the last 180 days, some have fallen behind.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, inspect, select, text

from workstation.demo.reference import Reference
from workstation.demo.world import STATION_COMMUNITIES
from workstation.domain.care import id_check_digit
from workstation.models import CareGroup, CareMembership, CarePerson, CareVisit
from workstation.models.chain import seal_rows
from workstation.services.calendar import calendar_from
from workstation.storage.db import Database

Progress = Callable[[int, int, str], None]

TABLES = ("care_people", "care_memberships", "care_visits")
REGION = "340111"  # 合肥市包河区
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
)
GIVEN_OLD = (
    "秀英",
    "桂兰",
    "玉珍",
    "凤英",
    "淑珍",
    "建国",
    "德明",
    "永福",
    "国庆",
    "春梅",
    "金凤",
    "文华",
    "长海",
    "春生",
    "桂芳",
    "兰英",
    "秀珍",
    "玉兰",
    "德福",
    "志刚",
    "宝山",
    "英",
    "华",
    "明",
    "珍",
)
GIVEN_YOUNG = (
    "子涵",
    "浩然",
    "梓轩",
    "欣怡",
    "雨桐",
    "一诺",
    "思远",
    "可馨",
    "宇航",
    "俊杰",
    "佳怡",
    "梓萱",
    "沐阳",
    "若曦",
)
# Group -> (weight per 100, youngest, oldest).
GROUPS: dict[str, tuple[int, int, int]] = {
    "G1": (20, 80, 98),
    "G2": (20, 65, 90),
    "G3": (12, 65, 95),
    "G4": (6, 40, 85),
    "G5": (15, 30, 80),
    "G6": (10, 20, 80),
    "G7": (2, 3, 17),
    "G8": (5, 5, 16),
    "G9": (10, 55, 80),
}
SECOND_GROUP = {"G1": "G2", "G2": "G3", "G3": "G1", "G5": "G6", "G6": "G5"}
RELATIONS = ("儿子", "女儿", "老伴", "侄子", "邻居", "孙女")
HEALTH = ("高血压", "糖尿病", "行动不便", "听力下降", "心脏病", "")
CONCERNS = {
    "health": "近期血压偏高，已提醒按时服药",
    "living": "家中暖气故障，需协调维修",
    "safety": "燃气灶老化，建议更换",
    "mood": "情绪低落，建议多陪伴",
}
WINDOW_DAYS = 180


def care_tables_exist(db: Database) -> bool:
    """Whether the care module's tables are in this database."""
    names = set(inspect(db.engine).get_table_names())
    return all(t in names for t in TABLES)


def _name(rng: random.Random, young: bool) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_YOUNG if young else GIVEN_OLD)


def _address(rng: random.Random, landmark: str) -> str:
    building, unit, floor, flat = rng.randint(1, 30), rng.randint(1, 4), rng.randint(1, 18), rng.randint(1, 4)
    return f"{landmark}{building}栋{unit}单元{floor}0{flat}室"


def _id_number(birth: date, gender: str, seq: int) -> str:
    serial = seq % 500 * 2 + (1 if gender == "male" else 0)
    first17 = f"{REGION}{birth:%Y%m%d}{serial:03d}"
    return first17 + id_check_digit(first17)


def seed(db: Database, seed: int, people: int, *, now: datetime, progress: Progress | None = None) -> int:
    """Write ``people`` people with memberships and visits; returns how many were written."""
    if people <= 0:
        return 0
    rng = random.Random(seed * 7_919 + 17)
    ref = Reference.from_db(db)
    with db.read() as s:
        tz = calendar_from(s).tz
        intervals = {g.code: g.interval_days for g in s.scalars(select(CareGroup))}
        taken = set(s.scalars(select(CarePerson.id_number).where(CarePerson.id_number.is_not(None))))
        base = s.scalar(select(CarePerson.id).order_by(CarePerson.id.desc()).limit(1)) or 0
    stations = [c for c in STATION_COMMUNITIES if c in ref.communities]
    communities = sorted(ref.communities)
    codes = [g for g in GROUPS if g in intervals]
    weights = [GROUPS[g][0] for g in codes]
    today = now.astimezone(tz).date()
    person_rows: list[dict[str, Any]] = []
    membership_rows: list[dict[str, Any]] = []
    visit_rows: list[dict[str, Any]] = []
    for n in range(people):
        pid = base + n + 1
        community = ref.communities[rng.choice(stations) if stations and n % 2 == 0 else rng.choice(communities)]
        grid = ref.grids[rng.choice(community.grids)]
        group = rng.choices(codes, weights)[0]
        groups = [group]
        if group in SECOND_GROUP and SECOND_GROUP[group] in intervals and rng.random() < 0.15:
            groups.append(SECOND_GROUP[group])
        _, youngest, oldest = GROUPS[group]
        age = rng.randint(youngest, oldest)
        birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
        gender = rng.choice(("male", "female"))
        number = _id_number(birth, gender, pid)
        bump = 0
        while number in taken:
            bump += 1
            number = _id_number(birth, gender, pid + bump * 997)
        taken.add(number)
        living = (
            rng.choice(("alone", "alone", "spouse"))
            if group == "G2"
            else rng.choice(("family", "other"))
            if group in ("G7", "G8")
            else rng.choice(("alone", "spouse", "family", "family", "institution"))
        )
        visitor = rng.choice(grid.staff) if grid.staff else ""
        joined = now - timedelta(days=rng.randint(60, 1000))
        station = f"{community.name}站01"
        landmark = rng.choice(community.landmarks) if community.landmarks else community.name
        person_rows.append(
            {
                "id": pid,
                "version": 1,
                "name": _name(rng, age < 18),
                "gender": gender,
                "birth_date": birth,
                "id_number": number,
                "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                "address": _address(rng, landmark),
                "grid_code": grid.code,
                "community_code": community.code,
                "living": living,
                "visitor": visitor,
                "contacts": [
                    {
                        "name": _name(rng, False),
                        "relation": rng.choice(RELATIONS),
                        "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                    }
                ],
                "notes": "",
                "health_notes": rng.choice(HEALTH) if age >= 60 else "",
                "active": True,
                "created_at": joined,
                "created_by": station,
                "updated_at": joined,
                "updated_by": station,
            }
        )
        high = rng.random() < 0.1
        for code in groups:
            membership_rows.append(
                {
                    "person_id": pid,
                    "group_code": code,
                    "since": joined.astimezone(tz).date(),
                    "until": None,
                    "risk": "high" if high else "normal",
                    "source": "demo",
                    "created_at": joined,
                    "created_by": station,
                }
            )
        interval = min(intervals[g] for g in groups)
        if high:
            interval = max(1, interval // 2)
        if "G1" in groups and living == "alone":
            interval = min(interval, 7)
        visit_rows += _visits(rng, pid, visitor or station, station, interval, joined, now, tz)
        if progress and n % 500 == 0:
            progress(n, people, "writing the care roster")
    with db.write() as s:
        batches: tuple[tuple[Any, list[dict[str, Any]]], ...] = (
            (CarePerson, person_rows),
            (CareMembership, membership_rows),
            (CareVisit, visit_rows),
        )
        seal_rows(s.connection(), "care_visits", visit_rows)
        for table, rows in batches:
            for start in range(0, len(rows), 4000):
                s.execute(insert(table.__table__), rows[start : start + 4000])
        if s.get_bind().dialect.name == "postgresql":
            s.execute(
                text("SELECT setval(pg_get_serial_sequence('care_people', 'id'), (SELECT MAX(id) FROM care_people))")
            )
    if progress:
        progress(people, people, "writing the care roster")
    return people


def _visits(
    rng: random.Random, pid: int, visitor: str, recorder: str, interval: int, joined: datetime, now: datetime, tz: Any
) -> list[dict[str, Any]]:
    start = max(joined, now - timedelta(days=WINDOW_DAYS))
    behind = rng.random() < 0.1  # fallen behind: the last visits are missing
    stop = now - timedelta(days=interval * rng.uniform(1.3, 3.0)) if behind else now
    out: list[dict[str, Any]] = []
    day = start.astimezone(tz).date() + timedelta(days=rng.randint(0, max(0, interval - 1)))
    while True:
        at = datetime.combine(day, time(rng.randint(9, 16), rng.randint(0, 59)), tzinfo=tz).astimezone(UTC)
        if at >= stop - timedelta(hours=1) and (out or at >= now - timedelta(hours=1)):
            break  # (a person fallen behind was still visited once)
        met = rng.random() < 0.92
        mode = rng.choices(("home", "phone", "video"), (70, 25, 5))[0]
        concern = rng.choice(list(CONCERNS)) if met and rng.random() < 0.08 else None
        observations = (
            {
                area: {
                    "status": "concern" if area == concern else "ok",
                    "note": CONCERNS[area] if area == concern else "",
                }
                for area in ("health", "living", "safety", "mood")
            }
            if met
            else {}
        )
        recorded = min(at + timedelta(minutes=rng.randint(5, 180)), now)
        out.append(
            {
                "person_id": pid,
                "visited_at": at,
                "visitor": visitor,
                "mode": mode,
                "met": met,
                "observations": observations,
                "note": "" if met else "未见到本人，已电话联系家属",
                "next_due_at": None,
                "next_due_reason": "",
                "client_key": None,
                "recorded_at": recorded,
                "recorded_by": recorder,
            }
        )
        step = interval * (rng.uniform(1.1, 1.5) if rng.random() < 0.1 else rng.uniform(0.7, 1.0))
        day = day + timedelta(days=max(1, round(step if met else min(step, 2))))
    return out
