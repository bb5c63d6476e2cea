"""Reference data: catalogue, units, territory, care groups, working calendar, and bookkeeping."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base


class Meta(Base):
    """Key-value bookkeeping (for example the fingerprint of each loaded reference file)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(4000))


class Category(Base):
    """A minor category of the catalogue; ``unit`` is a unit code or GRID/STREET/COMMUNITY."""

    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    major_code: Mapped[str] = mapped_column(String(4))
    major_name: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[list[str]]
    unit: Mapped[str] = mapped_column(String(40))
    time_limit: Mapped[str] = mapped_column(String(10))
    urgency: Mapped[str] = mapped_column(String(10))
    closure_standard: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    catalogue_version: Mapped[str] = mapped_column(String(40), default="")


class Street(Base):
    """A street, town, large community or area of the district."""

    __tablename__ = "streets"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    office: Mapped[str] = mapped_column(String(80))


class Community(Base):
    """A community (or village) with its station."""

    __tablename__ = "communities"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("streets.code"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    station: Mapped[str] = mapped_column(String(80))
    roads: Mapped[list[str]]
    landmarks: Mapped[list[str]]


class Grid(Base):
    """A base grid: its boundary polygon (lon, lat pairs) and bounding box for quick look-ups."""

    __tablename__ = "grids"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("communities.code"), index=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    polygon: Mapped[list[Any]]
    min_lon: Mapped[float]
    min_lat: Mapped[float]
    max_lon: Mapped[float]
    max_lat: Mapped[float]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class GridStaff(Base):
    """A member of a grid's team: leader, member or part-time member."""

    __tablename__ = "grid_staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(30))


class Unit(Base):
    """A concrete unit a case can be dispatched to.

    Departments and enterprises come from the unit list; every grid, street and community has its
    own team, office and station (codes ``GRID-<grid>``, ``STREET-<street>``, ``COMMUNITY-<community>``).
    """

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    joint_enforcement: Mapped[str | None] = mapped_column(String(4))
    street_code: Mapped[str | None] = mapped_column(ForeignKey("streets.code"))
    community_code: Mapped[str | None] = mapped_column(ForeignKey("communities.code"))
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"))
    note: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (Index("ix_units_kind", "kind"),)


class CareGroup(Base):
    """One of the nine priority population groups and its visit interval."""

    __tablename__ = "care_groups"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    english: Mapped[str] = mapped_column(String(100))
    interval_days: Mapped[int]
    window_open_days: Mapped[int]
    note: Mapped[str] = mapped_column(String(300), default="")


class CalendarYear(Base):
    """The holidays and make-up working days of one year, as the administrator last set them."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    holidays: Mapped[list[str]]
    workdays: Mapped[list[str]]
    source: Mapped[str] = mapped_column(String(40), default="resources")
