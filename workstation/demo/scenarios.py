"""Training scenarios: scripted reports with an answer key, scripted unit events, and their validation.

A scenario is a JSON file in ``resources/scenarios/`` (its name is the file name without ``.json``);
a trainer writes one without code. The format::

    {
      "title": "暴雨",                      # shown in the scenario list (required)
      "description": "What the trainee faces and what the trainer looks for.",
      "duration": 3600,                      # simulated seconds the scenario lasts (required, > 0)
      "speed": 10,                           # default speed, 1 to 60 (simulated seconds per real second)
      "start": "08:30",                      # optional local time of day the simulated clock starts at
      "reports": [                           # at least one, in any order
        {
          "key": "r1",                       # unique; merges and events refer to it (required)
          "offset": 0,                       # simulated seconds after the start (required, >= 0)
          "channel": "12345",                # PDA PATROL 12345 12319 WECHAT APP POLICE VISIT PHONE OPEN311
          "text": "市民来电反映：……",          # what the reporter said (required)
          "grid": "塘西河网格",               # a grid code or name, or "lon" and "lat", or neither
          "lon": 117.2871, "lat": 31.7375,
          "address": "洞庭湖路与嵩山路交口",
          "reporter": "张先生", "phone": "13800000000",
          "urgency": "normal",               # normal, urgent or low
          "answer": {"category": "0707", "unit": "CG"}   # or {"reject": "out_of_scope"} or {"merge": "r0"}
        }
      ],
      "events": [                            # optional: what the simulated units and grid members do
        {"offset": 600, "kind": "unit_return", "report": "r1", "reason": "不属于我单位职责"},
        {"offset": 900, "kind": "extension_request", "report": "r1", "limit": "1wd", "reason": "……"},
        {"offset": 1800, "kind": "verification_fail", "report": "r1", "reason": "现场仍有积水"}
      ]
    }

Answers: ``category`` is a catalogue code; ``unit`` (optional, default the category's unit) is a unit
code (``CG``, ``GS``, …) or ``GRID``/``STREET``/``COMMUNITY`` (the team, office or station of the
report's place, so the report needs a grid or a point) or a concrete ``GRID-S13C01G01``. ``reject``
is ``vague``, ``abusive`` or ``out_of_scope``. ``merge`` names a report with a category answer that
arrives no later. An event happens at its offset or as soon after as the case allows it (a return
needs a dispatched case, an extension request a case with its unit, a verification failure a case
sent to verification); ``limit`` is a time limit such as ``4wh`` or ``1wd``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any

from workstation.demo.jsonpos import Node, line_of, positions
from workstation.demo.texts import REJECT_KINDS, Answer
from workstation.domain.calendar import Limit, LimitError
from workstation.domain.channels import CHANNELS
from workstation.domain.geo import contains, valid_point
from workstation.i18n import tr
from workstation.resources import load_json, resource_path
from workstation.services.errors import WorkstationError

EVENT_KINDS = ("unit_return", "extension_request", "verification_fail")
TOP_KEYS = ("title", "description", "duration", "speed", "start", "reports", "events")
REPORT_KEYS = (
    "key",
    "offset",
    "channel",
    "text",
    "grid",
    "lon",
    "lat",
    "address",
    "reporter",
    "phone",
    "urgency",
    "answer",
)
EVENT_KEYS = ("offset", "kind", "report", "reason", "limit")
URGENCIES = ("normal", "urgent", "low")
TERRITORIAL = ("GRID", "STREET", "COMMUNITY")


@dataclass(frozen=True)
class Problem:
    """One reason a scenario file is refused, and the line it is on."""

    line: int
    reason: str


class ScenarioError(WorkstationError):
    """A scenario file that cannot be used; ``problems`` lists every reason with its line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        lines = [tr("{source}, line {line}: {reason}", source=source, line=p.line, reason=p.reason) for p in problems]
        super().__init__("\n".join(lines))
        self.source = source
        self.problems = problems


@dataclass(frozen=True)
class ScriptedReport:
    """A report the scenario injects at ``offset`` seconds, with its answer."""

    key: str
    offset: float
    channel: str
    text: str
    answer: Answer
    grid: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    reporter: str = ""
    phone: str = ""
    urgency: str = "normal"
    line: int = 0

    def to_report(self, received_at: datetime, external_id: str | None = None) -> dict[str, Any]:
        """The report as ``services.reports.add_report`` takes it."""
        data: dict[str, Any] = {
            "channel": self.channel,
            "text": self.text,
            "address": self.address,
            "reporter_name": self.reporter,
            "reporter_phone": self.phone,
            "received_at": received_at.isoformat(),
            "urgency": self.urgency,
        }
        if external_id:
            data["external_id"] = external_id
        if self.lon is not None and self.lat is not None:
            data["lon"], data["lat"] = self.lon, self.lat
        if self.grid:
            data["grid"] = self.grid
        return data


