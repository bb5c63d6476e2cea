"""Training runs of demo mode: one row per run, one per scripted or generated report of the run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workstation.models.base import Base


class DemoRun(Base):
    """One trainee's run of a scenario (or of random mode); times are simulated time."""

    __tablename__ = "demo_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    scenario: Mapped[str] = mapped_column(String(80))
    trainee: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    speed: Mapped[float] = mapped_column(default=1.0)
    seed: Mapped[int] = mapped_column(default=1)


class DemoRunItem(Base):
    """One report injected during a run: its answer key, its case, what became of it, and keystrokes."""

    __tablename__ = "demo_run_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("demo_runs.id"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    arrival_at: Mapped[datetime]
    expected: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str | None] = mapped_column(String(20))
    category_code: Mapped[str | None] = mapped_column(String(8))
    unit_code: Mapped[str | None] = mapped_column(String(40))
    merged_into_key: Mapped[str | None] = mapped_column(String(60))
    first_action_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    deadline_missed: Mapped[bool] = mapped_column(default=False)
    keystrokes: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("run_id", "key"),)
