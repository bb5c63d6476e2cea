"""What the trainer can inject into a run (``Ctrl+I``): the kinds of event, and the pickers that choose one.

:func:`choose_event` asks, by keyboard, for the kind of event and then what it needs (a category,
a scripted report, a kind of report to reject, a report of the run) and returns what
``Simulation.inject`` takes, or None when the trainer pressed Esc.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from workstation.demo.scenarios import list_scenarios
from workstation.demo.sim import Simulation
from workstation.demo.texts import REJECT_KINDS
from workstation.domain.lifecycle import N_
from workstation.i18n import state_label, tr
from workstation.models import Case, Category
from workstation.storage.db import Database
from workstation.ui.pickers import PickItem

Pick = Callable[..., Any]
"""``pick(title, items, **picker_options)``: the chosen key, or None."""

INJECT_KINDS: list[tuple[str, str, str]] = [
    ("report", N_("A new report"), N_("any category, any channel, somewhere in the district")),
    ("category", N_("A new report of a category…"), N_("pick the category")),
    ("scenario", N_("A report from a scenario…"), N_("one of the scripted reports, with its answer")),
    ("duplicate", N_("A duplicate of a report of this run…"), N_("the same problem again, from another channel")),
    ("reject", N_("A report to reject…"), N_("vague, abusive or out of scope")),
    ("unit_return", N_("A unit returns a case…"), N_("as soon as the case is dispatched")),
    ("extension_request", N_("A unit asks for more time…"), N_("as soon as the case is with its unit")),
    ("verification_fail", N_("The grid member finds a case not solved…"), N_("as soon as it is sent to verification")),
]
REJECT_LABELS = {
    "vague": N_("Vague: the place or the problem cannot be told"),
    "abusive": N_("Abusive or malicious"),
    "out_of_scope": N_("Out of scope for grid governance"),
}


def choose_event(pick: Pick, db: Database, sim: Simulation, notify: Callable[..., None]) -> Any:
    """Ask which event to inject; returns it as ``Simulation.inject`` takes it, or None."""
    kinds = [PickItem(kind, tr(label), tr(detail), (kind,)) for kind, label, detail in INJECT_KINDS]
    kind = pick(tr("Inject an event"), kinds)
    if kind is None:
        return None
    if kind == "report":
        return {"kind": "report"}
    if kind == "category":
        with db.read() as s:
            cats = s.scalars(select(Category).where(Category.active).order_by(Category.code)).all()
            items = [PickItem(c.code, f"{c.code} {c.name}", c.major_name, (c.code, *c.keywords)) for c in cats]
        code = pick(tr("A new report of the category…"), items)
        return {"kind": "report", "category": code} if code else None
    if kind == "scenario":
        items = [
            PickItem(r, f"{sc.title} · {r.key}", r.text, (sc.name, sc.title, r.key, r.text))
            for sc in list_scenarios()
            for r in sc.reports
        ]
        return pick(tr("Which scripted report?"), items)
    if kind == "reject":
        items = [PickItem(k, tr(REJECT_LABELS[k]), k, (k,)) for k in REJECT_KINDS]
        why = pick(tr("A report to reject: which kind?"), items)
        return {"kind": "reject", "reason": why} if why else None
    key = _run_report(pick, db, sim, kind, notify)
    if key is None:
        return None
    return {"kind": "duplicate", "of": key} if kind == "duplicate" else {"kind": kind, "report": key}


def _run_report(pick: Pick, db: Database, sim: Simulation, kind: str, notify: Callable[..., None]) -> str | None:
    """A report of this run, newest first."""
    answers = sim.answers()
    if not answers:
        notify(tr("No report has arrived in this run yet."), error=True)
        return None
    ids = {key: sim.case_of(key) for key in answers}
    with db.read() as s:
        found = s.execute(select(Case.id, Case.status, Case.text).where(Case.id.in_([i for i in ids.values() if i])))
        cases = {row.id: (row.status, row.text) for row in found}
    items = []
    for key, case_id in sorted(ids.items(), key=lambda kv: -(kv[1] or 0)):
        status, text = cases.get(case_id or 0, ("", ""))
        label = f"{key} · #{case_id} · {state_label(status) if status else ''}"
        items.append(PickItem(key, label, text[:60], (key, str(case_id))))
    titles = {k: tr(label) for k, label, _ in INJECT_KINDS}
    chosen = pick(titles.get(kind, kind), items, hint=tr("Which report of this run?"))
    return str(chosen) if chosen is not None else None
