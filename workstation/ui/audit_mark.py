"""The audit mark in an administrator's status bar: the history's hash chains, verified after sign-in.

The verification (``services.audit.verify``) reads every chained entry, so it runs in a background
thread; the result comes back to the window through a queued signal. The mark stays small: a tick
when every chain holds, a red warning when one is broken (the first breaks in its tooltip; the
command line's ``workstation audit verify`` gives the full list).
"""

from __future__ import annotations

import contextlib
import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.services import audit
from workstation.services.actors import Actor
from workstation.storage.db import Database

SHOWN_BREAKS = 5


class _Relay(QObject):
    """Carries the result from the worker thread to the GUI thread (signals across threads queue)."""

    finished = Signal(object)


class AuditMark(QLabel):
    """The mark; :meth:`start` verifies in the background."""

    def __init__(self, db: Database, actor: Actor) -> None:
        super().__init__()
        self.setObjectName("auditMark")
        self.db, self.actor = db, actor
        self.report: audit.Report | None = None
        self.worker: threading.Thread | None = None
        self._relay = _Relay(self)
        self._relay.finished.connect(self._show)

    def start(self) -> None:
        """Verify every chain in a background thread (once at a time)."""
        if self.worker is not None and self.worker.is_alive():
            return
        self.setText(tr("Audit: checking…"))
        self.setToolTip(tr("Verifying the history's hash chains in the background."))
        self.worker = threading.Thread(target=self._run, name="audit-verify", daemon=True)
        self.worker.start()

    def _run(self) -> None:
        try:
            result: object = audit.verify(self.db, self.actor)
        except Exception as exc:  # the database went away, say: shown, never raised into Qt
            result = exc
        with contextlib.suppress(RuntimeError):  # the window was closed meanwhile: nobody to tell
            self._relay.finished.emit(result)

    def _show(self, result: object) -> None:
        error = True
        if isinstance(result, audit.Report):
            self.report = result
            if result.ok:
                error = False
                self.setText(tr("Audit ✓"))
                total = sum(result.checked.values())
                self.setToolTip(tr("Every hash chain holds ({n} entries verified).", n=total))
            else:
                self.setText(tr("Audit: history tampered ({n})", n=len(result.breaks)))
                lines = [b.message for b in result.breaks[:SHOWN_BREAKS]]
                lines.append(tr("Run 'workstation audit verify' for the full list."))
                self.setToolTip("\n".join(lines))
        else:
            self.setText(tr("Audit: not verified"))
            self.setToolTip(tr("The verification failed: {reason}", reason=str(result).splitlines()[0][:300]))
        self.setProperty("error", error)
        self.style().unpolish(self)
        self.style().polish(self)


def add_audit_mark(bar: QStatusBar, db: Database, actor: Actor) -> AuditMark | None:
    """For an administrator: the mark, in the status bar, verification started; None for anyone else."""
    if actor.role != Role.ADMIN:
        return None
    mark = AuditMark(db, actor)
    bar.addPermanentWidget(mark)
    mark.start()
    return mark
