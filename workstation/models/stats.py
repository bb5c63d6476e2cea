"""Summaries for supervision and evaluation, kept in the transaction of every change to a case.

``stat_days`` holds, per local day and per dimension (the whole centre, a unit, a grid, a community,
a street, a category, a channel, a reporter), counters that ``services.stats`` keeps equal to what the
cases and their history say. ``stat_open`` counts the running cases by the day their deadline falls
on, so "overdue now" is a sum over past days plus today's few, never a scan of the cases.
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base

COUNTERS = (
    "reported",
    "filed",
    "rejected",
    "dispatched",
    "handled",
    "handled_on_time",
    "closed",
    "closed_on_time",
    "closed_of_filed",
    "returned",
    "reworked",
    "extensions",
    "suspended",
    "reopened",
    "verified",
    "verified_on_time",
)


class StatDay(Base):
    """Counters of one local day for one key of one dimension (``dim`` ``all`` has the key '')."""

    __tablename__ = "stat_days"
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    reported: Mapped[int] = mapped_column(default=0)
    filed: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    dispatched: Mapped[int] = mapped_column(default=0)
    handled: Mapped[int] = mapped_column(default=0)
    handled_on_time: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    closed_on_time: Mapped[int] = mapped_column(default=0)
    closed_of_filed: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)
    reworked: Mapped[int] = mapped_column(default=0)
    extensions: Mapped[int] = mapped_column(default=0)
    suspended: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[int] = mapped_column(default=0)
    verified: Mapped[int] = mapped_column(default=0)
    verified_on_time: Mapped[int] = mapped_column(default=0)


class StatOpen(Base):
    """How many running cases of one key of one dimension have their deadline on one local day."""

    __tablename__ = "stat_open"
    dim: Mapped[str] = mapped_column(String(10), primary_key=True)
    due: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
