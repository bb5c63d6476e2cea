"""Trainer demo mode in the window: a safe throwaway world that opens fast, a live simulation, scenarios, scores.

The demo database is always a throwaway SQLite file (never the database under test), so these tests
run the same on both databases. Templates are built once per test session with a few dozen cases.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel
from sqlalchemy import func, select

from tests.conftest import article_report
from tests.uihelpers import ModalDriver
from workstation import clock
from workstation.commands.keymap import Keymap
from workstation.demo import launch
from workstation.demo.safety import DemoSafetyError
from workstation.models import Case
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.storage.db import Database
from workstation.ui import training
from workstation.ui.main_window import MainWindow
from workstation.ui.training import TrainingExtension

NOW = datetime(2026, 6, 4, 1, 0, tzinfo=UTC)  # 09:00 in Hefei, a Thursday
FULL, SMALL = 60, 20  # cases of the test worlds (the program's are 20,000 and 600)
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture(autouse=True)
def _real_clock_afterwards():
    yield
    clock.set_source(None)


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> Path:
    """A template cache holding the (test-sized) full world."""
    folder = tmp_path_factory.mktemp("demo-cache")
    launch.build_template(1, FULL, 0, folder, now=NOW)
    return folder


def options(cache: Path) -> dict:
    return {"cases": FULL, "people": 0, "small_cases": SMALL, "small_people": 0, "cache": cache, "now": NOW}


def count_cases(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.fixture
def make_demo(qtbot, tmp_path):
    opened = []

    def make(cache: Path, **kw):
        session = launch.open_session(**options(cache))
        settings = QSettings(str(tmp_path / f"seat{len(opened)}.ini"), QSettings.Format.IniFormat)
        ext = TrainingExtension(session, **kw)
        window = MainWindow(
            session.db, session.actor, Keymap.load(None), settings, seat="demo", demo=True, extensions=[ext]
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitActive(window):
            window.activateWindow()
        window.table.setFocus()
        opened.append((window, session))
        return window, ext

    yield make
    for window, session in opened:
        window.close()
        session.close()


def press(qtbot, window, key, modifiers=Qt.KeyboardModifier.NoModifier, steps=(), inspect=None):
    driver = ModalDriver(steps, inspect)
    QTest.keyClick(window.table, key, modifiers)
    qtbot.waitUntil(driver.done, timeout=8000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return driver


# -- safety and speed -------------------------------------------------------------------------------------


def test_demo_mode_refuses_the_production_database_and_never_touches_it(tmp_path, monkeypatch, cache):
    production = tmp_path / "production" / "workstation.sqlite"
    monkeypatch.setenv("WORKSTATION_DB", str(production))
    for spelling in (str(production), f"sqlite:///{production}"):
        with pytest.raises(DemoSafetyError, match="production database"):
            launch.open_demo(url=spelling, **options(cache))
    with pytest.raises(DemoSafetyError, match="throwaway"):
        launch.open_demo(url="postgresql+psycopg://ws@db.example/grid", **options(cache))
    db, actor = launch.open_demo(**options(cache))  # the entry point, configured production or not
    try:
        assert (actor.name, actor.role) == ("trainer", "trainer")
        assert count_cases(db) == FULL
        assert Path(db.url.removeprefix("sqlite:///")).resolve() != production.resolve()
    finally:
        launch.session_for(db).close()
    assert not production.exists() and not production.parent.exists()
    with pytest.raises(DemoSafetyError):
        TrainingExtension(Database(f"sqlite:///{tmp_path / 'other.sqlite'}"))  # only a demo session's database


def test_a_cached_world_opens_within_three_seconds_as_a_fresh_copy(cache):
    left = Path(tempfile.mkdtemp(prefix="workstation-demo-"))  # a killed session's folder, two days old
    (left / "demo-1.sqlite").write_bytes(b"")
    for path in (left / "demo-1.sqlite", left):
        os.utime(path, (time.time() - 2 * 86400,) * 2)
    template = launch.template_path(1, FULL, 0, cache)
    before = hashlib.sha256(template.read_bytes()).hexdigest()
    started = time.perf_counter()
    first = launch.open_session(**options(cache))
    elapsed = time.perf_counter() - started
    try:
        assert elapsed < 3.0, f"opened in {elapsed:.2f} s"
        assert first.on_full_world and count_cases(first.db) == FULL
        assert not left.exists()  # swept away
        add_report(first.db, article_report())  # the session writes to its own copy ...
        assert count_cases(first.db) == FULL + 1
        second = launch.open_session(**options(cache))
        try:
            assert count_cases(second.db) == FULL  # ... the next session starts from the same world again
            assert second.file != first.file and second.file != template
        finally:
            second.close()
        assert hashlib.sha256(template.read_bytes()).hexdigest() == before
        first.reset()  # reset: a fresh copy in place, through the same database object
        assert count_cases(first.db) == FULL
    finally:
        first.close()
    assert not first.file.exists()


def test_first_run_opens_on_a_small_world_and_builds_the_full_one_in_the_background(
    qtbot, tmp_path, make_demo, monkeypatch
):
    monkeypatch.setattr(training, "BUILD_DELAY_MS", 0)
    empty = tmp_path / "cache"
    window, ext = make_demo(empty, burst=0)
    session = ext.session
    assert not session.on_full_world and count_cases(session.db) == SMALL
    assert launch.template_path(1, SMALL, 0, empty).exists()  # kept for the next run
    assert window.model.rowCount() >= 0 and ext.banner.isVisible()
    seen = []
    qtbot.waitUntil(lambda: ext.builder is not None, timeout=3000)
    ext.builder.progressed.connect(lambda fraction, label: seen.append(fraction))
    qtbot.waitUntil(lambda: ext.progress.isVisible() or session.full_ready, timeout=3000)
    qtbot.waitUntil(lambda: session.full_ready and not ext.progress.isVisible(), timeout=20000)
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    assert "full training world is ready" in window.message.text()
    press(qtbot, window, Qt.Key.Key_F5, CTRL_SHIFT)  # reset: now on the full world
    assert session.on_full_world and count_cases(session.db) == FULL
    assert ext.sim.scenario is None and not ext.sim.clock.paused


# -- the live simulation -------------------------------------------------------------------------------------


def test_pause_resume_and_speed_drive_the_simulated_clock_shown_in_the_demo_banner(qtbot, make_demo, cache):
    window, ext = make_demo(cache)
    banner = window.findChild(QLabel, "demoBanner")
    assert banner is ext.banner and banner.isVisible()
    assert banner.text().startswith("DEMO") and "10×" in banner.text() and "running" in banner.text()
    assert abs((clock.now() - ext.sim.clock.now()).total_seconds()) < 5  # the program runs on simulated time
    assert clock.now() < datetime(2026, 6, 5, tzinfo=UTC)
    press(qtbot, window, Qt.Key.Key_Space, CTRL)
    assert ext.sim.clock.paused and "paused" in banner.text()
    stopped = ext.sim.clock.now()
    qtbot.wait(300)
    assert ext.sim.clock.now() == stopped and banner.text().count("paused") == 1
    press(qtbot, window, Qt.Key.Key_Space, CTRL)
    assert not ext.sim.clock.paused and "running" in banner.text()
    qtbot.waitUntil(lambda: ext.sim.clock.now() > stopped, timeout=2000)
    for expected in (20, 30, 60, 60):
        press(qtbot, window, Qt.Key.Key_Equal, CTRL)
        assert ext.sim.clock.speed == expected and f"{expected}×" in banner.text()
    for expected in (30, 20, 10, 5, 2, 1, 1):
        press(qtbot, window, Qt.Key.Key_Minus, CTRL)
        assert ext.sim.clock.speed == expected
    assert "1×" in banner.text()
    window.close()  # the real clock is back once the window has closed
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_free_play_opens_with_reports_waiting_and_brings_more(qtbot, make_demo, cache):
    window, ext = make_demo(cache, rate=2.0)
    qtbot.waitUntil(lambda: len(ext.sim.answers()) >= 6, timeout=3000)  # waiting when the shift starts
    # the demo clock runs on while the test looks: a seventh report may already be in, so the burst is
    # the first six injected (answers keep the order they were injected in)
    burst = dict(list(ext.sim.answers().items())[:6])
    assert sorted(a.kind for a in burst.values()) == ["file", "file", "file", "file", "merge", "reject"]
    burst_cases = {ext.sim.case_of(k) for k in burst}

    def shown() -> set:
        return {window.model.id_at(row) for row in range(window.model.rowCount())}

    qtbot.waitUntil(lambda: burst_cases <= shown(), timeout=3000)
    # the desk holds the run's reports only: every row is a report the simulator injected
    assert all(ext.sim.key_of(case_id) is not None for case_id in shown())
    ext.sim.clock.advance(600)  # ten simulated minutes at two reports a minute
    qtbot.waitUntil(lambda: len(ext.sim.answers()) > 6 and window.model.rowCount() > 6, timeout=3000)
    assert "New report #" in ext.event_label.text()


def test_inject_events_chosen_by_keyboard(qtbot, make_demo, cache):
    window, ext = make_demo(cache, rate=0.0, burst=0)
    press(qtbot, window, Qt.Key.Key_I, CTRL, [["reject", Qt.Key.Key_Return], [Qt.Key.Key_Return]])
    press(qtbot, window, Qt.Key.Key_I, CTRL, [["category", Qt.Key.Key_Return], ["0707", Qt.Key.Key_Return]])
    answers = list(ext.sim.answers().items())
    assert [(a.reject, a.category) for _, a in answers] == [("vague", None), (None, "0707")]
    for key, _ in answers:
        case_id = ext.sim.case_of(key)
        qtbot.waitUntil(lambda case_id=case_id: window.model.row_of(case_id) is not None, timeout=3000)
    original = answers[1][0]
    press(qtbot, window, Qt.Key.Key_I, CTRL, [["duplicate", Qt.Key.Key_Return], [original, Qt.Key.Key_Return]])
    key, answer = list(ext.sim.answers().items())[-1]
    assert answer.merge == original and "Injected" in window.message.text()


# -- a trainee's run -------------------------------------------------------------------------------------


class Trainee:
    """Plays a scenario by keyboard only, and remembers every key it pressed on each case."""

    def __init__(self, qtbot, window, ext, wrong: dict[str, str]) -> None:
        self.qtbot, self.w, self.ext, self.wrong = qtbot, window, ext, wrong
        self.keys: Counter[int] = Counter()
        self.done: dict[str, str] = {}

    def _key(self, key) -> None:
        current = self.w.current_id()
        if current is not None and self.ext.sim.key_of(current) is not None:
            self.keys[current] += 1
        QTest.keyClick(self.w.table, key)

    def _act(self, key, steps) -> None:
        acting = self.w.current_id()
        self.keys[acting] += 1 + sum(len(s) if isinstance(s, str) else 1 for step in steps for s in step)
        driver = ModalDriver(steps)
        QTest.keyClick(self.w.table, key)
        self.qtbot.waitUntil(driver.done, timeout=8000)
        self.qtbot.waitUntil(lambda: QApplication.activeWindow() is self.w, timeout=2000)

    def waiting(self) -> list[int]:
        sim = self.ext.sim
        out = []
        for row in range(self.w.model.rowCount()):
            case_id = self.w.model.id_at(row)
            key = sim.key_of(case_id) if case_id is not None else None
            if key is not None and key not in self.done:
                out.append(case_id)
        return out

    def select(self, case_id: int) -> None:
        for _ in range(100):
            if self.w.current_id() == case_id:
                return
            target = self.w.model.row_of(case_id)
            row = self.w.table.currentIndex().row()
            self._key(Qt.Key.Key_J if target is not None and target > row else Qt.Key.Key_K)
        raise AssertionError(f"could not reach case {case_id}")

    def handle(self, case_id: int) -> None:
        sim = self.ext.sim
        key = sim.key_of(case_id)
        answer = sim.answers()[key]
        self.select(case_id)
        if answer.reject:
            self._act(Qt.Key.Key_X, [[Qt.Key.Key_Return]])
        elif answer.merge:
            into = sim.case_of(answer.merge)
            self._act(Qt.Key.Key_M, [[str(into), Qt.Key.Key_Return]])
        else:
            code = self.wrong.get(key, answer.category)
            first = self.w.triage.category_items(get_case(self.ext.db, case_id))[0]
            if first.suggested and first.key == code:
                self._act(Qt.Key.Key_F, [[Qt.Key.Key_Return], [Qt.Key.Key_Return]])  # f Enter Enter
            else:
                self._act(Qt.Key.Key_F, [[code, Qt.Key.Key_Return], [Qt.Key.Key_Return]])
        self.done[key] = get_case(self.ext.db, case_id)["status"]


def test_a_trainee_plays_the_rainstorm_at_60x_by_keyboard_and_the_score_shows_what_they_did(
    qtbot, make_demo, cache, tmp_path
):
    window, ext = make_demo(cache)
    press(qtbot, window, Qt.Key.Key_N, CTRL_SHIFT, [["rainstorm", Qt.Key.Key_Return]])
    sim = ext.sim
    assert sim.scenario is not None and sim.scenario.name == "rainstorm" and sim.clock.speed == 20
    assert "暴雨" in ext.banner.text() and "20×" in ext.banner.text()
    assert sim.clock.now().astimezone(ext.tz).strftime("%H:%M") in ("14:00", "14:01")
    press(qtbot, window, Qt.Key.Key_Equal, CTRL)
    press(qtbot, window, Qt.Key.Key_Equal, CTRL)
    assert sim.clock.speed == 60 and "60×" in ext.banner.text()

    scenario = sim.scenario
    trainee = Trainee(qtbot, window, ext, wrong={"r6": "0101"})  # one report filed under a wrong category
    last = max(r.offset for r in scenario.reports)
    checkpoint = 0.0
    while len(trainee.done) < len(scenario.reports):
        checkpoint = min(checkpoint + 600, last)
        if sim.elapsed < checkpoint:
            sim.clock.advance(checkpoint - sim.elapsed)  # the trainer skips ahead
        due = [r.key for r in scenario.reports if r.offset <= checkpoint]
        # generous waits: at the end of a full suite on a loaded 2-core machine the 0.3 s poll, the read
        # and the apply once took over 3 s (the live path's own speed is measured by bench/seats.py)
        qtbot.waitUntil(lambda due=due: all(sim.case_of(k) is not None for k in due), timeout=10_000)
        qtbot.waitUntil(
            lambda due=due: all(window.model.row_of(sim.case_of(k)) is not None or k in trainee.done for k in due),
            timeout=10_000,
        )
        while waiting := trainee.waiting():
            trainee.handle(waiting[0])
    answers = scenario.answers()
    assert set(trainee.done) == set(answers)
    sim.clock.advance(scenario.duration)  # the hour is over: the clock stops by itself
    qtbot.waitUntil(lambda: sim.clock.paused, timeout=3000)
    assert "over" in ext.banner.text() and "is over" in window.message.text()

    seen = {}

    def inspect(dialog):
        seen["score"] = dialog.score
        seen["text"] = dialog.summary_text()
        seen["json"] = dialog.save("json", tmp_path / "score.json")
        seen["csv"] = dialog.save("csv", tmp_path / "score.csv")

    press(qtbot, window, Qt.Key.Key_R, CTRL_SHIFT, [[Qt.Key.Key_Escape]], inspect)
    score = seen["score"]

    cases = {key: get_case(ext.db, sim.case_of(key), history=False) for key in answers}
    to_file = [k for k, a in answers.items() if a.category]
    assert score["items"] == len(answers) == 17 and score["acted_on"] == 17
    dispatched = [k for k in to_file if cases[k]["status"] not in ("reported", "filed")]
    assert score["dispatch_seconds"]["count"] == len(dispatched) == len(to_file) == 12
    assert 0 < score["dispatch_seconds"]["median"] <= score["dispatch_seconds"]["p90"]
    right_category = [k for k in to_file if cases[k]["category_code"] == answers[k].category]
    assert len(right_category) == 11  # all but r6
    assert score["category"] == {"expected": 12, "correct": 11, "accuracy": round(11 / 12, 3)}
    right_unit = [k for k in to_file if cases[k]["unit_code"] == answers[k].unit]
    assert (score["unit"]["expected"], score["unit"]["correct"]) == (12, len(right_unit))
    assert score["reject"] == {"expected": 1, "correct": 1, "wrong": 0}
    assert score["merge"] == {"expected": 4, "correct": 4}
    assert all(cases[k]["status"] == "merged" for k, a in answers.items() if a.merge)
    keys = {item["key"]: item["keystrokes"] for item in score["per_item"]}
    assert keys == {key: trainee.keys[sim.case_of(key)] for key in answers}  # every key pressed, case by case
    assert score["keystrokes"]["total"] == sum(trainee.keys.values()) > 3 * 17
    assert isinstance(score["deadlines_missed"], int)
    assert "11 of 12 right" in seen["text"]
    assert json.loads(seen["json"].read_text(encoding="utf-8")) == score
    rows = list(csv.reader(seen["csv"].read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["measure", "value"] and len([r for r in rows if r and r[0] in answers]) == 17
