"""Intake and integration in the window: background polling and sending, their state, outbox and quarantine.

``IntegrationExtension`` (scope ``intake``) reads the intake settings file, polls the configured
sources and sends the outbox in the background (``intake_runner``: asyncio tasks under qasync that
run the blocking rounds in worker threads), shows the state of every connection in the status bar
(colour and text; the details in its tooltip), and binds the commands: ``Outbox…`` (Ctrl+Shift+O),
``Quarantine…`` (Ctrl+Shift+Q, with the service mappings in a second tab) and ``Poll the sources
now`` (Ctrl+Shift+P). With the network down the seat keeps working on its own data; the next rounds
catch up from the stored cursors once it is back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel

from workstation.i18n import tr
from workstation.intake.items import clip
from workstation.intake.settings import Settings, default_path, load_settings
from workstation.intake.status import Status
from workstation.intake.targets import ensure_configured_targets
from workstation.services.errors import WorkstationError
from workstation.ui.intake_runner import IntakeRunner
from workstation.ui.outbox_view import OutboxDialog
from workstation.ui.quarantine_view import QuarantineDialog
from workstation.ui.table_pane import local_time

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

SYMBOLS = {"ok": "●", "warn": "▲", "down": "○", "off": "–"}


def first_failure(st: Status) -> datetime | None:
    """When a connection that fails now started failing, as far as its status row tells."""
    if st.failures == 1:
        return st.last_failure_at
    return st.last_success_at  # failing ever since the last success (None: never reached)


class _OnHide(QObject):
    """Calls back when a widget is hidden by the program (the idle lock hides the window's content)."""

    def __init__(self, parent: QObject, action: Callable[[], None]) -> None:
        super().__init__(parent)
        self.action = action

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A hide that is not the window system's (minimising) runs the action."""
        if event.type() == QEvent.Type.Hide and not event.spontaneous():
            self.action()
        return False


class IntegrationExtension:
    """The window side of the intake: one per MainWindow, installed through ``MainWindow(extensions=[...])``."""

    scope = "intake"

    def __init__(
        self,
        settings_path: Path | None,
        *,
        tick_ms: int = 1000,
        send_every_s: float = 5.0,
        round_timeout_s: float = 120.0,
    ) -> None:
        self.settings_path = settings_path
        self.tick_ms, self.send_every_s, self.round_timeout_s = tick_ms, send_every_s, round_timeout_s
        self.settings: Settings | None = None
        self.problem: str | None = None
        self.tz: tzinfo | None = None
        self.down_since: dict[str, datetime | None] = {}
        self.outbox_dialog: OutboxDialog | None = None
        self.quarantine_dialog: QuarantineDialog | None = None

    @property
    def path(self) -> Path:
        """The settings file read."""
        return self.settings_path or default_path()

    def install(self, window: MainWindow) -> dict[str, Callable[[], None]]:
        """Read the settings, start the background work, add the status label; returns the command handlers."""
        self.window = window
        if self.path.exists():
            try:
                self.settings = load_settings(self.path)
            except WorkstationError as exc:
                self.problem = exc.message
            else:  # before the first case changes, not at the first send (which may come after a dispatch)
                self.problem = ensure_configured_targets(window.db, self.path) or self.problem
        try:
            self.tz = ZoneInfo(self.settings.timezone if self.settings else "Asia/Shanghai")
        except (ValueError, KeyError):
            self.tz = None
        try:
            self.runner = IntakeRunner(
                window.db,
                self.settings,
                window,
                tick_ms=self.tick_ms,
                send_every_s=self.send_every_s,
                round_timeout_s=self.round_timeout_s,
            )
        except WorkstationError as exc:  # a source's options are wrong: nothing runs, the status bar says why
            self.problem = exc.message
            self.runner = IntakeRunner(window.db, None, window)
        self.label = QLabel()
        self.label.setObjectName("intake")
        window.statusBar().addPermanentWidget(self.label)
        window.installEventFilter(self.runner)  # stops the rounds when the window closes
        window.central.installEventFilter(_OnHide(window, self.close_dialogs))  # the seat locks: payloads go
        self.runner.updated.connect(self.show_state)
        self.show_state()
        self.runner.start()
        return {
            "intake.outbox": self.open_outbox,
            "intake.quarantine": self.open_quarantine,
            "intake.poll": self.poll_now,
        }

    # -- the status bar ----------------------------------------------------------------------------

    def _time(self, when: datetime) -> str:
        return local_time(when, self.tz)

    def _key(self, command_id: str) -> str:
        return " / ".join(self.window.keymap.keys_for(command_id, "queue")) or "—"

    def state(self) -> tuple[str, str, str]:
        """The status bar's text, state (ok, warn, down, off) and tooltip."""
        runner = self.runner
        if self.problem:
            return (
                tr("Intake: the settings are not usable (details in the tooltip)"),
                "down",
                tr("{path}: {problem}", path=self.path, problem=self.problem),
            )
        if not runner.active:
            tip = (
                tr("The settings file {path} names no sources or targets.", path=self.path)
                if self.settings
                else tr("No intake settings file at {path}: nothing is polled or sent.", path=self.path)
            )
            return tr("Intake: no sources configured"), "off", tip
        snap = runner.snapshot
        names = [s.name for s in runner.sources]
        targets = [t.name for t in self.settings.targets] if self.settings and runner.sends else []
        if snap is None:
            text = tr("Intake: {n} source(s), first round…", n=len(names)) if names else tr("Intake: first round…")
            return text, "off", tr("The first polling round is running.")
        parts: list[str] = []
        tips: list[str] = []
        down: list[tuple[str, datetime | None]] = []
        held: list[str] = []
        ok = 0
        for name, key in [(n, n) for n in names] + [(t, f"outbox:{t}") for t in targets]:
            st = snap.statuses.get(key)
            if st is None or st.last_attempt_at is None:
                tips.append(tr("{name}: not tried yet", name=name))
                continue
            if st.ok:
                self.down_since.pop(key, None)
                ok += key in names
                tips.append(
                    tr("{name}: ✓ {when}, {n} item(s)", name=name, when=self._time(st.last_attempt_at), n=st.last_count)
                )
                continue
            since = self.down_since.get(key) or first_failure(st)
            self.down_since[key] = since
            result = runner.results.get(name) if key in names else None
            if result is not None and not result.ok and result.quarantined:
                held.append(name)
            elif key in names or snap.retrying.get(name):
                down.append((name, since))
            # else: a target that refused a message (failed for good, counted below), not an unreachable one
            tips.append(
                tr(
                    "{name}: ✗ {n} failed round(s), last {when}: {error}",
                    name=name,
                    n=st.failures,
                    when=self._time(st.last_failure_at or st.last_attempt_at),
                    error=clip(st.last_error or "", 300),
                )
            )
        state = "ok"
        if down:
            state = "down"
            known = [s for _, s in down if s is not None]
            who = ", ".join(n for n, _ in down)
            parts.append(
                tr("{names} unreachable since {when} — retrying", names=who, when=self._time(min(known)))
                if known
                else tr("{names} unreachable — retrying", names=who)
            )
        if held:
            state = "down" if down else "warn"
            parts.append(
                tr("{names}: a page was quarantined ({key})", names=", ".join(held), key=self._key("intake.quarantine"))
            )
        if names and not down and not held:
            parts.append(
                tr("1 source OK")
                if ok == len(names) == 1
                else tr("{n} sources OK", n=ok)
                if ok == len(names)
                else tr("{ok} of {n} sources OK", ok=ok, n=len(names))
            )
        if runner.sends or snap.pending or snap.failed:
            parts.append(tr("outbox {pending} pending, {failed} failed", pending=snap.pending, failed=snap.failed))
            if snap.failed and state == "ok":
                state = "warn"
        if runner.problem:
            tips.append(runner.problem)
            parts.append(clip(runner.problem, 60))
            state = "down" if state == "down" else "warn"
        tips.append(
            tr(
                "{outbox} outbox · {quarantine} quarantine · {poll} poll now",
                outbox=self._key("intake.outbox"),
                quarantine=self._key("intake.quarantine"),
                poll=self._key("intake.poll"),
            )
        )
        return tr("Intake: {summary}", summary=" · ".join(parts)), state, "\n".join(tips)

    def show_state(self) -> None:
        """Refresh the status bar label."""
        text, state, tip = self.state()
        self.label.setText(f"{SYMBOLS[state]} {text}")
        self.label.setToolTip(tip)
        self.label.setProperty("state", state)
        self.label.style().unpolish(self.label)
        self.label.style().polish(self.label)

    # -- commands --------------------------------------------------------------------------------

    def open_outbox(self) -> None:
        """``Ctrl+Shift+O``: the outbox dialog."""
        if self.outbox_dialog is None:
            self.outbox_dialog = OutboxDialog(self.window, self.runner, self.tz)
            self.outbox_dialog.finished.connect(lambda _: self.window.restore_focus())
        else:
            self.outbox_dialog.reload(force=True)
        self.outbox_dialog.open()
        self.outbox_dialog.activateWindow()
        self.outbox_dialog.pane.table.setFocus()

    def open_quarantine(self) -> None:
        """``Ctrl+Shift+Q``: the quarantine dialog, with the service mappings."""
        if self.quarantine_dialog is None:
            self.quarantine_dialog = QuarantineDialog(self.window, self.runner, self.settings, self.tz)
            self.quarantine_dialog.finished.connect(lambda _: self.window.restore_focus())
        else:
            self.quarantine_dialog.reload(force=True)
        self.quarantine_dialog.open()
        self.quarantine_dialog.activateWindow()
        self.quarantine_dialog.current_pane().table.setFocus()

    def close_dialogs(self) -> None:
        """Close the outbox and quarantine dialogs (and what they opened), as when the seat locks."""
        for dialog in (self.outbox_dialog, self.quarantine_dialog):
            if dialog is None or not dialog.isVisible():
                continue
            for child in (getattr(dialog, "viewer", None), getattr(dialog, "view", None)):
                if child is not None and child.isVisible():
                    child.reject()
            dialog.reject()

    def poll_now(self) -> None:
        """``Ctrl+Shift+P``: poll every source now (in the background)."""
        if not self.runner.sources:
            self.window.notify(tr("No intake sources are configured: there is nothing to poll."), error=True)
            return
        self.runner.poll_now()
        self.window.notify(tr("Polling {n} source(s) in the background…", n=len(self.runner.sources)))
