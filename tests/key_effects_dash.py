"""Key effects of the supervision commands: the key that opens it and every key of its views.

The setup of each view's key opens the supervision window from the lead's (or the administrator's)
window, waits for its first figures and gives the keyboard to the view shown; the check asserts what
the key changed on screen and closes the supervision window again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.conftest import article_report
from tests.key_harness import KeyEffect, KeyEnv
from workstation.services import lifecycle as lc
from workstation.services.reports import add_report
from workstation.ui.supervision.opening import open_supervision
from workstation.ui.supervision.window import VIEWS, SupervisionWindow

WINDOWS = ("lead", "admin", "trainer")  # a trainer in demo mode supervises too


def _open(env: KeyEnv, view: str = "figures") -> None:
    cid = add_report(env.db, article_report(external_id=None)).case_id
    lc.file(env.db, env.users["op1"], cid, "0201")
    sup = open_supervision(env.window)
    env.qtbot.waitUntil(lambda: sup.figures is not None, timeout=3000)
    env.extra["sup"] = sup
    env.extra["dir"] = tempfile.mkdtemp(prefix="dash-keys-")
    sup.report_dir = Path(env.extra["dir"])
    sup.show_view(view)
    if view == "figures":
        sup.tables["figures"].setCurrentCell(1, 4)  # Filed, since launch: one case
    sup.activateWindow()
    sup.table.setFocus()


def _done(env: KeyEnv) -> None:
    sup: SupervisionWindow = env.extra["sup"]
    sup.close()
    view = getattr(env.window, "queue_view", None)
    if view is not None:
        view.close()


def _shows(view: str):
    def check(env: KeyEnv) -> None:
        try:
            sup: SupervisionWindow = env.extra["sup"]
            assert sup.current_view() == view, sup.current_view()
            assert sup.work_area.currentWidget() is sup.tables[view]
        finally:
            _done(env)

    return check


def _opened(env: KeyEnv) -> None:
    sup = env.window.supervision
    assert isinstance(sup, SupervisionWindow) and sup.isVisible()
    env.qtbot.waitUntil(lambda: sup.figures is not None, timeout=3000)
    sup.close()


def _drilled(env: KeyEnv) -> None:
    try:
        main = getattr(env.window, "queue_view", None) or env.window
        assert main.filter.when is not None and main.filter.when[0] == "filed_at"
        assert main.model.rowCount() == 1
    finally:
        _done(env)


def _measured(env: KeyEnv) -> None:
    try:
        sup: SupervisionWindow = env.extra["sup"]
        assert sup.current_view() == "map" and sup.map.measure == "overdue"
    finally:
        _done(env)


def _refreshed(env: KeyEnv) -> None:
    try:
        sup: SupervisionWindow = env.extra["sup"]
        env.qtbot.waitUntil(lambda: sup.figures is not None, timeout=3000)
    finally:
        _done(env)


def _report(kind: str):
    def check(env: KeyEnv) -> None:
        try:
            files = list(Path(env.extra["dir"]).glob(f"*.{kind}"))
            assert len(files) == 1 and files[0].stat().st_size > 1000, files
            assert str(files[0]) in env.extra["sup"].message.text()
        finally:
            _done(env)

    return check


def _closed(env: KeyEnv) -> None:
    assert not env.extra["sup"].isVisible()
    _done(env)


def _forget_figures(env: KeyEnv) -> None:
    _open(env)
    env.extra["sup"].figures = None


EFFECTS: dict[str, KeyEffect] = {
    "view.supervision": KeyEffect(_opened, windows=WINDOWS),
    **{
        f"dash.{view}": KeyEffect(
            _shows(view),
            setup=lambda env, v=view: _open(env, "queues" if v != "queues" else "figures"),
            windows=WINDOWS,
        )
        for view in VIEWS
    },
    "dash.drill": KeyEffect(_drilled, setup=_open, windows=WINDOWS),
    "dash.measure": KeyEffect(_measured, setup=lambda env: _open(env, "map"), windows=WINDOWS),
    "dash.refresh": KeyEffect(_refreshed, setup=_forget_figures, windows=WINDOWS),
    "dash.report_xlsx": KeyEffect(_report("xlsx"), setup=_open, windows=WINDOWS),
    "dash.report_pdf": KeyEffect(_report("pdf"), setup=_open, windows=WINDOWS),
    "dash.close": KeyEffect(_closed, setup=_open, windows=WINDOWS),
}
