"""Key effects of the shift lead's commands, the phoned-in unit answers and the administrator's window.

Each entry selects what the command needs (``setup``), and after the key press asserts what the user
sees (``check``): the dialog the key opened (then closed here), or the change it made.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication
from sqlalchemy import update

from tests.conftest import article_report
from tests.key_effects_core import HELPER, case_in, new_case, show
from tests.key_harness import KeyEffect, KeyEnv
from workstation import clock
from workstation.i18n import tr
from workstation.intake import mappings
from workstation.models import Case, utcnow
from workstation.services import accounts, lockout
from workstation.services import lifecycle as lc
from workstation.services.calendar import set_day, year_days
from workstation.services.errors import AuthenticationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report

UNIT = "GRID-S13C01G01"
LEADS = ("lead",)
DEMO = ("trainer",)  # a trainer has the lead's work in demo mode only
SEATS = ("operator", "lead", "trainer")


# -- cases -------------------------------------------------------------------------------------------


def _case(env: KeyEnv, state: str) -> int:
    """A case in a state, selected in the window's list of all cases."""
    op = env.users["op1"]
    received = (clock.now() - timedelta(minutes=20)).isoformat()  # the window's clock (a demo's runs its own)
    cid = add_report(env.db, article_report(external_id=None, received_at=received)).case_id
    if state in ("rejected",):
        lc.reject(env.db, op, cid, "Out of scope")
    else:
        lc.file(env.db, op, cid, "0201")
        lc.dispatch(env.db, op, cid)
        with env.db.write() as s:  # overdue, so that 督办 applies
            s.execute(update(Case).where(Case.id == cid).values(deadline_at=utcnow() - timedelta(hours=2)))
        if state == "suspended":
            lc.suspend(env.db, env.users["lead"], cid, "needs a project")
        if state == "extension":
            lc.request_extension(env.db, env.users["gridteam"], cid, "2wd", "材料未到")
    w = env.window
    w.show_queue("all")
    w.refresh()
    row = w.model.row_of(cid)
    assert row is not None, cid
    w.select_row(row)
    assert w.current_id() == cid
    w.table.setFocus()
    env.extra["case"] = cid
    return cid


def _dialog(env: KeyEnv, title: str) -> None:
    """The key opened its dialog (a picker or a prompt) with this title; close it."""
    modal = QApplication.activeModalWidget()
    assert modal is not None, f"no dialog open; status bar says: {env.window.message.text()}"
    assert title.format(id=env.extra.get("case", "")) in modal.windowTitle(), modal.windowTitle()
    modal.reject()


def _history(env: KeyEnv) -> dict[str, Any]:
    return get_case(env.db, env.extra["case"])["history"][-1]


def _resumed(env: KeyEnv) -> None:
    assert get_case(env.db, env.extra["case"])["status"] == "dispatched", env.window.message.text()
    assert _history(env)["action"] == "resume"
    assert env.window.message.text() == tr(
        "Case #{id} resumed: back with {unit}.", id=env.extra["case"], unit="塘西河网格综管队"
    )


def _acknowledged(env: KeyEnv) -> None:
    event = _history(env)
    assert (event["action"], event["details"].get("for_unit")) == ("acknowledge", UNIT)
    assert event["actor"] == env.window.actor.name


def _demo_case(state: str) -> Any:
    """Setup for the trainer's demo window: a case of the demo world in ``state``, selected."""

    def setup(env: KeyEnv) -> None:
        if state == "rejected":
            cid = new_case(env)
            lc.reject(env.db, HELPER, cid, "Out of scope")
        else:
            cid = case_in(env, "dispatched")
            with env.db.write() as s:  # overdue, so that 督办 applies
                s.execute(update(Case).where(Case.id == cid).values(deadline_at=utcnow() - timedelta(hours=2)))
            if state == "suspended":
                lc.suspend(env.db, HELPER, cid, "needs a project")
        show(env, cid)

    return setup


def _resumed_in_demo(env: KeyEnv) -> None:
    assert get_case(env.db, env.extra["case"])["status"] == "dispatched", env.window.message.text()
    assert _history(env)["action"] == "resume"


# -- the administrator's window ----------------------------------------------------------------------


def _users(env: KeyEnv) -> None:
    env.window.show_page(env.window.users)


def _select_user(env: KeyEnv, name: str = "op1") -> None:
    _users(env)
    env.window.users.pane.select(env.window.users.model.position_of(name))
    env.window.table.setFocus()


def _page(name: str) -> Any:
    def check(env: KeyEnv) -> None:
        w = env.window
        assert w.work_area.currentWidget() is getattr(w, name).pane
        assert QApplication.focusWidget() is getattr(w, name).pane.table

    return check


def _other_page(env: KeyEnv) -> None:
    env.window.show_page(env.window.mappings)


def _disabled(env: KeyEnv) -> None:
    row = next(r for r in accounts.user_rows(env.db, env.window.actor) if r["name"] == "op1")
    assert row["active"] is False
    assert env.window.message.text() == tr("{name} disabled: they can no longer sign in (x enables again).", name="op1")


def _locked_out(env: KeyEnv) -> None:
    for _ in range(lockout.USER_LIMIT):
        with contextlib.suppress(AuthenticationError):
            accounts.authenticate(env.db, "op1", "wrong-password-1")
    _select_user(env)
    env.window.refresh()


def _unlocked(env: KeyEnv) -> None:
    assert lockout.failures(env.db, lockout.USER, "op1") == (0, None)
    assert env.window.message.text() == tr("{name} can sign in again: the wrong passwords are forgotten.", name="op1")