@dataclass(frozen=True)
class ScriptedEvent:
    """What a simulated unit or grid member does to a scripted report's case, from ``offset`` on."""

    offset: float
    kind: str
    report: str
    reason: str
    limit: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Scenario:
    """A validated scenario."""

    name: str
    title: str
    description: str
    duration: float
    speed: float
    start: time | None
    reports: tuple[ScriptedReport, ...]
    events: tuple[ScriptedEvent, ...] = field(default=())

    def answers(self) -> dict[str, Answer]:
        """The answer key: report key -> answer."""
        return {r.key: r.answer for r in self.reports}


# -- what exists ------------------------------------------------------------------------------------


@dataclass
class Known:
    """The codes a scenario may name: categories (with their units), units, grids."""

    categories: dict[str, str] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)
    grids: dict[str, str] = field(default_factory=dict)
    polygons: list[tuple[str, list[list[float]]]] = field(default_factory=list)

    @classmethod
    def shipped(cls) -> Known:
        """From the shipped catalogue, unit list and territory."""
        known = cls()
        for major in load_json("catalogue.json")["majors"]:
            for minor in major["minors"]:
                known.categories[minor["code"]] = minor["unit"]
        known.units = {u["code"] for u in load_json("units.json")["units"]}
        for street in load_json("territory.json")["streets"]:
            known.units.add(f"STREET-{street['code']}")
            for comm in street["communities"]:
                known.units.add(f"COMMUNITY-{comm['code']}")
                for grid in comm["grids"]:
                    known.units.add(f"GRID-{grid['code']}")
                    known.grids[grid["code"]] = grid["code"]
                    known.grids[grid["name"]] = grid["code"]
                    known.polygons.append((grid["code"], grid["polygon"]))
        return known

    def grid_at(self, lon: float, lat: float) -> str | None:
        """The grid containing the point."""
        for code, polygon in self.polygons:
            if contains(polygon, lon, lat):
                return code
        return None


_KNOWN: Known | None = None


def known() -> Known:
    """The shipped codes, read once."""
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = Known.shipped()
    return _KNOWN


