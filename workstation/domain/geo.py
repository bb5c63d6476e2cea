"""Plane geometry on (lon, lat) points: point-in-polygon and distances in metres."""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = tuple[float, float]

EARTH_RADIUS_M = 6_371_000.0


def contains(polygon: Sequence[Sequence[float]], lon: float, lat: float) -> bool:
    """Whether the point lies inside the polygon (even-odd rule; the ring is not repeated)."""
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i][0], polygon[i][1]
        xj, yj = polygon[j][0], polygon[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance between two (lon, lat) points, in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def valid_point(lon: float, lat: float) -> bool:
    """Whether the numbers are a real longitude and latitude."""
    return -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0 and not (math.isnan(lon) or math.isnan(lat))
