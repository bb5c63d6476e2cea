"""Trainer demo mode in the window: a living made-up district, its simulated clock, scenarios and scores.

:class:`TrainingExtension` (scope ``demo``) drives a ``demo.sim.Simulation`` from a timer: every tick
the simulation does what is due at the simulated time (new reports arrive, units answer, grid
members verify) and the queue shows it at once. The trainer pauses and resumes the clock, runs it
from 1× to 60×, injects a chosen event, starts a scripted scenario on a fresh copy of the training
world, resets the world, and shows the score of the run. The DEMO banner says, always, the simulated
time, the speed and whether the clock runs. Keys pressed while a case of the run is selected (in the
queue and in its pickers) are counted for the score.

On the first run the window opens on a small world while the full one is built in the background
in a process of its own (a progress bar in the status bar); the next reset or scenario uses it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QWidget
from sqlalchemy.exc import SQLAlchemyError

from workstation import clock as program_clock
from workstation.demo.launch import DemoSession, session_for
from workstation.demo.scenarios import Scenario, list_scenarios
from workstation.demo.sim import SimClock, SimEvent, Simulation
from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.services.calendar import load_calendar
from workstation.services.errors import WorkstationError
from workstation.services.feed import FeedReader
from workstation.storage.db import Database
from workstation.ui.pickers import Picker, PickItem
from workstation.ui.training_build import TemplateBuild
from workstation.ui.training_inject import choose_event
from workstation.ui.training_score import ScoreDialog

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

log = logging.getLogger(__name__)

SPEEDS = (1, 2, 5, 10, 20, 30, 60)
"""The speeds Faster and Slower step through (simulated seconds per real second)."""
TICK_MS = 250
FREE_SPEED = 10
FREE_RATE = 0.5
"""Free play: new reports per simulated minute."""
BURST = ("report", "report", "reject", "report", "duplicate", "report")
"""Free play opens with these reports waiting, received in the quarter of an hour before the start."""
BUILD_DELAY_MS = 1000
"""The first run starts building the full world this long after the window opens (it shares the CPU)."""
HINTS = (
    ("case.file", N_("file and dispatch")),
    ("case.reject", N_("reject")),
    ("case.merge", N_("merge")),
    ("queue.next", N_("next")),
    ("demo.pause", N_("pause")),
    ("demo.faster", N_("faster")),
    ("demo.inject", N_("inject")),
    ("demo.scenario", N_("scenario")),
    ("demo.score", N_("score")),
    ("help.cheatsheet", N_("every key")),
)
"""The keys the DEMO banner shows under the time: what a new operator needs in the first minutes."""
MODIFIERS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr}


def next_speed(current: float, step: int) -> float:
    """The next speed up (``step`` 1) or down (-1) from ``current``, within 1× to 60×."""
    if step > 0:
        return float(next((s for s in SPEEDS if s > current + 1e-9), SPEEDS[-1]))
    return float(next((s for s in reversed(SPEEDS) if s < current - 1e-9), SPEEDS[0]))


def speed_text(speed: float) -> str:
    """``10×`` (or ``2.5×``)."""
    return f"{speed:g}×"


def scenario_start(scenario: Scenario, world_end: datetime, session_db: Database) -> datetime:
    """Where a scenario's clock starts: its time of day on the world's last day, or the next working day."""
    cal = load_calendar(session_db)
    tz = cal.tz
    if scenario.start is None:
        return world_end
    day = world_end.astimezone(tz).date()
    for _ in range(15):
        at = datetime.combine(day, scenario.start, tzinfo=tz)
        if at >= world_end and cal.is_working_day(day):
            return at.astimezone(UTC)
        day += timedelta(days=1)
    return world_end


class TrainingExtension(QObject):
    """The trainer's demo mode on a main window: commands ``demo.*``, the live simulation, the banner.

    Args:
        session: the demo session (or its database, as ``open_demo`` returned it).
        speed: the free-play speed to start at.
        rate: free play, new reports per simulated minute.
        tick_ms: how often the simulation runs, in real milliseconds.
        build: build the full world in the background when it is missing.
        burst: free play opens with this many reports waiting (see :data:`BURST`).
    """

    scope = "demo"

    def __init__(
        self,
        session: DemoSession | Database,
        *,
        speed: float = FREE_SPEED,
        rate: float = FREE_RATE,
        tick_ms: int = TICK_MS,
        build: bool = True,
        burst: int = len(BURST),
    ) -> None:
        super().__init__()
        self.session = session if isinstance(session, DemoSession) else session_for(session)
        self.db = self.session.db
        self.free_speed, self.rate, self.build, self.burst = speed, rate, build, burst
        self._burst_due = False
        self.w: MainWindow | None = None
        self.events: list[SimEvent] = []
        self.finished = False
        self.closed = False
        self.keystrokes: dict[int, int] = {}
        self._quiet = 0
        self._chain: tuple[int, int, int] | None = None
        self._demo_keys: set[str] | None = None
        self._acting: int | None = None
        self._hint: str | None = None
        self.builder: TemplateBuild | None = None
        self.tz = load_calendar(self.db).tz
        self.sim = self._new_sim(None)
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)

    # -- the window ----------------------------------------------------------------------------------

    @property
    def window(self) -> MainWindow:
        """The window this extension is installed on."""
        assert self.w is not None, "install() first"
        return self.w

    def install(self, window: MainWindow) -> dict[str, Callable[[], None]]:
        """Add the banner's live text, the status bar's event line and progress bar; start the simulation."""
        self.w = window
        self.setParent(window)
        banner = window.findChild(QLabel, "demoBanner")
        if banner is None:
            banner = QLabel()
            banner.setObjectName("demoBanner")
            window.statusBar().addPermanentWidget(banner)
        self.banner: QLabel = banner
        banner.setTextFormat(Qt.TextFormat.RichText)
        self.event_label = QLabel()
        self.event_label.setObjectName("demoEvent")
        self.progress = QProgressBar()
        self.progress.setObjectName("demoProgress")
        self.progress.setRange(0, 100)
        self.progress.setMinimumWidth(280)
        self.progress.setMaximumWidth(340)
        self.progress.setFormat(tr("building the training world… %p%"))
        self.progress.setVisible(False)
        bar = window.statusBar()
        bar.addPermanentWidget(self.event_label)
        bar.addPermanentWidget(self.progress)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.timer.start()
        QTimer.singleShot(0, self.tick)  # the first reports as soon as the window is up
        if self.build and not self.session.full_ready:
            QTimer.singleShot(BUILD_DELAY_MS, self.start_build)  # once the window is on screen
        self.update_banner()
        self.welcome()
        return {
            "demo.pause": self.toggle_pause,
            "demo.faster": lambda: self.change_speed(1),
            "demo.slower": lambda: self.change_speed(-1),
            "demo.inject": self.inject,
            "demo.scenario": self.choose_scenario,
            "demo.score": self.show_score,
            "demo.reset": self.reset,
        }

    def welcome(self) -> None:
        """The first words in the status bar: the keys that matter in the first minutes."""
        self.window.notify(
            tr(
                "Welcome to the training world: on the selected report, f files and dispatches it, x rejects it, "
                "m merges it, j/k move; Ctrl+Shift+N starts a scenario; ? shows every key."
            )
        )

    def banner_text(self) -> str:
        """``DEMO … · 06-04 09:42 · 10× · ▶ running · free play``."""
        sim = self.sim
        local = sim.clock.now().astimezone(self.tz)
        state = "‖ " + tr("paused") if sim.clock.paused else "▶ " + tr("running")
        if sim.scenario is not None and sim.done:
            what = tr("scenario {title}: over", title=sim.scenario.title)
        elif sim.scenario is not None:
            arrived = len(sim.answers())
            what = tr(
                "scenario {title}: {n} of {total} reports",
                title=sim.scenario.title,
                n=min(arrived, len(sim.scenario.reports)),
                total=len(sim.scenario.reports),
            )
        else:
            what = tr("free play")
        return " · ".join(
            [
                tr("DEMO — training world, nothing here is real"),
                local.strftime("%m-%d %H:%M:%S"),
                speed_text(sim.clock.speed),
                state,
                what,
            ]
        )

    def key_hint(self) -> str:
        """The keys of the first minutes, as the keymap binds them: ``f file and dispatch · x reject · …``."""
        parts = []
        for command, what in HINTS:
            keys = self.window.keymap.keys_for(command, "queue")
            if keys:
                parts.append(f"{keys[0]} {tr(what)}")
        return " · ".join(parts)

    def update_banner(self) -> None:
        """Show the simulated time, the speed and the state in the DEMO banner, the first keys below."""
        if self.w is None:
            return
        if self._hint is None:
            self._hint = html.escape(self.key_hint())
        self.banner.setText(
            f"{html.escape(self.banner_text())}<br><span style='font-size:12px; font-weight:normal'>{self._hint}</span>"
        )

    # -- the simulation ------------------------------------------------------------------------------

    def _new_sim(self, scenario: Scenario | None) -> Simulation:
        end = self.session.world_now()
        if scenario is not None:
            clock = SimClock(scenario_start(scenario, end, self.db), scenario.speed)
        else:
            clock = SimClock(end, self.free_speed)
        sim = Simulation(
            self.db,
            scenario,
            seed=self.session.seed,
            clock=clock,
            trainee=self.session.actor.name,
            rate=self.rate,
        )
        sim.start()  # installs the simulated clock: deadlines and histories follow it
        self._burst_due = scenario is None and self.burst > 0
        return sim

    def _open_with_a_burst(self) -> list[SimEvent]:
        """Free play: a few reports already waiting, among them one to reject and one duplicate."""
        self._burst_due = False
        start = self.sim.origin
        events: list[SimEvent] = []
        kinds = [BURST[i % len(BURST)] for i in range(self.burst)]
        for n, kind in enumerate(kinds):
            at = start - timedelta(seconds=(len(kinds) - n) * 150)
            if kind == "duplicate":
                first = next((e.key for e in events if e.kind == "report" and e.key), None)
                event: dict[str, Any] = {"kind": "duplicate", "of": first} if first else {"kind": "report"}
            else:
                event = {"kind": kind}
            events += self.sim.inject(event, now=at)
        return events

    def _end_sim(self) -> None:
        self.flush_keystrokes()
        try:
            self.sim.finish()
        except (WorkstationError, SQLAlchemyError):
            log.exception("finishing the training run failed")
            program_clock.set_source(None)

    def tick(self) -> list[SimEvent]:
        """Do what is due at the simulated time, and show it."""
        if self.w is None or self.closed:
            return []
        events: list[SimEvent] = []
        opening = self._burst_due
        if not self.sim.clock.paused:
            try:
                if opening:
                    events += self._open_with_a_burst()
                events += self.sim.tick()
            except WorkstationError as exc:
                self.window.notify(exc.message, error=True)
            except SQLAlchemyError:
                log.exception("a simulation step failed")
        self.flush_keystrokes()
        self._no_idle_lock()
        if events:
            self.show_events(events)
            if opening:
                self.window.select_row(0)  # the shift starts at the top of the queue
                self.welcome()
        if self.sim.done and not self.finished:
            self.finished = True
            self.sim.clock.pause()
            self.window.notify(
                tr(
                    "Scenario {title} is over: Ctrl+Shift+R shows your score; Ctrl+Space lets the units carry on.",
                    title=self.sim.scenario.title if self.sim.scenario else "",
                )
            )
        self.update_banner()
        return events

    def _no_idle_lock(self) -> None:
        """Demo mode has no idle lock: nobody in training typed the trainer's password (Ctrl+L still locks)."""
        live = getattr(self.window, "live", None)
        if live is not None and live.idle_ms:
            live.idle_ms = 0
            live.idle_timer.stop()

    def show_events(self, events: list[SimEvent]) -> None:
        """Show what the simulation did, and the queue as it is now."""
        self.events.extend(events)
        last = events[-1]
        when = last.at.astimezone(self.tz).strftime("%H:%M")
        text = tr("New report #{id}.", id=last.case_id) if last.kind == "report" else last.text
        self.event_label.setText(f"{when} · {text}")
        live = getattr(self.window, "live", None)
        if live is not None:
            live.poll()

    def toggle_pause(self) -> None:
        """``Ctrl+Space``: stop or restart simulated time."""
        clock = self.sim.clock
        if clock.paused:
            clock.resume()
            self.window.notify(tr("Simulation running at {speed}.", speed=speed_text(clock.speed)))
        else:
            clock.pause()
            self.window.notify(tr("Simulation paused: nothing arrives and no deadline moves."))
        self.update_banner()

    def change_speed(self, step: int) -> None:
        """``Ctrl+=`` / ``Ctrl+-``: step the speed through 1×, 2×, 5×, 10×, 20×, 30×, 60×."""
        speed = next_speed(self.sim.clock.speed, step)
        self.sim.clock.set_speed(speed)
        self.window.notify(tr("Simulated time runs at {speed}.", speed=speed_text(speed)))
        self.update_banner()

    # -- scenarios and reset -------------------------------------------------------------------------

    def _pick(self, title: str, items: list[PickItem], **kw: Any) -> Any:
        picker = Picker(title, items, self.window, **kw)
        self.window.current_picker = picker
        self._quiet += 1
        try:
            return picker.chosen if picker.exec() else None
        finally:
            self._quiet -= 1
            self.window.current_picker = None
            self.window.restore_focus()

    def choose_scenario(self) -> None:
        """``Ctrl+Shift+N``: pick a scenario; it starts on a fresh copy of the training world."""
        items = []
        for sc in list_scenarios():
            detail = tr(
                "{n} reports · {m} min · {speed} — {description}",
                n=len(sc.reports),
                m=round(sc.duration / 60),
                speed=speed_text(sc.speed),
                description=sc.description,
            )
            items.append(PickItem(sc, sc.title, detail, (sc.name, sc.title)))
        items.append(
            PickItem("free", tr("Free play"), tr("random reports, no script; the world as it is"), ("free", "random"))
        )
        chosen = self._pick(tr("Start a scenario"), items, hint=tr("Type to find a scenario; Enter starts it"))
        if chosen is None:
            return
        self.start(None if chosen == "free" else chosen)

    def start(self, scenario: Scenario | None) -> None:
        """Reset the world to the template and run ``scenario`` (None: free play) at its own speed."""
        self._end_sim()
        try:
            self.session.reset()
        except OSError as exc:  # the template went missing: the run starts on the world as it is
            log.exception("resetting the training world failed")
            self.window.notify(tr("The training world could not be reset: {reason}", reason=exc), error=True)
        self.finished = False
        self.sim = self._new_sim(scenario)
        self._after_reset()
        world = tr("the full world") if self.session.on_full_world else tr("the small first-run world")
        if scenario is not None:
            self.window.notify(
                tr(
                    "Scenario {title} started on {world}: {n} reports in {m} min at {speed}. "
                    "Ctrl+Space pauses; Ctrl+Shift+R shows your score.",
                    title=scenario.title,
                    world=world,
                    n=len(scenario.reports),
                    m=round(scenario.duration / 60),
                    speed=speed_text(scenario.speed),
                )
            )
        else:
            self.window.notify(tr("Free play on a fresh copy of {world}.", world=world))
        self.update_banner()

    def reset(self) -> None:
        """``Ctrl+Shift+F5``: a fresh copy of the training world; free play from its start."""
        self.start(None)

    def _after_reset(self) -> None:
        w = self.window
        w.triage.last_acted = None
        w.keystrokes.clear()
        self.keystrokes.clear()
        self.events.clear()
        self.event_label.setText("")
        live = getattr(w, "live", None)
        if live is not None:
            live.held = None
            live.holders.clear()
            live.feed = FeedReader(self.db)
            live.feed.start_at_end()
        w.apply_filter(w.filter)
        w.show_current()

    # -- injecting events ------------------------------------------------------------------------------

    def inject(self) -> None:
        """``Ctrl+I``: inject a chosen event now."""
        event = choose_event(self._pick, self.db, self.sim, self.window.notify)
        if event is None:
            return
        try:
            events = self.sim.inject(event)
        except WorkstationError as exc:
            self.window.notify(exc.message, error=True)
            return
        if events:
            self.show_events(events)
            self.window.notify(tr("Injected: {what}", what=events[-1].text))
        else:
            self.window.notify(tr("Injected: it happens as soon as the case allows it."))
        self.update_banner()

    # -- score -----------------------------------------------------------------------------------------

    def score(self) -> dict[str, Any]:
        """The score of the run so far (keystrokes counted up to now)."""
        from workstation.demo.scoring import score_run

        self.flush_keystrokes()
        return score_run(self.db, self.sim.start())

    def show_score(self) -> None:
        """``Ctrl+Shift+R``: the score of this run; simulated time stands still while it shows."""
        was_running = not self.sim.clock.paused
        self.sim.clock.pause()
        self.update_banner()
        result = self.score()
        name = self.sim.scenario.title if self.sim.scenario else tr("free play")
        started = datetime.fromisoformat(result["run"]["started"]).astimezone(self.tz)
        title = tr(
            "{name} · trainee {trainee} · from {start} to {now} simulated time",
            name=name,
            trainee=result["run"]["trainee"],
            start=started.strftime("%m-%d %H:%M"),
            now=self.sim.clock.now().astimezone(self.tz).strftime("%H:%M"),
        )
        dialog = ScoreDialog(result, title, self.window)
        self._quiet += 1
        try:
            dialog.exec()
        finally:
            self._quiet -= 1
            if was_running and not self.closed:
                self.sim.clock.resume()
            self.update_banner()
            self.window.restore_focus()

    # -- keystrokes --------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Count key presses on the queue and its pickers while a case of the run is selected; finish on close."""
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and isinstance(watched, QWidget) and isinstance(event, QKeyEvent):
            self._count(watched, event)
        elif kind == QEvent.Type.Close and watched is self.w:
            self.finish()
        return False

    def _count(self, watched: QWidget, event: QKeyEvent) -> None:
        # A key press reaches the focused widget first, then each parent in turn: count the first only.
        key, mods = event.key(), event.modifiers().value
        me = shiboken6.getCppPointer(watched)[0]
        parent = watched.parentWidget()
        chain = self._chain
        self._chain = (shiboken6.getCppPointer(parent)[0] if parent is not None else 0, key, mods)
        if chain is not None and chain == (me, key, mods):
            return
        w = self.w
        if w is None or self._quiet or self.closed or Qt.Key(key) in MODIFIERS:
            return
        top = watched.window()
        in_picker = w.current_picker is not None and top is w.current_picker
        if (top is not w and not in_picker) or self._is_demo_key(event):
            return
        if in_picker:  # the case the picker acts on, even when a refresh has moved the selection since
            case_id = self._acting
        else:
            case_id = self._acting = w.current_id()
        if case_id is not None and self.sim.key_of(case_id) is not None:
            self.keystrokes[case_id] = self.keystrokes.get(case_id, 0) + 1

    def _is_demo_key(self, event: QKeyEvent) -> bool:
        if self._demo_keys is None:
            actions = getattr(self.w, "actions_by_id", {})
            self._demo_keys = {
                seq.toString()
                for command, action in actions.items()
                if command.startswith("demo.")
                for seq in action.shortcuts()
            }
        return QKeySequence(event.keyCombination()).toString() in self._demo_keys

    def flush_keystrokes(self) -> None:
        """Hand the keys counted since the last flush to the run."""
        pending, self.keystrokes = self.keystrokes, {}
        for case_id, count in pending.items():
            try:
                self.sim.count_keystrokes(case_id, count)
            except SQLAlchemyError:
                log.exception("keystrokes of case %s were not stored", case_id)

    # -- the full world, built in the background ------------------------------------------------------------

    def start_build(self) -> None:
        """Build the full world's template in a background thread, with a progress bar."""
        if self.builder is not None or self.closed or self.session.full_ready:
            return
        self.builder = TemplateBuild(self.session, self)
        self.builder.progressed.connect(self._build_progress)
        self.builder.built.connect(self._build_done)
        self.builder.failed.connect(self._build_failed)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.builder.start()

    def _build_progress(self, fraction: float, _label: str) -> None:
        self.progress.setValue(round(fraction * 100))

    def _build_done(self, _path: str) -> None:
        self.progress.setVisible(False)
        self.window.notify(
            tr(
                "The full training world is ready ({cases} cases): Ctrl+Shift+F5 starts on it, as does every scenario.",
                cases=self.session.cases,
            )
        )

    def _build_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.window.notify(
            tr("The full training world could not be built ({reason}); the small one stays.", reason=message),
            error=True,
        )

    @property
    def building(self) -> bool:
        """Whether the full world is being built."""
        return self.builder is not None and self.builder.isRunning()

    # -- the end -------------------------------------------------------------------------------------------

    def finish(self) -> None:
        """Stop the simulation, record the run, and put the real clock back (the window closes)."""
        if self.closed:
            return
        self.closed = True
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._end_sim()
        if self.builder is not None:
            self.builder.stop()