# -- validation -------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class _Checker:
    def __init__(self, root: Node, codes: Known) -> None:
        self.root, self.codes = root, codes
        self.problems: list[Problem] = []
        self.refused: set[str] = set()  # keys of reports refused for a reason of their own

    def fail(self, path: tuple[str | int, ...], reason: str) -> None:
        self.problems.append(Problem(line_of(self.root, *path), reason))

    def scenario(self, data: Any, name: str) -> Scenario | None:
        if not isinstance(data, dict):
            self.fail((), tr("a scenario is a JSON object with title, duration and reports"))
            return None
        for key in sorted(set(data) - set(TOP_KEYS)):
            self.fail((key,), tr("unknown field {name} (allowed: {names})", name=key, names=", ".join(TOP_KEYS)))
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            self.fail(("title",), tr("title: required text"))
        description = data.get("description", "")
        if not isinstance(description, str):
            self.fail(("description",), tr("description: must be text"))
        duration = _number(data.get("duration"))
        if duration is None or duration <= 0:
            self.fail(("duration",), tr("duration: required, a number of seconds above 0"))
        speed = _number(data.get("speed", 10))
        if speed is None or not 1 <= speed <= 60:
            self.fail(("speed",), tr("speed: a number from 1 to 60"))
        start = self._start(data.get("start"))
        reports = self._reports(data.get("reports"), duration)
        events = self._events(data.get("events", []), reports)
        if self.problems:
            return None
        return Scenario(
            name=name,
            title=str(title).strip(),
            description=str(description),
            duration=float(duration or 0),
            speed=float(speed or 10),
            start=start,
            reports=tuple(reports),
            events=tuple(events),
        )

    def _start(self, value: Any) -> time | None:
        if value in (None, ""):
            return None
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            self.fail(("start",), tr("start: a time of day such as 08:30"))
            return None

    def _reports(self, items: Any, duration: float | None) -> list[ScriptedReport]:
        if not isinstance(items, list) or not items:
            self.fail(("reports",), tr("reports: required, a list of at least one report"))
            return []
        out: list[ScriptedReport] = []
        seen: dict[str, ScriptedReport] = {}
        for index, item in enumerate(items):
            before = len(self.problems)
            report = self._report(index, item, seen, duration)
            if report is None and len(self.problems) > before and isinstance(item, dict):
                self.refused.add(str(item.get("key")))
            if report is not None:
                if report.key in seen:
                    self.fail(("reports", index, "key"), self._at(index, tr("key {key} is used twice", key=report.key)))
                    continue
                seen[report.key] = report
                out.append(report)
        return out

    @staticmethod
    def _at(index: int, reason: str, key: str = "") -> str:
        where = f"reports[{index}]" + (f" ({key})" if key else "")
        return f"{where}: {reason}"

    def _report(
        self, index: int, item: Any, seen: dict[str, ScriptedReport], duration: float | None
    ) -> ScriptedReport | None:
        if not isinstance(item, dict):
            self.fail(("reports", index), self._at(index, tr("a report is a JSON object")))
            return None
        key = item.get("key")
        label = str(key) if isinstance(key, str) else ""

        def fail(field_name: str, reason: str) -> None:
            self.fail(("reports", index, field_name), self._at(index, reason, label))

        ok = True
        for name in sorted(set(item) - set(REPORT_KEYS)):
            fail(name, tr("unknown field {name} (allowed: {names})", name=name, names=", ".join(REPORT_KEYS)))
            ok = False
        if not isinstance(key, str) or not key.strip() or len(key) > 60:
            fail("key", tr("key: required text of at most 60 characters"))
            ok = False
        offset = _number(item.get("offset"))
        if offset is None:
            fail("offset", tr("offset: required, seconds from the start"))
            ok = False
        elif offset < 0:
            fail("offset", tr("offset {value} is negative: offsets count from the start", value=item["offset"]))
            ok = False
        elif duration is not None and offset > duration:
            fail(
                "offset",
                tr(
                    "offset {value} lies after the end of the scenario ({duration} s)",
                    value=item["offset"],
                    duration=duration,
                ),
            )
            ok = False
        channel = str(item.get("channel") or "").strip().upper()
        if channel not in CHANNELS:
            fail(
                "channel",
                tr("unknown channel {value}: one of {codes}", value=item.get("channel"), codes=", ".join(CHANNELS)),
            )
            ok = False
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            fail("text", tr("text: required, what the reporter said"))
            ok = False
        grid = self._grid(item, fail)
        lon, lat = _number(item.get("lon")), _number(item.get("lat"))
        if ("lon" in item or "lat" in item) and (lon is None or lat is None or not valid_point(lon, lat)):
            fail("lon", tr("lon and lat: both numbers, a point of the district"))
            ok = False
        elif lon is not None and lat is not None and self.codes.grid_at(lon, lat) is None:
            fail("lon", tr("the point {lon}, {lat} lies outside every grid of the district", lon=lon, lat=lat))
            ok = False
        urgency = str(item.get("urgency") or "normal")
        if urgency not in URGENCIES:
            fail("urgency", tr("urgency: one of {codes}", codes=", ".join(URGENCIES)))
            ok = False
        for name in ("address", "reporter", "phone"):
            if not isinstance(item.get(name, ""), str):
                fail(name, tr("{name}: must be text", name=name))
                ok = False
        located = grid is not None or (lon is not None and lat is not None)
        usable = offset if ok or (offset is not None and offset >= 0) else None
        answer = self._answer(index, item.get("answer"), fail, seen, usable, located)
        if not ok or answer is None or grid is False:
            return None
        return ScriptedReport(
            key=str(key).strip(),
            offset=float(offset or 0),
            channel=channel,
            text=str(text).strip(),
            answer=answer,
            grid=grid or None,
            lon=lon,
            lat=lat,
            address=str(item.get("address") or ""),
            reporter=str(item.get("reporter") or ""),
            phone=str(item.get("phone") or ""),
            urgency=urgency,
            line=line_of(self.root, "reports", index),
        )

    def _grid(self, item: dict[str, Any], fail: Any) -> Any:
        if item.get("grid") in (None, ""):
            return None
        grid = self.codes.grids.get(str(item["grid"]).strip())
        if grid is None:
            fail("grid", tr("unknown grid {value}: give a grid code or its exact name", value=item["grid"]))
            return False
        return str(item["grid"]).strip()

    def _answer(
        self,
        index: int,
        value: Any,
        fail: Any,
        seen: dict[str, ScriptedReport],
        offset: float | None,
        located: bool,
    ) -> Answer | None:
        if not isinstance(value, dict):
            fail("answer", tr('answer: required, {"category": …, "unit": …} or {"reject": …} or {"merge": …}'))
            return None
        kinds = [k for k in ("category", "reject", "merge") if k in value]
        extra = sorted(set(value) - {"category", "unit", "reject", "merge"})
        if len(kinds) != 1 or extra or ("unit" in value and kinds != ["category"]):
            fail("answer", tr("answer: exactly one of category (with an optional unit), reject or merge"))
            return None
        if kinds == ["reject"]:
            if value["reject"] not in REJECT_KINDS:
                fail(
                    "answer",
                    tr(
                        "unknown reject reason {value}: one of {codes}",
                        value=value["reject"],
                        codes=", ".join(REJECT_KINDS),
                    ),
                )
                return None
            return Answer(reject=value["reject"])
        if kinds == ["merge"]:
            target = seen.get(str(value["merge"]))
            if target is None and str(value["merge"]) in self.refused:
                return None  # the original has its own problem, reported on its line
            if target is None:
                fail("answer", tr("merge key {key} is not a report defined earlier in the file", key=value["merge"]))
                return None
            if target.answer.kind != "file":
                fail(
                    "answer",
                    tr("merge key {key} is itself rejected or merged: merge into the original", key=value["merge"]),
                )
                return None
            if offset is not None and target.offset > offset:
                fail("answer", tr("merge key {key} arrives after this report", key=value["merge"]))
                return None
            return Answer(merge=target.key)
        code = str(value["category"])
        if code not in self.codes.categories:
            fail("answer", tr("unknown category code {code}", code=code))
            return None
        unit = str(value.get("unit") or self.codes.categories[code])
        if unit not in self.codes.units and unit not in TERRITORIAL:
            fail("answer", tr("unknown unit {code}", code=unit))
            return None
        if unit in TERRITORIAL and not located:
            fail("answer", tr("unit {code} is resolved from the place: give the report a grid or lon/lat", code=unit))
            return None
        return Answer(category=code, unit=unit)

    def _events(self, items: Any, reports: list[ScriptedReport]) -> list[ScriptedEvent]:
        if not isinstance(items, list):
            self.fail(("events",), tr("events: a list"))
            return []
        by_key = {r.key: r for r in reports}
        out: list[ScriptedEvent] = []
        for index, item in enumerate(items):

            def fail(field_name: str, reason: str, index: int = index) -> None:
                self.fail(("events", index, field_name), f"events[{index}]: {reason}")

            if not isinstance(item, dict):
                self.fail(("events", index), f"events[{index}]: " + tr("an event is a JSON object"))
                continue
            ok = True
            for name in sorted(set(item) - set(EVENT_KEYS)):
                fail(name, tr("unknown field {name} (allowed: {names})", name=name, names=", ".join(EVENT_KEYS)))
                ok = False
            offset = _number(item.get("offset"))
            if offset is None or offset < 0:
                fail("offset", tr("offset: required, seconds from the start, not negative"))
                ok = False
            kind = item.get("kind")
            if kind not in EVENT_KINDS:
                fail("kind", tr("unknown event kind {value}: one of {codes}", value=kind, codes=", ".join(EVENT_KINDS)))
                ok = False
            target = by_key.get(str(item.get("report")))
            if target is None and str(item.get("report")) in self.refused:
                ok = False  # the report has its own problem, reported on its line
            elif target is None:
                fail("report", tr("report {key} is not a report of this scenario", key=item.get("report")))
                ok = False
            elif target.answer.kind != "file":
                fail("report", tr("report {key} is not filed in the answer key, so no unit handles it", key=target.key))
                ok = False
            reason = item.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                fail("reason", tr("reason: required text"))
                ok = False
            limit = item.get("limit")
            if kind == "extension_request":
                try:
                    Limit.parse(str(limit or ""))
                except LimitError:
                    fail("limit", tr("limit: a time limit such as 4wh or 1wd"))
                    ok = False
            if ok:
                out.append(
                    ScriptedEvent(
                        offset=float(offset or 0),
                        kind=str(kind),
                        report=str(item["report"]),
                        reason=str(reason).strip(),
                        limit=str(limit) if limit else None,
                        line=line_of(self.root, "events", index),
                    )
                )
        return out


