"""Which cases a report may duplicate: near in time and place, with similar text.

A candidate was received within ``WINDOW`` of the case, is neither rejected nor merged, lies in the
same grid or within ``RADIUS_M`` metres (when both have a point), and has similar text (or was filed
under the same category). The database narrows by received time and by grid or bounding box, so
a call reads a few days of one place whatever the size of the case table; the exact distance and the
text similarity are computed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select

from workstation.assist.text import bigrams, jaccard
from workstation.domain.geo import distance_m
from workstation.domain.lifecycle import State
from workstation.i18n import tr
from workstation.models import Case
from workstation.services.errors import NotFoundError
from workstation.storage.db import Database

WINDOW = timedelta(days=7)
RADIUS_M = 200.0
MIN_TEXT = 0.2
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


def merge_candidates(db: Database, case_id: int, limit: int = 10) -> list[Candidate]:
    """The cases the report ``case_id`` may duplicate, best first.

    Args:
        db: the database.
        case_id: the report.
        limit: how many candidates at most.

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
            same_category = bool(category) and category == case.category_code
            if similar < MIN_TEXT and not same_category:
                continue
            gap = abs((received - case.received_at).total_seconds())
            place = max(0.8 if same_grid else 0.0, 1.0 - metres / (2 * RADIUS_M) if metres is not None else 0.0)
            when = max(0.0, 1.0 - gap / WINDOW.total_seconds())
            score = 0.6 * min(1.0, similar / _FULL_TEXT) + 0.25 * place + 0.15 * when
            reasons = []
            if same_grid:
                reasons.append(tr("same grid"))
            if metres is not None:
                reasons.append(tr("{m} m away", m=round(metres)))
            if similar >= MIN_TEXT:
                reasons.append(tr("similar text {pct}%", pct=round(similar * 100)))
            if same_category:
                score += 0.1
                reasons.append(tr("same category {code}", code=category))
            found.append((round(min(score, 1.0), 3), gap, other_id, reasons))
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [Candidate(other_id, score, reasons) for score, _gap, other_id, reasons in found[:limit]]
