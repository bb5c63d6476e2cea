"""Drawing the district's grids with QPainter: polygons from the territory, coloured by a measure.

Used by the map view and by the monthly report's PDF, so both show the same map. No tiles and no
network: the polygons are the territory's own (``grids.polygon``, lon/lat pairs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from sqlalchemy import select

from workstation.models import Grid
from workstation.storage.db import Database

# Light to dark: a sequential scale that reads in greyscale print too.
SCALE = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]


@dataclass(frozen=True)
class GridShape:
    """One grid's outline in lon/lat."""

    code: str
    name: str
    points: tuple[tuple[float, float], ...]


def area_km2(shape: GridShape) -> float:
    """A grid's area in km² (shoelace formula on a local equirectangular projection)."""
    pts = shape.points
    if len(pts) < 3:
        return 0.0
    lat0 = math.radians(sum(p[1] for p in pts) / len(pts))
    kx, ky = 111.32 * math.cos(lat0), 110.57
    xy = [(lon * kx, lat * ky) for lon, lat in pts]
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(xy, xy[1:] + xy[:1], strict=True))
    return abs(twice) / 2


def load_shapes(db: Database) -> list[GridShape]:
    """Every grid's polygon from the territory."""
    with db.read() as s:
        rows = s.execute(select(Grid.code, Grid.name, Grid.polygon).order_by(Grid.code)).all()
    return [GridShape(code, name, tuple((float(p[0]), float(p[1])) for p in poly or [])) for code, name, poly in rows]


class Projection:
    """Lon/lat to a rectangle, keeping the aspect (lon scaled by the cosine of the latitude)."""

    def __init__(self, shapes: Sequence[GridShape], rect: QRectF) -> None:
        lons = [p[0] for g in shapes for p in g.points] or [0.0, 1.0]
        lats = [p[1] for g in shapes for p in g.points] or [0.0, 1.0]
        self.lon0, self.lat1 = min(lons), max(lats)
        self.kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
        width = max((max(lons) - self.lon0) * self.kx, 1e-9)
        height = max(self.lat1 - min(lats), 1e-9)
        self.scale = min(rect.width() / width, rect.height() / height)
        self.ox = rect.left() + (rect.width() - width * self.scale) / 2
        self.oy = rect.top() + (rect.height() - height * self.scale) / 2

    def point(self, lon: float, lat: float) -> QPointF:
        """A lon/lat point on the rectangle."""
        return QPointF(self.ox + (lon - self.lon0) * self.kx * self.scale, self.oy + (self.lat1 - lat) * self.scale)

    def polygon(self, shape: GridShape) -> QPolygonF:
        """A grid's outline on the rectangle."""
        return QPolygonF([self.point(lon, lat) for lon, lat in shape.points])


def colour(value: float, top: float) -> QColor:
    """The scale's colour for a value between 0 and ``top``."""
    if top <= 0 or value <= 0:
        return QColor(SCALE[0])
    return QColor(SCALE[min(len(SCALE) - 1, 1 + int((len(SCALE) - 2) * value / top))])


def paint_map(
    painter: QPainter,
    rect: QRectF,
    shapes: Sequence[GridShape],
    values: Mapping[str, float],
    points: Sequence[tuple[float, float]] = (),
    selected: str | None = None,
) -> Projection:
    """Draw the grids coloured by ``values`` (grid code → measure) and the case points on top."""
    proj = Projection(shapes, rect)
    top = max(values.values(), default=0.0)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    outline = QPen(QColor("#555555"))
    outline.setWidthF(0.6)
    for shape in shapes:
        painter.setPen(outline)
        painter.setBrush(QBrush(colour(values.get(shape.code, 0.0), top)))
        painter.drawPolygon(proj.polygon(shape))
    if selected:
        for shape in shapes:
            if shape.code == selected:
                pen = QPen(QColor("#d62728"))
                pen.setWidthF(3)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPolygon(proj.polygon(shape))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#e6550d"))
    for lon, lat in points:
        painter.drawEllipse(proj.point(lon, lat), 2.5, 2.5)
    painter.restore()
    return proj