def parse_scenario(raw: str, name: str = "scenario", source: str | None = None, codes: Known | None = None) -> Scenario:
    """Read and validate a scenario from its JSON text.

    Raises:
        ScenarioError: with every problem and its line (for unreadable JSON: the line and column).
    """
    source = source or name
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        reason = tr("not valid JSON: {reason} (column {col})", reason=exc.msg, col=exc.colno)
        raise ScenarioError(source, [Problem(exc.lineno, reason)]) from None
    checker = _Checker(positions(raw), codes or known())
    scenario = checker.scenario(data, name)
    if scenario is None:
        raise ScenarioError(source, sorted(checker.problems, key=lambda p: p.line))
    return scenario


def scenario_dir() -> Path:
    """Where the shipped scenarios are."""
    return resource_path("scenarios")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario file by path.

    Raises:
        ScenarioError: the file cannot be read or is not a valid scenario.
    """
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = scenario_dir() / f"{name_or_path}.json"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            str(path), [Problem(0, tr("cannot read the file: {reason}", reason=exc.strerror))]
        ) from None
    return parse_scenario(raw, path.stem, str(path))


def list_scenarios() -> list[Scenario]:
    """Every shipped scenario, by name."""
    return [load_scenario(p) for p in sorted(scenario_dir().glob("*.json"))]
