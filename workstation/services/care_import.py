"""Importing a community's care roster from an .xlsx spreadsheet.

Import reads the first sheet of an .xlsx file. The header row is found among the first rows and its
columns are recognised by their usual Chinese titles (:func:`detect_mapping`), or the caller gives
the mapping. Every row is checked before anything is written; rows that fail are listed with their
row number and reason, and then nothing is imported unless the caller asks to skip them. The
import is one transaction. The visit ledger is exported by ``care_export``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final
from zipfile import BadZipFile, ZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workstation.domain.care import LIVING, IdNumberError, normalise_id
from workstation.domain.lifecycle import N_
from workstation.domain.privacy import mask_id
from workstation.i18n import tr
from workstation.intake.settings import Limits, configured_limits
from workstation.models import CareMembership, CarePerson, Community, Grid
from workstation.services.actors import Actor
from workstation.services.care import clean_person, group_codes, local_today, new_person, parse_date, resolve_grid
from workstation.services.care_privacy import (
    check_community,
    resolve_community,
)
from workstation.services.errors import ConflictError, ValidationError
from workstation.services.notices import notify
from workstation.storage.db import Database

FIELDS: Final[dict[str, str]] = {
    "name": N_("name"),
    "gender": N_("gender"),
    "birth_date": N_("birth date"),
    "id_number": N_("identity number"),
    "phone": N_("phone"),
    "address": N_("address"),
    "grid": N_("grid"),
    "groups": N_("groups"),
    "risk": N_("risk level"),
    "living": N_("living situation"),
    "contact_name": N_("emergency contact"),
    "contact_phone": N_("emergency contact phone"),
    "contact_relation": N_("relation of the emergency contact"),
    "guardian_name": N_("guardian"),
    "guardian_phone": N_("guardian phone"),
    "visitor": N_("responsible visitor"),
    "since": N_("in the group since"),
    "notes": N_("notes"),
    "health_notes": N_("health notes"),
}
REQUIRED: Final = ("name", "grid", "groups")

HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "name": ("姓名", "名字", "人员姓名"),
    "gender": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "身份证", "证件号码"),
    "phone": ("联系电话", "手机", "手机号", "手机号码", "电话", "联系方式", "本人电话"),
    "address": ("住址", "家庭住址", "现住址", "居住地址", "地址"),
    "grid": ("网格", "所属网格", "网格名称"),
    "groups": ("人员类别", "重点人群类别", "人群类别", "类别", "重点人群"),
    "risk": ("风险等级", "风险"),
    "living": ("居住状况", "居住情况", "居住状态"),
    "contact_name": ("紧急联系人", "紧急联系人姓名"),
    "contact_phone": ("紧急联系电话", "紧急联系人电话", "紧急联系人联系电话"),
    "contact_relation": ("与本人关系", "紧急联系人关系", "关系"),
    "guardian_name": ("监护人", "监护人姓名"),
    "guardian_phone": ("监护人电话", "监护人联系电话"),
    "visitor": ("走访责任人", "包保责任人", "责任人", "走访人"),
    "since": ("纳入日期", "纳入时间"),
    "notes": ("备注",),
    "health_notes": ("健康状况", "健康情况"),
}
GROUP_ALIASES: Final = {
    "高龄": "G1",
    "独居老人": "G2",
    "空巢老人": "G2",
    "失能老人": "G3",
    "半失能老人": "G3",
    "特困人员": "G4",
    "特困": "G4",
    "低保": "G5",
    "低保户": "G5",
    "残疾人": "G6",
    "重度残疾": "G6",
    "孤儿": "G7",
    "留守儿童": "G8",
    "困境儿童": "G8",
    "失独家庭": "G9",
}
LIVING_SYNONYMS: Final = {
    # Besides each code and its label in either language, the values a station's list uses. Matched
    # whole (never a part of the cell: 与祖父母同住 is not 与子女同住); anything else fails its row.
    "alone": ("独居", "独自居住", "一人居住", "独居老人"),
    "spouse": ("与配偶同住", "配偶同住", "夫妻同住", "与老伴同住", "空巢"),
    "family": ("子女同住", "与儿子同住", "与女儿同住", "与儿女同住", "与家人同住", "与亲属同住"),
    "grandparents": ("祖父母同住", "与外祖父母同住", "与（外）祖父母同住", "与爷爷奶奶同住", "祖孙同住", "隔代同住"),
    "institution": ("机构", "机构养老", "养老机构", "敬老院", "福利院", "养老院"),
    "other": ("其他",),
}
RISK_WORDS: Final = {"高": "high", "高风险": "high", "high": "high", "是": "high"} | dict.fromkeys(
    ("", "一般", "普通", "正常", "低", "低风险", "中", "否", "normal"), "normal"
)
_SPLIT: Final = re.compile(r"[、,，/;；\s]+")
_NOISE: Final = re.compile(r"[\s*:：]|[（(][^）)]*[）)]")
HEADER_SEARCH: Final = 10


def _norm(header: Any) -> str:
    return _NOISE.sub("", str(header or ""))


def detect_mapping(headers: Sequence[Any]) -> dict[int, str]:
    """Recognise the columns of a roster by their titles: column index (from 0) to field name.

    Exact titles are matched first, then titles containing a known one (longest first). Each field
    is taken from the first column that names it; unknown columns are left out.
    """
    names = [_norm(h) for h in headers]
    exact = {title: key for key, titles in HEADERS.items() for title in titles}
    found: dict[int, str] = {}
    for i, name in enumerate(names):
        key = exact.get(name)
        if key and key not in found.values():
            found[i] = key
    by_length = sorted(exact.items(), key=lambda item: -len(item[0]))
    for i, name in enumerate(names):
        if i in found or not name:
            continue
        for title, key in by_length:
            if len(title) > 1 and title in name and key not in found.values():
                found[i] = key
                break
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be imported, and why."""

    row: int
    field: str
    reason: str

    @property
    def message(self) -> str:
        """``row 7: identity number 340104********1234 has a wrong check digit``."""
        return tr("row {n}: {reason}", n=self.row, reason=self.reason)


