"""Building the full training world in the background: ``python -m workstation.demo.launch`` in a process of its own.

A process, not a thread: the build keeps a processor busy for seconds and would otherwise slow the
window down; it cannot touch the window's simulated clock; and it stops at once when the window closes.
Its progress lines become the ``progressed`` signal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

import workstation
from workstation.demo.launch import DemoSession
from workstation.i18n import tr


class TemplateBuild(QObject):
    """Builds the full training world's template of a session; ``built`` gives its path, ``failed`` the reason."""

    progressed = Signal(float, str)
    built = Signal(str)
    failed = Signal(str)

    def __init__(self, session: DemoSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.process = QProcess(self)
        self.process.setProgram(sys.executable)
        arguments = ["-m", "workstation.demo.launch", "--seed", str(session.seed), "--cases", str(session.cases)]
        arguments += ["--people", str(session.people), "--cache", str(session.cache)]
        if session.now is not None:
            arguments += ["--now", session.now.isoformat()]
        self.process.setArguments(arguments)
        env = QProcessEnvironment.systemEnvironment()
        root = str(Path(workstation.__file__).resolve().parent.parent)
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (root, env.value("PYTHONPATH")) if p))
        self.process.setProcessEnvironment(env)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self._buffer = ""
        self._path = ""
        self._stopping = False

    def start(self) -> None:
        """Start the build."""
        self.process.start()

    def isRunning(self) -> bool:
        """Whether the build is still going."""
        return self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Stop the build (it leaves no template behind)."""
        if self.isRunning():
            self._stopping = True
            self.process.terminate()
            if not self.process.waitForFinished(3000):
                self.process.kill()
                self.process.waitForFinished(1000)

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            word, _, rest = line.strip().partition(" ")
            if word == "progress":
                fraction, _, label = rest.partition(" ")
                with contextlib.suppress(ValueError):
                    self.progressed.emit(float(fraction), label)
            elif word == "built":
                self._path = rest

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        if self._stopping:
            return
        if code == 0 and self._path:
            self.built.emit(self._path)
        else:
            error = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace").strip()
            self.failed.emit(error.splitlines()[-1] if error else tr("exit code {code}", code=code))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._stopping:
            self.failed.emit(self.process.errorString())
