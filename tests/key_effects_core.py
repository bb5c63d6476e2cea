"""What the keys of the commands on main do, as a user sees it (collected by tests/key_harness.py)."""

from __future__ import annotations

import csv
import itertools
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from sqlalchemy import select

from tests.conftest import PASSWORD, article_report
from tests.key_harness import KeyEffect, KeyEnv, answer, answered, escape_closes
from workstation import __version__, clock
from workstation.i18n import tr
from workstation.models import SavedFilter
from workstation.services import lifecycle as lc
from workstation.services import queue as q
from workstation.services.actors import Actor
from workstation.services.queries import get_case
from workstation.services.reports import add_report

HELPER = Actor("keyharness", "lead")  # moves cases into the state a key needs, before the window holds them
_ids = itertools.count(1)


def new_case(env: KeyEnv, **overrides: object) -> int:
    """A new report in the window's database (its external id ``KEY-<case id>`` finds it in a search)."""
    # received a moment ago by the window's clock (the demo's clock runs in its own time)
    overrides.setdefault("received_at", (clock.now() - timedelta(minutes=20)).isoformat())
    data = article_report(external_id=f"KEY-{next(_ids)}", **overrides)
    cid = add_report(env.db, data).case_id
    env.extra.setdefault("external ids", {})[cid] = data["external_id"]
    return cid


def case_in(env: KeyEnv, state: str) -> int:
    """A case driven to ``state`` (filed, dispatched, handled, verifying, extension)."""
    cid = new_case(env)
    steps = ["filed", "dispatched", "handled", "verifying"]
    if state == "extension":
        lc.file(env.db, HELPER, cid, "0201")
        lc.dispatch(env.db, HELPER, cid)
        lc.request_extension(env.db, HELPER, cid, "2wd", "需要协调物业")
        return cid
    for step in steps[: steps.index(state) + 1]:
        {
            "filed": lambda: lc.file(env.db, HELPER, cid, "0201"),
            "dispatched": lambda: lc.dispatch(env.db, HELPER, cid),
            "handled": lambda: lc.handle(env.db, HELPER, cid, "已清理"),
            "verifying": lambda: lc.verify(env.db, HELPER, cid, "网格员"),
        }[step]()
    return cid


def show(env: KeyEnv, cid: int) -> None:
    """Show the case (searched by its external id in all cases) selected in the window."""
    w = env.window
    w.apply_filter(w.filter.with_(queue="all", search=env.extra["external ids"][cid]))
    assert w.current_id() == cid
    env.extra["case"] = cid
    w.restore_focus()


def status(env: KeyEnv) -> str:
    return get_case(env.db, env.extra["case"])["status"]


# -- the case menu ----------------------------------------------------------------------------------


def _case_effect(state: str | None, steps: list[list[object]], expected: str) -> KeyEffect:
    def setup(env: KeyEnv) -> None:
        show(env, new_case(env) if state is None else case_in(env, state))
        if steps:
            answer(env, *steps)

    def check(env: KeyEnv) -> None:
        if steps:
            answered(env)
        assert status(env) == expected, env.window.message.text()

    return KeyEffect(check=check, setup=setup)


def _add_unit_setup(env: KeyEnv) -> None:
    show(env, case_in(env, "dispatched"))
    answer(env, [Qt.Key.Key_Return])


def _add_unit_check(env: KeyEnv) -> None:
    answered(env)
    case = get_case(env.db, env.extra["case"])
    assert case["unit_code"] and len(case["co_units"]) == 1, case["co_units"]


def _merge_setup(env: KeyEnv) -> None:
    original = new_case(env)
    duplicate = new_case(env, channel="12345", received_at=(clock.now() - timedelta(minutes=1)).isoformat())
    env.extra["original"] = original
    show(env, duplicate)
    answer(env, [Qt.Key.Key_Return])


def _merge_check(env: KeyEnv) -> None:
    answered(env)
    case = get_case(env.db, env.extra["case"])
    assert case["status"] == "merged" and case["merged_into"] == env.extra["original"]


def _extension_setup(env: KeyEnv) -> None:
    show(env, case_in(env, "extension"))
    answer(env, [Qt.Key.Key_Return])  # Approve


def _extension_check(env: KeyEnv) -> None:
    case = get_case(env.db, env.extra["case"])
    decided = [x["status"] for x in case["extensions"]]
    answered(env)
    if env.role == "operator":  # a shift lead's decision: the operator is told so, nothing changes
        assert decided == ["pending"]
        assert env.window.message.property("error") and env.window.message.text()
    else:
        assert decided == ["approved"], decided