@dataclass
class ImportResult:
    """What an import found and did."""

    rows: int = 0
    good: int = 0
    imported: int = 0
    person_ids: list[int] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    mapping: dict[int, str] = field(default_factory=dict)
    header_row: int = 1
    dry_run: bool = False

    @property
    def bad_rows(self) -> list[int]:
        """The numbers of the rows that failed."""
        return sorted({b.row for b in self.bad})


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _refuse(path: Path, reason: str) -> ValidationError:
    return ValidationError(
        tr("Cannot read {path} as an .xlsx workbook: {reason}", path=path, reason=reason), {"file": str(path)}
    )


def _check_package(path: Path, limits: Limits) -> None:
    """Refuse a workbook that unpacks to more than the limit (a zip bomb) or holds a DTD in any XML part."""
    try:
        with ZipFile(path) as package:
            parts = package.infolist()
            total = sum(p.file_size for p in parts)
            if total > limits.max_excel_unzipped_bytes:
                raise _refuse(
                    path,
                    tr(
                        "it unpacks to {size} MB, more than the limit of {limit} MB (limits.max_excel_unzipped_bytes)",
                        size=total // 1024 // 1024,
                        limit=limits.max_excel_unzipped_bytes // 1024 // 1024,
                    ),
                )
            for part in parts:
                if not part.filename.endswith((".xml", ".rels")):
                    continue
                with package.open(part) as stream:
                    data = stream.read(limits.max_excel_unzipped_bytes + 1)
                if _DOCTYPE.search(data):
                    raise _refuse(
                        path, tr("a document type (DTD) inside the workbook is refused ({part})", part=part.filename)
                    )
    except (OSError, BadZipFile, RuntimeError, ValueError) as exc:  # not a zip at all: openpyxl names it
        if isinstance(exc, ValidationError):
            raise
        raise _refuse(path, str(exc)) from None