def _calendar_day(env: KeyEnv) -> None:
    set_day(env.db, env.window.actor, date(2026, 12, 31), "holiday")
    w = env.window
    w.calendar.year = 2026
    w.show_page(w.calendar)
    w.refresh()
    w.calendar.pane.select(w.calendar.model.position_of("2026-12-31"))
    w.table.setFocus()


def _day_removed(env: KeyEnv) -> None:
    assert "2026-12-31" not in {d["date"] for d in year_days(env.db, 2026)}
    assert env.window.message.text() == tr("{day} is an ordinary day again.", day="2026-12-31")


def _calendar(env: KeyEnv) -> None:
    env.window.show_page(env.window.calendar)


def _mappings(env: KeyEnv) -> None:
    mappings.record_services(env.db, "district-open311", [("001", "Abandoned bicycle")])
    env.window.show_page(env.window.mappings)
    env.window.refresh()
    env.window.mappings.pane.select(0)


def _searching(env: KeyEnv) -> None:
    assert QApplication.focusWidget() is env.window.users.pane.filter


def _new_user_elsewhere(env: KeyEnv) -> None:
    _users(env)
    accounts.add_user(env.db, env.window.actor, "late-comer", "operator", "pass-word-9")


def _refreshed(env: KeyEnv) -> None:
    assert "late-comer" in [r["name"] for r in env.window.users.model.rows]


def _export_to_file(env: KeyEnv) -> None:
    from workstation.ui.admin import window as admin_window

    path = Path(tempfile.mkdtemp(prefix="key-effects-")) / "export.csv"
    original = admin_window.QFileDialog.getSaveFileName
    admin_window.QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (str(path), ""))  # type: ignore[method-assign]
    env.extra.update(export=path, restore=original)
    _users(env)


def _exported(env: KeyEnv) -> None:
    from workstation.ui.admin import window as admin_window

    admin_window.QFileDialog.getSaveFileName = env.extra["restore"]  # type: ignore[method-assign]
    lines = env.extra["export"].read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + len(env.window.users.model.shown)
    assert env.window.message.text() == tr("{n} rows exported to {path}.", n=len(lines) - 1, path=env.extra["export"])


EFFECTS: dict[str, KeyEffect | list[KeyEffect]] = {
    "case.supervise": [
        KeyEffect(lambda env: _dialog(env, "#{id}"), lambda env: _case(env, "overdue"), windows=LEADS),
        KeyEffect(lambda env: _dialog(env, "#{id}"), _demo_case("overdue"), windows=DEMO),
    ],
    "case.suspend": [
        KeyEffect(lambda env: _dialog(env, "#{id}"), lambda env: _case(env, "overdue"), windows=LEADS),
        KeyEffect(lambda env: _dialog(env, "#{id}"), _demo_case("overdue"), windows=DEMO),
    ],
    "case.resume": [
        KeyEffect(_resumed, lambda env: _case(env, "suspended"), windows=LEADS),
        KeyEffect(_resumed_in_demo, _demo_case("suspended"), windows=DEMO),
    ],
    "case.reopen": [
        KeyEffect(lambda env: _dialog(env, "#{id}"), lambda env: _case(env, "rejected"), windows=LEADS),
        KeyEffect(lambda env: _dialog(env, "#{id}"), _demo_case("rejected"), windows=DEMO),
    ],
    "case.unit_acknowledge": KeyEffect(_acknowledged, lambda env: _case(env, "dispatched"), windows=SEATS),
    "case.unit_return": KeyEffect(
        lambda env: _dialog(env, "#{id}"), lambda env: _case(env, "dispatched"), windows=SEATS
    ),
    "case.unit_result": KeyEffect(
        lambda env: _dialog(env, "#{id}"), lambda env: _case(env, "dispatched"), windows=SEATS
    ),
    "admin.users": KeyEffect(_page("users"), _other_page, windows=("admin",)),
    "admin.calendar": KeyEffect(_page("calendar"), _other_page, windows=("admin",)),
    "admin.mappings": KeyEffect(_page("mappings"), _users, windows=("admin",)),
    "admin.account_log": KeyEffect(_page("account_log"), _users, windows=("admin",)),
    "admin.user_add": KeyEffect(lambda env: _dialog(env, tr("Add a user")), _users, windows=("admin",)),
    "admin.user_active": KeyEffect(_disabled, _select_user, windows=("admin",)),
    "admin.user_password": KeyEffect(lambda env: _dialog(env, "op1"), _select_user, windows=("admin",)),
    "admin.user_unlock": KeyEffect(_unlocked, _locked_out, windows=("admin",)),
    "admin.user_role": KeyEffect(lambda env: _dialog(env, "op1"), _select_user, windows=("admin",)),
    "admin.user_place": KeyEffect(lambda env: _dialog(env, "op1"), _select_user, windows=("admin",)),
    "admin.calendar_year": KeyEffect(
        lambda env: _dialog(env, tr("Show the calendar of…")), _calendar, windows=("admin",)
    ),
    "admin.holiday_add": KeyEffect(lambda env: _dialog(env, tr("Add a holiday")), _calendar, windows=("admin",)),
    "admin.workday_add": KeyEffect(
        lambda env: _dialog(env, tr("Add a make-up working day")), _calendar, windows=("admin",)
    ),
    "admin.day_remove": KeyEffect(_day_removed, _calendar_day, windows=("admin",)),
    "admin.mapping_edit": KeyEffect(lambda env: _dialog(env, "001"), _mappings, windows=("admin",)),
    "admin.search": KeyEffect(_searching, _users, windows=("admin",)),
    "admin.export": KeyEffect(_exported, _export_to_file, windows=("admin",)),
    "admin.refresh": KeyEffect(_refreshed, _new_user_elsewhere, windows=("admin",)),
}