def _undo_setup(env: KeyEnv) -> None:
    show(env, new_case(env))
    answer(env, [Qt.Key.Key_Return])
    env.window.actions_by_id["case.reject"].trigger()  # the action to undo, as the x key does it
    answered(env)
    assert status(env) == "rejected"


def _undo_check(env: KeyEnv) -> None:
    assert status(env) == "reported", env.window.message.text()
    assert env.window.current_id() == env.extra["case"]


# -- the queue menu ---------------------------------------------------------------------------------


def _two_rows(env: KeyEnv, row: int) -> None:
    new_case(env)
    new_case(env)
    w = env.window
    w.apply_filter(w.filter.with_(queue="all", search=article_report()["text"][:6]))
    assert w.model.rowCount() >= 2
    w.select_row(row)
    env.extra["row"] = row


def _moved(step: int):
    def check(env: KeyEnv) -> None:
        assert env.window.table.currentIndex().row() == env.extra["row"] + step

    return check


def _queue_switch(key: str) -> KeyEffect:
    def setup(env: KeyEnv) -> None:
        new_case(env)
        other = "all" if key != "all" else "new"
        env.window.show_queue(other)
        assert env.window.filter.queue == other

    def check(env: KeyEnv) -> None:
        w = env.window
        assert w.queues.currentItem().data(Qt.ItemDataRole.UserRole) == key
        assert w.model.filter.queue == key
        with env.db.read() as s:
            assert w.model.rowCount() == q.count(s, w.model.filter)

    return KeyEffect(check=check, setup=setup)


def _search_check(env: KeyEnv) -> None:
    assert env.window.search.hasFocus()


def _save_filter_setup(env: KeyEnv) -> None:
    env.window.show_queue("overdue")
    answer(env, ["key harness filter", Qt.Key.Key_Return])


def _save_filter_check(env: KeyEnv) -> None:
    answered(env)
    with env.db.read() as s:
        saved = s.scalars(select(SavedFilter).where(SavedFilter.name == "key harness filter")).one()
        assert saved.owner == env.window.actor.name and saved.query["queue"] == "overdue"


def _saved_filters_setup(env: KeyEnv) -> None:
    with env.db.write() as s:
        s.add(SavedFilter(owner=env.window.actor.name, name="the overdue ones", query={"queue": "overdue"}))
    answer(env, [Qt.Key.Key_Return])


def _saved_filters_check(env: KeyEnv) -> None:
    answered(env)
    assert env.window.model.filter.queue == "overdue"
    assert env.window.queues.currentItem().data(Qt.ItemDataRole.UserRole) == "overdue"


def _export_setup(env: KeyEnv) -> None:
    show(env, new_case(env))
    target = Path(env.extra["tmp_path"]) / "export.csv"
    env.extra["export"] = target
    env.extra["monkeypatch"].setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV (*.csv)"))


def _export_check(env: KeyEnv) -> None:
    with open(env.extra["export"], encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 2 and rows[1][1] == str(env.extra["case"])


def _refresh_setup(env: KeyEnv) -> None:
    w = env.window
    w.apply_filter(w.filter.with_(queue="all", search="钥匙测试"))
    env.extra["before"] = w.model.rowCount()
    new_case(env, text="钥匙测试：路灯不亮")  # arrives from elsewhere; the window has not read it yet
    assert w.model.rowCount() == env.extra["before"]


def _refresh_check(env: KeyEnv) -> None:
    assert env.window.model.rowCount() == env.extra["before"] + 1


# -- view, help, session (every window) --------------------------------------------------------------


def _focus_setup(env: KeyEnv) -> None:
    env.window.search.setFocus()


def _focus_check(attr: str):
    def check(env: KeyEnv) -> None:
        widget = env.window.table if attr == "table" else env.window.panel.body
        assert widget.hasFocus()

    return check


def _about_check(env: KeyEnv) -> None:
    assert __version__ in env.window.message.text()


def _lock_setup(env: KeyEnv) -> None:
    from workstation.demo.world import DEMO_PASSWORD

    hidden = env.extra["hidden while locked"] = []
    password = DEMO_PASSWORD if env.role == "trainer" else PASSWORD

    def look() -> None:
        hidden.append(not env.window.central.isVisible())

    answer(env, [look, password, Qt.Key.Key_Return])


def _lock_check(env: KeyEnv) -> None:
    seen = answered(env)
    assert seen and seen[0][0] == tr("Sign in") and env.extra["hidden while locked"] == [True]
    assert env.window.central.isVisible() and not env.window.live.locked


def _closed_check(env: KeyEnv) -> None:
    env.qtbot.waitUntil(lambda: not env.window.isVisible(), timeout=3000)


# -- integration -------------------------------------------------------------------------------------


def _non_modal(attr: str, title: str):
    def check(env: KeyEnv) -> None:
        ext = next(e for e in env.window.extensions if e.scope == "intake")
        dialog = getattr(ext, attr)
        assert dialog is not None and dialog.isVisible() and title in dialog.windowTitle()
        env.qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        env.qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)

    return KeyEffect(check=check)


