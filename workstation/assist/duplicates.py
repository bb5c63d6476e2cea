"""Which cases a report may duplicate: the same problem at the same place, reported again soon after.

A candidate was received within ``WINDOW`` of the case, is neither rejected nor merged, and lies in
the same grid or within ``RADIUS_M`` metres (when both have a point). The database narrows by
received time and by grid or bounding box, so a call reads a few days of one place whatever the size
of the case table. Each candidate is then scored from five kinds of evidence, each 0..1:

- place: 1 within ``NEAR_M`` metres, falling to 0 at ``RADIUS_M``; 0.8 for the same grid without
  points (a grid is a few hundred metres across);
- time: 1 within ``FRESH``, halving every ``HALF_LIFE`` after (a flooded underpass is reported
  again within minutes, a broken bench within days);
- kind: the chance that both texts are the same kind of problem, from the category model's
  probabilities of the two texts (the filed category, when there is one, counts as certain);
- text: the share of character bigrams the two texts have in common (Jaccard), reaching 1 at
  ``_FULL_TEXT``;

``score = 0.35 * kind + 0.25 * text + 0.2 * place + 0.2 * time``, offered when at least
``MIN_SCORE`` and the kinds agree (``MIN_KIND``) or the texts are nearly the same (``TEXT_ALONE``:
two reports of one place share its name, so text alone says little). So the
rainstorm's second report of the flooded intersection, one and a half minutes later in the same grid
with other words (text similarity 0.15), is offered: kind and place and time agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import and_, or_, select

from workstation.assist import model
from workstation.assist.text import bigrams, jaccard
from workstation.domain.geo import distance_m
from workstation.domain.lifecycle import State
from workstation.i18n import tr
from workstation.models import Case
from workstation.services.errors import NotFoundError
from workstation.storage.db import Database

WINDOW = timedelta(days=7)
RADIUS_M = 300.0
NEAR_M = 100.0
FRESH = timedelta(hours=2)
HALF_LIFE = timedelta(days=1)
MIN_SCORE = 0.45
MIN_KIND = 0.3
MIN_TEXT = 0.2
TEXT_ALONE = 0.5
_FULL_TEXT = 0.6  # similarity counted as a full match for the score
_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Candidate:
    """A case the report may duplicate: its id, a score in 0..1 and the reasons."""

    case_id: int
    score: float
    reasons: list[str]


def _box(lon: float, lat: float, radius: float) -> tuple[float, float, float, float]:
    dlat = radius / _METRES_PER_DEGREE * 1.01
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    return lon - dlon, lon + dlon, lat - dlat, lat + dlat


@lru_cache(maxsize=4096)
def _kinds(text: str) -> tuple[tuple[str, float], ...]:
    """The category model's likeliest categories of a text (probabilities above 1%).

    The classifier's own calibrated probabilities, not the sharpened ones suggestions show: the
    agreement's thresholds were chosen on these.
    """
    cold = model.cold_model()
    probs = zip(cold.classes, (float(p) for p in cold.calibrated(text)), strict=True)
    return tuple(sorted(((c, p) for c, p in probs if p >= 0.01), key=lambda item: -item[1]))


def kind_agreement(
    text_a: str, filed_a: str | None, text_b: str, filed_b: str | None, *, wait: bool = True
) -> tuple[float, str | None]:
    """The chance that two reports are the same kind of problem, and the likeliest shared category.

    A filed category counts as certain; otherwise the cold-start model's probabilities of the text
    (with ``wait=False`` and the model not loaded yet, only filed categories count).
    """
    ready = wait or model.cold_ready()
    a = {filed_a: 1.0} if filed_a else (dict(_kinds(text_a)) if ready else {})
    b = {filed_b: 1.0} if filed_b else (dict(_kinds(text_b)) if ready else {})
    shared = {code: a[code] * b[code] for code in set(a) & set(b)}
    if not shared:
        return 0.0, None
    best = max(shared, key=lambda code: (shared[code], code))
    total = sum(shared.values())
    norm = math.sqrt(sum(p * p for p in a.values()) * sum(p * p for p in b.values()))
    return (min(1.0, total / norm) if norm > 0 else 0.0), best


def place_closeness(same_grid: bool, metres: float | None) -> float:
    """1 within ``NEAR_M``, falling to 0 at ``RADIUS_M``; 0.8 for the same grid without points."""
    by_distance = 0.0
    if metres is not None:
        by_distance = 1.0 if metres <= NEAR_M else max(0.0, 1.0 - (metres - NEAR_M) / (RADIUS_M - NEAR_M))
    return max(by_distance, 0.8 if same_grid and metres is None else 0.0, 0.5 if same_grid else 0.0)


def time_closeness(gap: timedelta) -> float:
    """1 within ``FRESH``, halving every ``HALF_LIFE`` after."""
    over = max(0.0, (abs(gap) - FRESH).total_seconds())
    return 0.5 ** (over / HALF_LIFE.total_seconds())


def merge_candidates(db: Database, case_id: int, limit: int = 10, *, wait: bool = True) -> list[Candidate]:
    """The cases the report ``case_id`` may duplicate, best first.

    Args:
        db: the database.
        case_id: the report.
        limit: how many candidates at most.
        wait: load the category model if it is not ready (the window passes False: without the
            model, only filed categories tell the kind of problem).

    Returns:
        Up to ``limit`` candidates by score, then by closeness in time, then by id. Empty when the
        case has neither a grid nor a point.

    Raises:
        NotFoundError: there is no such case.
    """
    with db.read() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFoundError(tr("There is no case {id}.", id=case_id))
        near = []
        if case.grid_code:
            near.append(Case.grid_code == case.grid_code)
        point = (case.lon, case.lat) if case.lon is not None and case.lat is not None else None
        if point is not None:
            west, east, south, north = _box(point[0], point[1], RADIUS_M)
            near.append(and_(Case.lon.between(west, east), Case.lat.between(south, north)))
        if not near:
            return []
        rows = s.execute(
            select(Case.id, Case.text, Case.grid_code, Case.lon, Case.lat, Case.received_at, Case.category_code).where(
                Case.received_at >= case.received_at - WINDOW,
                Case.received_at <= case.received_at + WINDOW,
                Case.id != case.id,
                Case.status.not_in([State.REJECTED.value, State.MERGED.value]),
                or_(*near),
            )
        ).all()
        grams = bigrams(case.text)
        found = []
        for other_id, text, grid, lon, lat, received, category in rows:
            same_grid = bool(case.grid_code) and grid == case.grid_code
            metres = (
                distance_m(point, (lon, lat)) if point is not None and lon is not None and lat is not None else None
            )
            if not same_grid and (metres is None or metres > RADIUS_M):
                continue
            similar = jaccard(grams, bigrams(text))
            kind, shared = kind_agreement(case.text, case.category_code, text, category, wait=wait)
            gap = received - case.received_at
            place = place_closeness(same_grid, metres)
            when = time_closeness(gap)
            score = 0.35 * kind + 0.25 * min(1.0, similar / _FULL_TEXT) + 0.2 * place + 0.2 * when
            if score < MIN_SCORE or (kind < MIN_KIND and similar < TEXT_ALONE):
                continue
            reasons = []
            if same_grid:
                reasons.append(tr("same grid"))
            if metres is not None:
                reasons.append(tr("{m} m away", m=round(metres)))
            reasons.append(tr("{minutes} min apart", minutes=round(abs(gap.total_seconds()) / 60)))
            if shared and kind >= MIN_KIND:
                if category and category == case.category_code:
                    reasons.append(tr("same category {code}", code=category))
                else:
                    reasons.append(tr("same kind of problem {code} {pct}%", code=shared, pct=round(kind * 100)))
            if similar >= MIN_TEXT:
                reasons.append(tr("similar text {pct}%", pct=round(similar * 100)))
            found.append((round(min(score, 1.0), 3), abs(gap.total_seconds()), other_id, reasons))
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [Candidate(other_id, score, reasons) for score, _gap, other_id, reasons in found[:limit]]