_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)


def read_rows(path: Path, limits: Limits | None = None, max_rows: int | None = None) -> list[tuple[int, list[Any]]]:
    """The first sheet's rows (numbered, trailing blanks dropped), at most ``max_rows`` of them.

    Raises:
        ValidationError: not a readable workbook, or past a limit (see ``_read``).
    """
    return _read(path, limits, max_rows)


def _read(path: Path, limits: Limits | None = None, max_rows: int | None = None) -> list[tuple[int, list[Any]]]:
    """The first sheet's rows as they are in the file (never trusting the stored dimension), within limits."""
    bounds = limits or configured_limits()
    if Path(path).is_file():
        _check_package(Path(path), bounds)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, BadZipFile, KeyError, ValueError, SyntaxError) as exc:
        raise _refuse(path, str(exc)) from None
    try:
        sheet = book.worksheets[0]
        reset = getattr(sheet, "reset_dimensions", None)
        if reset is not None:
            reset()  # a stale A1:J2 would hide rows; a claimed A1:XFD1048576 would pad every row
        rows: list[tuple[int, list[Any]]] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if max_rows is not None and number > max_rows:
                break
            values = [_cell(v) for v in row]
            while values and values[-1] in (None, ""):
                values.pop()
            if len(values) > bounds.max_excel_columns:
                raise _refuse(
                    path,
                    tr(
                        "row {n} has {count} columns, more than the limit of {limit} (limits.max_excel_columns)",
                        n=number,
                        count=len(values),
                        limit=bounds.max_excel_columns,
                    ),
                )
            if len(rows) >= bounds.max_excel_rows and values:
                raise _refuse(
                    path,
                    tr("more than {limit} rows (limits.max_excel_rows)", limit=bounds.max_excel_rows),
                )
            rows.append((number, values))
        while rows and not rows[-1][1]:
            rows.pop()
        width = max((len(v) for _, v in rows), default=0)
        return [(n, v + [None] * (width - len(v))) for n, v in rows]
    except (KeyError, ValueError, SyntaxError) as exc:
        raise _refuse(path, str(exc)) from None
    finally:
        book.close()


def _header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[int, str]]:
    for number, values in rows[:HEADER_SEARCH]:
        mapping = detect_mapping(values)
        if "name" in mapping.values() and len(mapping) >= 2:
            return number, mapping
    return (rows[0][0] if rows else 1), {}


def _check_mapping(mapping: Mapping[int, str]) -> dict[int, str]:
    clean = {int(k): v for k, v in mapping.items()}
    unknown = sorted({v for v in clean.values() if v not in FIELDS})
    if unknown:
        raise ValidationError(
            tr(
                "Unknown field(s) in the mapping: {names}; use {fields}.",
                names=", ".join(unknown),
                fields=", ".join(FIELDS),
            ),
            {"mapping": tr("unknown field")},
        )
    missing = [f for f in REQUIRED if f not in clean.values()]
    if missing:
        labels = ", ".join(tr(FIELDS[f]) for f in missing)
        raise ValidationError(
            tr("The file has no column for: {fields}. Give the mapping of columns to fields.", fields=labels),
            {"mapping": tr("missing {fields}", fields=", ".join(missing))},
        )
    return clean


def living_values() -> dict[str, str]:
    """Every accepted value of the living situation column (normalised) -> its code."""
    from workstation.i18n import catalogue

    chinese = catalogue("zh_CN")
    values: dict[str, str] = {}
    for code, label in LIVING.items():
        for value in (code, label, chinese.get(label, label), *LIVING_SYNONYMS.get(code, ())):
            values[_living_key(value)] = code
    return values