def _poll_check(env: KeyEnv) -> None:
    assert env.window.message.text() == tr("No intake sources are configured: there is nothing to poll.")


# -- training ----------------------------------------------------------------------------------------


def _training(env: KeyEnv):
    return next(e for e in env.window.extensions if e.scope == "demo")


def _pause_setup(env: KeyEnv) -> None:
    env.extra["paused"] = _training(env).sim.clock.paused


def _pause_check(env: KeyEnv) -> None:
    assert _training(env).sim.clock.paused != env.extra["paused"]
    assert tr("Simulation paused: nothing arrives and no deadline moves.") == env.window.message.text()


def _speed_setup(env: KeyEnv) -> None:
    env.extra["speed"] = _training(env).sim.clock.speed


def _speed_check(sign: int):
    def check(env: KeyEnv) -> None:
        speed = _training(env).sim.clock.speed
        assert (speed - env.extra["speed"]) * sign > 0, (env.extra["speed"], speed)

    return check


def _reset_setup(env: KeyEnv) -> None:
    env.extra["trainee case"] = new_case(env, text="钥匙测试：重置前的案件")


def _reset_check(env: KeyEnv) -> None:
    from workstation.models import Case

    with env.db.read() as s:
        assert s.get(Case, env.extra["trainee case"]) is None  # a fresh copy of the training world
    worlds = (tr("the full world"), tr("the small first-run world"))
    said = {tr("Free play on a fresh copy of {world}.", world=world) for world in worlds}
    assert env.window.message.text() in said, env.window.message.text()


# -- the station -------------------------------------------------------------------------------------


def _people(env: KeyEnv) -> None:
    from datetime import date

    from tests.care_support import add, valid_id

    st = env.users["station"]
    for name, seq in (("甲一", "123"), ("乙二", "124")):
        add(env.db, st, name=name, groups=["G2"], since=date(2020, 1, 1), id_number=valid_id("19400305", seq))
    env.window.refresh()
    env.window.select_row(0)


def _station_rows(row: int):
    def setup(env: KeyEnv) -> None:
        _people(env)
        env.window.select_row(row)
        env.extra["row"] = row

    return setup


def _station_search_check(env: KeyEnv) -> None:
    assert env.window.search.hasFocus()


def _worklist_setup(env: KeyEnv) -> None:
    _people(env)
    env.window.search.setText("甲一")
    assert env.window.model.rowCount() == 1


def _worklist_check(env: KeyEnv) -> None:
    assert env.window.search.text() == "" and env.window.model.rowCount() == 2


def _station_dialog(title_source: str) -> KeyEffect:
    """The key opens a dialog about the selected person (its title names them); Escape closes it."""

    def setup(env: KeyEnv) -> None:
        _people(env)
        answer(env, [Qt.Key.Key_Escape])

    def check(env: KeyEnv) -> None:
        seen = answered(env)
        name = env.window.current_page()["name"]
        title = tr(title_source, name=name)
        assert seen and seen[0][1] and title.split(name)[0] in seen[0][0] and name in seen[0][0], seen

    return KeyEffect(check=check, setup=setup)


def _station_export_setup(env: KeyEnv) -> None:
    _people(env)
    target = Path(env.extra["tmp_path"]) / "ledger.xlsx"
    env.extra["export"] = target
    env.extra["monkeypatch"].setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    answer(env, [Qt.Key.Key_Return])  # masked


def _station_export_check(env: KeyEnv) -> None:
    answered(env)
    assert env.extra["export"].exists()


