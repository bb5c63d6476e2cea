"""Realistic Chinese report texts, for every category and every channel, each with its answer.

A :class:`ReportFactory` writes reports the way they arrive at the centre: a grid member's terse PDA
line, a hotline operator's "市民来电反映：…", a citizen's WeChat message, on the district's real roads
and landmarks, with a point inside the right grid. Some are duplicates of an earlier report (same
place within about 100 m, similar words, another channel), some are vague, abusive or out of scope.
Every report carries its :class:`Answer`: the category and unit to file and dispatch, or the reason
kind to reject, or the key of the report to merge into.

Everything is drawn from the ``random.Random`` handed in: the same seed writes the same reports.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Any

from workstation.demo import phrases
from workstation.demo.reference import CategoryRef, CommunityRef, GridRef, Reference
from workstation.domain.geo import contains

REJECT_KINDS = ("vague", "abusive", "out_of_scope")

# How often each channel brings a report, per 100.
CHANNEL_MIX: dict[str, int] = {
    "PDA": 34,
    "PATROL": 9,
    "12345": 24,
    "12319": 5,
    "WECHAT": 9,
    "APP": 8,
    "POLICE": 3,
    "VISIT": 3,
    "PHONE": 4,
    "OPEN311": 1,
}
# Channels through which people (not grid staff) write; rejectable reports come from these.
PUBLIC_CHANNELS = ("12345", "WECHAT", "APP", "PHONE", "12319", "OPEN311")
# How often each major category occurs, per 100; a few minors are more common still.
MAJOR_MIX = {"01": 20, "02": 22, "03": 8, "04": 8, "05": 4, "06": 10, "07": 9, "08": 5, "09": 5, "10": 5, "11": 4}
MINOR_BOOST = {
    "0101": 3.0,
    "0201": 3.0,
    "0204": 3.0,
    "0301": 3.0,
    "0603": 2.0,
    "0701": 2.0,
    "0104": 2.0,
    "0105": 2.0,
    "0202": 2.0,
    "0206": 2.0,
    "0613": 2.0,
    "0702": 2.0,
    "1001": 2.0,
    "1002": 2.0,
}
# Categories that visits to vulnerable people find.
VISIT_CATEGORIES = ("1107", "1108")


@dataclass(frozen=True)
class Answer:
    """What a well-trained operator does with a report: file it, reject it, or merge it."""

    category: str | None = None
    unit: str | None = None
    reject: str | None = None
    merge: str | None = None

    @property
    def kind(self) -> str:
        """``file``, ``reject`` or ``merge``."""
        if self.reject:
            return "reject"
        if self.merge:
            return "merge"
        return "file"

    def to_dict(self) -> dict[str, Any]:
        """The answer as scenario files write it."""
        if self.reject:
            return {"reject": self.reject}
        if self.merge:
            return {"merge": self.merge}
        out: dict[str, Any] = {"category": self.category}
        if self.unit:
            out["unit"] = self.unit
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """Read an answer written by :meth:`to_dict`."""
        return cls(
            category=data.get("category"),
            unit=data.get("unit"),
            reject=data.get("reject"),
            merge=data.get("merge"),
        )


@dataclass(frozen=True)
class GeneratedReport:
    """One generated report and its answer."""

    key: str
    channel: str
    text: str
    address: str
    lon: float | None
    lat: float | None
    grid: str | None
    reporter_name: str
    reporter_phone: str
    urgency: str
    answer: Answer
    place: str = ""
    community: str | None = None

    def to_report(self, received_at: datetime, external_id: str | None = None) -> dict[str, Any]:
        """The report as ``services.reports.add_report`` takes it."""
        data: dict[str, Any] = {
            "channel": self.channel,
            "text": self.text,
            "address": self.address,
            "reporter_name": self.reporter_name,
            "reporter_phone": self.reporter_phone,
            "received_at": received_at.isoformat(),
            "urgency": self.urgency,
        }
        if external_id:
            data["external_id"] = external_id
        if self.lon is not None and self.lat is not None:
            data["lon"], data["lat"] = self.lon, self.lat
        elif self.grid:
            data["grid"] = self.grid
        return data


@dataclass
class Mix:
    """The share of duplicates and of each kind of rejectable report in a stream."""

    duplicate: float = 0.07
    vague: float = 0.015
    abusive: float = 0.007
    out_of_scope: float = 0.02


def phone(rng: random.Random) -> str:
    """A plausible mobile number."""
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


class ReportFactory:
    """Writes reports one after another; duplicates refer to reports it wrote before.

    Args:
        ref: the reference data (categories, territory, units).
        rng: the only source of randomness.
        prefix: keys are ``f"{prefix}{n}"``.
        mix: the share of duplicates and of each kind of rejectable report among :meth:`next`.
    """

    def __init__(self, ref: Reference, rng: random.Random, prefix: str = "g", mix: Mix | None = None) -> None:
        self.ref, self.rng, self.prefix = ref, rng, prefix
        self.mix = mix or Mix()
        self._count = 0
        self._recent: deque[GeneratedReport] = deque(maxlen=60)
        self._codes = list(self.ref.categories)
        self._weights = list(accumulate(self._weight(self.ref.categories[c]) for c in self._codes))
        self._communities = list(self.ref.communities.values())
        self._channels = list(CHANNEL_MIX)
        self._channel_weights = list(accumulate(CHANNEL_MIX[c] for c in self._channels))

    @staticmethod
    def _weight(cat: CategoryRef) -> float:
        return MAJOR_MIX.get(cat.major_code, 3) * MINOR_BOOST.get(cat.code, 1.0)

    def _key(self) -> str:
        self._count += 1
        return f"{self.prefix}{self._count}"

    # -- choices -------------------------------------------------------------------------------

    def category(self) -> CategoryRef:
        """A category, by how often it occurs."""
        return self.ref.categories[self.rng.choices(self._codes, cum_weights=self._weights)[0]]

    def channel_for(self, cat: CategoryRef | None) -> str:
        """A channel, by how often it brings reports of this category."""
        if cat is not None and cat.code in VISIT_CATEGORIES and self.rng.random() < 0.6:
            return "VISIT"
        while True:
            channel = self.rng.choices(self._channels, cum_weights=self._channel_weights)[0]
            if channel != "VISIT" or cat is None or cat.major_code == "11" or self.rng.random() < 0.2:
                return channel

    def _place(self, community: CommunityRef) -> tuple[str, GridRef]:
        rng = self.rng
        roads = community.roads or ("",)
        road = rng.choice(roads)
        others = [r for r in roads if r != road] or [r for c in self._communities for r in c.roads if r != road]
        landmark = rng.choice(community.landmarks) if community.landmarks else road
        spot = rng.choice(phrases.SPOTS).format(n=rng.randint(1, 28), m=rng.randint(1, 4))
        template = rng.choice(phrases.PLACES)
        place = template.format(
            road=road,
            road2=rng.choice(others) if others else road,
            dir=rng.choice(phrases.DIRECTIONS),
            num=rng.randint(1, 399),
            landmark=landmark,
            spot=spot,
        )
        used = landmark if "{landmark}" in template else road
        named = [g for g in community.grids if self.ref.grids[g].name.startswith(used)]
        grid = self.ref.grids[named[0] if named else rng.choice(community.grids)]
        return place, grid

    def _reporter(self, channel: str, grid: GridRef | None) -> tuple[str, str]:
        if channel in ("PDA", "PATROL", "VISIT") and grid is not None and grid.staff:
            return self.rng.choice(grid.staff), phone(self.rng)
        if channel == "POLICE":
            return "110指挥中心", ""
        if channel == "OPEN311":
            return "", ""
        return self.rng.choice(phrases.REPORTER_NAMES), phone(self.rng)

    def _text(self, cat: CategoryRef, channel: str, place: str, problem: str) -> str:
        rng = self.rng
        details = phrases.DETAILS.get(cat.major_code, phrases.GENERIC_DETAILS)
        bodies = phrases.BODIES.get(cat.major_code, phrases.GENERIC_BODIES)
        slots = {
            "place": place,
            "problem": problem,
            "detail": rng.choice(details),
            "duration": rng.choice(phrases.DURATIONS),
            "ask": rng.choice(phrases.ASKS),
        }
        slots["terse"] = f"{place}{problem}"
        slots["body"] = rng.choice(bodies).format(**slots)
        return rng.choice(phrases.CHANNEL_TEMPLATES[channel]).format(**slots)

    def problem(self, cat: CategoryRef) -> str:
        """How a reporter says what is wrong (from the category's name and keywords if unknown)."""
        known = phrases.PROBLEMS.get(cat.code)
        if known:
            return self.rng.choice(known)
        word = self.rng.choice(cat.keywords) if cat.keywords else cat.name
        return f"有{cat.name}的情况（{word}）"

    # -- reports -------------------------------------------------------------------------------

    def ordinary(
        self, category: str | None = None, channel: str | None = None, community: str | None = None
    ) -> GeneratedReport:
        """A report to file and dispatch (optionally of a given category, channel or community)."""
        rng = self.rng
        cat = self.ref.categories[category] if category else self.category()
        comm = self.ref.communities[community] if community else rng.choice(self._communities)
        channel = channel or self.channel_for(cat)
        place, grid = self._place(comm)
        lon, lat = grid.random_point(rng)
        text = self._text(cat, channel, place, self.problem(cat))
        name, number = self._reporter(channel, grid)
        urgency = "urgent" if cat.urgency == "urgent" and rng.random() < 0.5 else "normal"
        report = GeneratedReport(
            key=self._key(),
            channel=channel,
            text=text,
            address=f"{self.ref.streets.get(comm.street_code, '')}{comm.name}{place}",
            lon=lon,
            lat=lat,
            grid=grid.code,
            reporter_name=name,
            reporter_phone=number,
            urgency=urgency,
            answer=Answer(category=cat.code, unit=cat.unit),
            place=place,
            community=comm.code,
        )
        self._recent.append(report)
        return report

    def duplicate(self, original: GeneratedReport, channel: str | None = None) -> GeneratedReport:
        """Another report of the same problem: same place within about 100 m, similar words, another channel."""
        rng = self.rng
        root = original.answer.merge or original.key
        cat = self.ref.categories[original.answer.category or ""] if original.answer.category else self.category()
        if channel is None:
            choices = [c for c in self._channels if c != original.channel and c != "VISIT"]
            channel = rng.choice(choices)
        grid = self.ref.grids.get(original.grid or "")
        lon, lat = original.lon, original.lat
        if grid is not None and lon is not None and lat is not None:
            for _ in range(20):
                jlon = round(lon + rng.uniform(-0.0006, 0.0006), 6)
                jlat = round(lat + rng.uniform(-0.0005, 0.0005), 6)
                if contains(grid.polygon, jlon, jlat):
                    lon, lat = jlon, jlat
                    break
        text = self._text(cat, channel, original.place, self.problem(cat))
        name, number = self._reporter(channel, grid)
        return GeneratedReport(
            key=self._key(),
            channel=channel,
            text=text,
            address=original.address,
            lon=lon,
            lat=lat,
            grid=original.grid,
            reporter_name=name,
            reporter_phone=number,
            urgency=original.urgency,
            answer=Answer(merge=root),
            place=original.place,
            community=original.community,
        )

    def rejectable(self, kind: str | None = None, channel: str | None = None) -> GeneratedReport:
        """A report to reject: vague, abusive or out of scope (no usable place)."""
        rng = self.rng
        kind = kind or rng.choice(REJECT_KINDS)
        channel = channel or rng.choice(PUBLIC_CHANNELS)
        name, number = self._reporter(channel, None)
        return GeneratedReport(
            key=self._key(),
            channel=channel,
            text=rng.choice(phrases.REJECTS[kind]),
            address="",
            lon=None,
            lat=None,
            grid=None,
            reporter_name=name,
            reporter_phone=number,
            urgency="normal",
            answer=Answer(reject=kind),
        )

    def next(self) -> GeneratedReport:
        """The next report of a realistic stream: mostly ordinary, some duplicates and rejectable ones."""
        u = self.rng.random()
        mix = self.mix
        if u < mix.duplicate and self._recent:
            return self.duplicate(self.rng.choice(list(self._recent)))
        u -= mix.duplicate
        for kind in REJECT_KINDS:
            share = getattr(mix, kind)
            if u < share:
                return self.rejectable(kind)
            u -= share
        return self.ordinary()


def generate(ref: Reference, seed: int, count: int, prefix: str = "g") -> list[GeneratedReport]:
    """``count`` reports of a realistic stream, the same for the same seed."""
    factory = ReportFactory(ref, random.Random(seed), prefix=prefix)
    return [factory.next() for _ in range(count)]