def _living_key(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("(", "（").replace(")", "）").lower()


def _living(text: str) -> str | None:
    """The code of a living situation cell: "" for an empty cell, None for a value not accepted."""
    if not text:
        return ""
    return living_values().get(_living_key(text))


class _Row:
    """One data row turned into the fields of a person, with its problems."""

    def __init__(self, number: int, values: dict[str, Any]) -> None:
        self.number = number
        self.values = values
        self.bad: list[BadRow] = []
        self.data: dict[str, Any] = {}
        self.groups: list[str] = []
        self.risk = "normal"
        self.since: date | None = None

    def fail(self, key: str, reason: str) -> None:
        self.bad.append(BadRow(self.number, key, reason))

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if isinstance(value, datetime):
            return value.date().isoformat()
        return "" if value is None else str(value).strip()


def _parse(row: _Row, codes: Mapping[str, str]) -> None:
    v = row.values
    data: dict[str, Any] = {k: row.text(k) for k in ("name", "gender", "phone", "address", "grid", "visitor", "notes")}
    data["health_notes"] = row.text("health_notes")
    if not data["name"]:
        row.fail("name", tr("name is missing"))
    if isinstance(v.get("id_number"), int | float):
        row.fail(
            "id_number",
            tr(
                "identity number {id} is stored as a number, which loses digits: format the column as text",
                id=mask_id(str(v["id_number"])),
            ),
        )
    elif row.text("id_number"):
        number = row.text("id_number")
        try:
            data["id_number"] = normalise_id(number)
        except IdNumberError as exc:
            reason = {
                "check": tr("identity number {id} has a wrong check digit", id=mask_id(number)),
                "date": tr("identity number {id} holds an impossible birth date", id=mask_id(number)),
                "format": tr("identity number {id} is not 17 digits and a check character", id=mask_id(number)),
            }[exc.kind]
            row.fail("id_number", reason)
    if v.get("birth_date") not in (None, ""):
        data["birth_date"] = v["birth_date"]
    living = _living(row.text("living"))
    if living is None:
        row.fail(
            "living",
            tr(
                "living situation {text} is not one of {values}",
                text=row.text("living"),
                values=", ".join(tr(label) for label in LIVING.values()),
            ),
        )
    else:
        data["living"] = living
    contacts = []
    if row.text("contact_name") or row.text("contact_phone"):
        relation = row.text("contact_relation") or "紧急联系人"
        contacts.append({"name": row.text("contact_name"), "relation": relation, "phone": row.text("contact_phone")})
    if row.text("guardian_name") or row.text("guardian_phone"):
        contacts.append({"name": row.text("guardian_name"), "relation": "监护人", "phone": row.text("guardian_phone")})
    data["contacts"] = contacts
    tokens = [t for t in _SPLIT.split(row.text("groups")) if t]
    if not tokens:
        row.fail("groups", tr("no group given"))
    for token in tokens:
        code = codes.get(token) or codes.get(token.upper()) or GROUP_ALIASES.get(token)
        if code is None:
            row.fail("groups", tr("unknown group {name}", name=token))
        elif code not in row.groups:
            row.groups.append(code)
    risk = RISK_WORDS.get(row.text("risk").lower())
    if risk is None:
        row.fail("risk", tr("risk level {text} is not 高 or 一般", text=row.text("risk")))
    else:
        row.risk = risk
    if v.get("since") not in (None, ""):
        try:
            row.since = parse_date(v["since"])
        except ValueError as exc:
            row.fail("since", f"{tr(FIELDS['since'])}: {exc}")
    clean, errors = clean_person({k: val for k, val in data.items() if k != "id_number" or val})
    for key, reason in errors.items():
        if key == "name" and not data["name"]:
            continue
        if key == "grid" and not data["grid"]:
            row.fail("grid", tr("grid is missing"))
            continue
        row.fail(key, f"{tr(FIELDS.get(key, key))}: {reason}")
    row.data = clean


def import_roster(
    db: Database,
    by: Actor,
    path: str | Path,
    community: str,
    mapping: Mapping[int, str] | None = None,
    dry_run: bool = False,
    *,
    skip_bad: bool = False,
) -> ImportResult:
    """Import a community's roster from an .xlsx file: all rows, or none.

    Args:
        db: the database.
        by: station staff (their own community), a shift lead or an administrator.
        path: the .xlsx file (first sheet; header row among the first 10 rows).
        community: the community (code or name) every row's grid must belong to.
        mapping: column index (from 0) to field name (``FIELDS``); default: recognised from the titles.
        dry_run: check only; write nothing.
        skip_bad: import the good rows even if some fail (the failed ones are listed).

    Returns:
        What was found: ``bad`` lists every failed row with its reason; ``imported`` is 0 when any
        row failed (unless ``skip_bad``) or on a dry run.

    Raises:
        ValidationError: unreadable file, unknown community, or no column for name, grid or groups.
        PermissionDeniedError: the role may not change the roster, or another community.
        ConflictError: someone added one of these identity numbers meanwhile; nothing was imported.
    """
    what = tr("change the care roster")
    with db.read() as s:
        code = resolve_community(s, by, community, what) if community else None
        if code is None:
            raise ValidationError(tr("Name the community the roster belongs to."), {"community": tr("required")})
        check_community(by, code, what, write=True)
    path = Path(path)
    rows = _read(path)
    header_row, detected = _header(rows)
    result = ImportResult(header_row=header_row, dry_run=dry_run)
    result.mapping = _check_mapping(mapping if mapping is not None else detected)
    with db.read() as s:
        community_name = s.scalar(select(Community.name).where(Community.code == code))
        codes = group_codes(s)
        today, _ = local_today(s)
        parsed: list[_Row] = []
        for number, values in rows:
            if number <= header_row or all(v in (None, "") for v in values):
                continue
            row = _Row(number, {f: values[i] for i, f in result.mapping.items() if i < len(values)})
            _parse(row, codes)
            parsed.append(row)
        seen: dict[str, int] = {}
        numbers = [r.data["id_number"] for r in parsed if r.data.get("id_number")]
        existing = (
            set(s.scalars(select(CarePerson.id_number).where(CarePerson.id_number.in_(numbers)))) if numbers else set()
        )
        grids: dict[str, Grid | None] = {}
        for row in parsed:
            grid_text = row.data.get("grid")
            if grid_text:
                if grid_text not in grids:
                    grids[grid_text] = resolve_grid(s, grid_text, code)
                if grids[grid_text] is None:
                    row.fail(
                        "grid", tr("grid {name} not found in {community}", name=grid_text, community=community_name)
                    )
            id_number = row.data.get("id_number")
            if id_number:
                if id_number in seen:
                    row.fail(
                        "id_number",
                        tr(
                            "identity number {id} appears twice (first in row {n})",
                            id=mask_id(id_number),
                            n=seen[id_number],
                        ),
                    )
                elif id_number in existing:
                    row.fail("id_number", tr("identity number {id} is already on the roster", id=mask_id(id_number)))
                seen.setdefault(id_number, row.number)
    result.rows = len(parsed)
    result.bad = [b for r in parsed for b in r.bad]
    good = [r for r in parsed if not r.bad]
    result.good = len(good)
    if dry_run or (result.bad and not skip_bad) or not good:
        return result
    source = f"import:{path.name}"[:180]
    try:
        with db.write() as s:
            for row in good:
                grid = grids[row.data["grid"]]
                assert grid is not None
                person = new_person(row.data, grid, by)
                s.add(person)
                s.flush()
                for group in row.groups:
                    s.add(
                        CareMembership(
                            person_id=person.id,
                            group_code=group,
                            since=row.since or today,
                            risk=row.risk,
                            source=f"{source} row {row.number}",
                            created_by=by.name,
                        )
                    )
                result.person_ids.append(person.id)
    except IntegrityError:
        raise ConflictError(
            tr("Someone added one of these identity numbers meanwhile; nothing was imported. Import again.")
        ) from None
    result.imported = len(result.person_ids)
    notify("care_person", result.person_ids)
    return result