def _station_import_setup(env: KeyEnv) -> None:
    from tests.care_support import roster_xlsx

    path = Path(env.extra["tmp_path"]) / "roster.xlsx"
    roster_xlsx(path, [])
    env.extra["monkeypatch"].setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    answer(env, [Qt.Key.Key_Escape])


def _station_import_check(env: KeyEnv) -> None:
    seen = answered(env)
    assert seen and seen[0][1] and tr("Import a roster from Excel") in seen[0][0], seen


def _visible_modal(title: str) -> KeyEffect:
    return escape_closes(tr(title))


DESK = ("operator", "lead", "trainer")

EFFECTS: dict[str, KeyEffect] = {
    "case.file": _case_effect(None, [[Qt.Key.Key_Return], [Qt.Key.Key_Escape]], "filed"),
    "case.dispatch": _case_effect("filed", [[Qt.Key.Key_Return]], "dispatched"),
    "case.add_unit": KeyEffect(setup=_add_unit_setup, check=_add_unit_check),
    "case.reject": _case_effect(None, [[Qt.Key.Key_Return]], "rejected"),
    "case.merge": KeyEffect(setup=_merge_setup, check=_merge_check),
    "case.verify": _case_effect("handled", [], "verifying"),
    "case.close": _case_effect("verifying", [], "closed"),
    "case.rework": _case_effect("verifying", [[Qt.Key.Key_Return]], "rework"),
    "case.extension": KeyEffect(setup=_extension_setup, check=_extension_check),
    "case.undo": KeyEffect(setup=_undo_setup, check=_undo_check),
    "queue.next": KeyEffect(setup=lambda env: _two_rows(env, 0), check=_moved(1)),
    "queue.previous": KeyEffect(setup=lambda env: _two_rows(env, 1), check=_moved(-1)),
    "queue.search": KeyEffect(check=_search_check),
    **{f"queue.{key}": _queue_switch(key) for key in q.QUEUES},
    "queue.save_filter": KeyEffect(setup=_save_filter_setup, check=_save_filter_check),
    "queue.saved_filters": KeyEffect(setup=_saved_filters_setup, check=_saved_filters_check),
    "queue.export": KeyEffect(setup=_export_setup, check=_export_check),
    "queue.refresh": KeyEffect(setup=_refresh_setup, check=_refresh_check),
    "intake.outbox": _non_modal("outbox_dialog", tr("Outbox")),
    "intake.quarantine": _non_modal("quarantine_dialog", tr("Quarantine")),
    "intake.poll": KeyEffect(check=_poll_check),
    "care.worklist": KeyEffect(setup=_worklist_setup, check=_worklist_check),
    "care.next": KeyEffect(setup=_station_rows(0), check=_moved(1)),
    "care.previous": KeyEffect(setup=_station_rows(1), check=_moved(-1)),
    "care.search": KeyEffect(check=_station_search_check),
    "care.record_visit": _station_dialog("Record a visit"),
    "care.raise_case": _station_dialog("Record a visit"),
    "care.major_change": _station_dialog("Major change of {name}"),
    "care.reveal": _station_dialog("Reveal which field of {name}?"),
    "care.coverage": _visible_modal("Coverage by grid"),
    "care.export": KeyEffect(setup=_station_export_setup, check=_station_export_check),
    "care.import": KeyEffect(setup=_station_import_setup, check=_station_import_check),
    "demo.pause": KeyEffect(setup=_pause_setup, check=_pause_check),
    "demo.faster": KeyEffect(setup=_speed_setup, check=_speed_check(1)),
    "demo.slower": KeyEffect(setup=_speed_setup, check=_speed_check(-1)),
    "demo.inject": _visible_modal("Inject an event"),
    "demo.scenario": _visible_modal("Start a scenario"),
    "demo.score": escape_closes(""),
    "demo.reset": KeyEffect(setup=_reset_setup, check=_reset_check),
    "view.palette": _visible_modal("Command palette"),
    "view.focus_queue": KeyEffect(setup=_focus_setup, check=_focus_check("table")),
    "view.focus_case": KeyEffect(check=_focus_check("panel"), windows=DESK),
    "help.cheatsheet": _visible_modal("Keyboard cheat sheet"),
    "help.about": KeyEffect(check=_about_check),
    "session.lock": KeyEffect(setup=_lock_setup, check=_lock_check),
    "session.sign_out": KeyEffect(check=_closed_check),
    "session.quit": KeyEffect(check=_closed_check),
}
