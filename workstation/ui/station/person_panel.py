"""One person's page beside the worklist: groups and risk, contacts (masked), schedule, visit history.

Masked values are shown masked, each with a hint that ``s`` reveals it (with a reason, recorded).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from workstation.domain.care import AREAS, CHANGE_KINDS, GENDERS, MODES
from workstation.i18n import tr
from workstation.ui.station.worklist_model import COLOURS, STATES, reason_text, short_time, state_of


def esc(value: Any) -> str:
    """HTML-escaped text, or a dash for nothing."""
    return html.escape(str(value)) if value not in (None, "") else "—"


def masked(value: Any) -> bool:
    """Whether a shown value hides something (``*`` in it)."""
    return isinstance(value, str) and "*" in value


def badge(state: str, extra: str = "") -> str:
    """A status as coloured text (the words carry the meaning, the colour helps)."""
    fg, bg = COLOURS[state]
    style = f"color:{fg};" + (f"background:{bg};" if bg else "") + "padding:1px 6px;font-weight:bold"
    return f"<span style='{style}'>{esc(tr(STATES[state]) + extra)}</span>"


class PersonPanel(QWidget):
    """Shows one person's page (as read by ``care_worklist.person_page``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("personPanel")
        self.page: dict[str, Any] | None = None
        self.body = QTextBrowser()
        self.body.setObjectName("personBody")
        self.body.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.body)
        self.show_person(None)

    def show_person(self, page: dict[str, Any] | None, *, keep_scroll: bool = False) -> None:
        """Show a person's page (None: nobody selected)."""
        self.page = page
        bar = self.body.verticalScrollBar()
        position = bar.value()
        if page is None:
            self.body.setHtml(f"<p style='color:#666'>{esc(tr('Nobody selected.'))}</p>")
            return
        self.body.setHtml(self._html(page))
        if keep_scroll:
            bar.setValue(position)

    def text(self) -> str:
        """The page as plain text (for tests and copying)."""
        return self.body.toPlainText()

    # -- html --------------------------------------------------------------------------------------

    def _field(self, value: Any, can_reveal: bool) -> str:
        shown = esc(value)
        if masked(value) and can_reveal:
            shown += f" <span style='color:#888'>{esc(tr('(masked · s reveals)'))}</span>"
        elif masked(value):
            shown += f" <span style='color:#888'>{esc(tr('(masked)'))}</span>"
        return shown

    def _html(self, p: dict[str, Any]) -> str:
        can = bool(p.get("can_reveal"))
        sched = p.get("schedule") or {}
        state = state_of(sched) if sched else "none"
        late = tr(" · {n} d", n=sched["overdue_days"]) if sched.get("overdue_days") else ""
        gender = tr(GENDERS[p["gender"]]) if p.get("gender") in GENDERS else ""
        age = tr("{n} years", n=p["age"]) if p.get("age") is not None else ""
        risk = (
            f" <span style='color:#b71c1c;font-weight:bold'>▲ {esc(tr('high risk'))}</span>"
            if p["risk"] == "high"
            else ""
        )
        minor = f" <span style='color:#555'>{esc(tr('minor: personal fields masked'))}</span>" if p.get("minor") else ""
        head = (
            f"<h2 style='margin:0'>{self._field(p['name'], can)} "
            f"<span style='font-size:13px;color:#555'>{esc(' · '.join(x for x in (gender, age) if x) or '')}"
            f" · #{p['id']}</span></h2>"
            f"<p style='margin:4px 0'>{badge(state, late)}{risk}{minor}</p>"
        )
        rows = [
            (tr("Place"), esc(f"{p['community_name']} / {p['grid_name']}")),
            (tr("Visitor"), esc(p.get("visitor"))),
            (tr("Living"), esc(p.get("living_label"))),
            (tr("Address"), self._field(p.get("address"), can)),
            (tr("Phone"), self._field(p.get("phone"), can)),
            (tr("Identity number"), self._field(p.get("id_number"), can)),
            (tr("Birth date"), self._field(p.get("birth_date"), can)),
            (tr("Contacts"), self._contacts(p.get("contacts") or [], can)),
            (tr("Health notes"), self._field(p.get("health_notes"), can)),
            (tr("Notes"), self._field(p.get("notes"), can)),
        ]
        out = [head, self._table(rows)]
        out.append(f"<h3>{esc(tr('Schedule'))}</h3>")
        out.append(self._schedule(sched) if sched else f"<p>{esc(tr('In no group now: no visits due.'))}</p>")
        out.append(f"<h3>{esc(tr('Groups'))}</h3>{self._groups(p.get('memberships') or [])}")
        pending = [c for c in p.get("changes") or [] if c.get("pending")]
        if pending:
            out.append(f"<h3>{esc(tr('Major changes not yet answered by a visit'))}</h3>")
            out.append(
                "<ul>"
                + "".join(
                    f"<li>{esc(short_time(c['at'], with_time=True))} <b>{esc(self._kind(c['kind']))}</b> "
                    f"{esc(c.get('note') or '')}</li>"
                    for c in pending
                )
                + "</ul>"
            )
        visits = p.get("visits") or []
        out.append(f"<h3>{esc(tr('Visits ({n}), newest first', n=len(visits)))}</h3>")
        out.append("".join(self._visit(v) for v in visits) or f"<p>{esc(tr('No visits yet.'))}</p>")
        if can:
            hint = tr("Masked fields: press s to see one in clear, with a reason; every reveal is recorded.")
            out.append(f"<p style='color:#666'>{esc(hint)}</p>")
        return "".join(out)

    @staticmethod
    def _kind(kind: str) -> str:
        return tr(CHANGE_KINDS[kind]) if kind in CHANGE_KINDS else kind

    @staticmethod
    def _table(rows: list[tuple[str, str]]) -> str:
        cells = "".join(
            f"<tr><td style='color:#555;padding-right:12px;white-space:nowrap'>{esc(k)}</td><td>{v}</td></tr>"
            for k, v in rows
        )
        return f"<table cellspacing='2'>{cells}</table>"

    def _contacts(self, contacts: list[dict[str, str]], can: bool) -> str:
        if not contacts:
            return "—"
        return "<br>".join(
            f"{self._field(c.get('name'), False)} ({esc(c.get('relation'))}) {self._field(c.get('phone'), can)}"
            for c in contacts
        )

    def _schedule(self, s: dict[str, Any]) -> str:
        urgent = s.get("reason") == "urgent"
        rows = [
            (tr("Due"), esc(short_time(s.get("due"), with_time=True) if urgent else short_time(s.get("due")))),
            (tr("Window opens"), esc(short_time(s.get("window_opens")))),
            (tr("Why"), esc(reason_text(s))),
            (tr("Every"), esc(tr("{n} days", n=s["interval_days"]) if s.get("interval_days") else "")),
            (
                tr("Last visit"),
                esc(" · ".join(x for x in (short_time(s.get("last_visit")), s.get("last_visitor") or "") if x)),
            ),
        ]
        return self._table(rows)

    @staticmethod
    def _groups(memberships: list[dict[str, Any]]) -> str:
        if not memberships:
            return f"<p>{esc(tr('None.'))}</p>"
        items = []
        for m in memberships:
            risk = (
                f"<span style='color:#b71c1c;font-weight:bold'>{esc(tr('high risk'))}</span>"
                if m["risk"] == "high"
                else esc(tr("normal risk"))
            )
            until = f" – {m['until']}" if m.get("until") else ""
            ended = "" if m.get("active") else f" <span style='color:#888'>{esc(tr('(ended)'))}</span>"
            items.append(f"<li><b>{esc(m['group_name'])}</b> · {risk} · {esc(m['since'])}{esc(until)}{ended}</li>")
        return "<ul>" + "".join(items) + "</ul>"

    def _visit(self, v: dict[str, Any]) -> str:
        mode = tr(MODES[v["mode"]]) if v["mode"] in MODES else v["mode"]
        met = esc(tr("met")) if v["met"] else f"<span style='color:#b71c1c'>{esc(tr('not met'))}</span>"
        recorded = tr(
            "recorded {at} by {who}",
            at=short_time(v["recorded_at"], with_time=True),
            who=v.get("recorded_by") or "",
        )
        head = (
            f"<p style='margin:8px 0 2px 0'><b>{esc(short_time(v['at'], with_time=True))}</b> · {esc(mode)} · "
            f"{met} · {esc(v.get('visitor'))} <span style='color:#666'>({esc(recorded)})</span></p>"
        )
        lines = []
        for area, obs in (v.get("observations") or {}).items():
            concern = obs.get("status") == "concern"
            label = tr("concern") if concern else tr("ok")
            colour = "#b71c1c" if concern else "#2e7d32"
            note = f" — {esc(obs['note'])}" if obs.get("note") else ""
            lines.append(
                f"<li>{esc(tr(AREAS.get(area, area)))}: <span style='color:{colour}'>{esc(label)}</span>{note}</li>"
            )
        for n in v.get("needs") or []:
            if n.get("case_id"):
                case = f"<b>{esc(tr('case #{id}', id=n['case_id']))}</b>"
            else:
                case = f"<span style='color:#8a4b00'>{esc(tr('no case raised (n raises it)'))}</span>"
            urgent = f"<span style='color:#b71c1c'>! {esc(tr('urgent'))}</span> " if n.get("urgent") else ""
            lines.append(f"<li>{esc(tr('Need'))}: {urgent}{esc(n['text'])} → {case}</li>")
        if v.get("next_due"):
            lines.append(
                f"<li>{esc(tr('Next visit set to {date}', date=short_time(v['next_due'])))}: "
                f"{esc(v.get('next_due_reason'))}</li>"
            )
        if v.get("note"):
            lines.append(f"<li>{esc(tr('Note'))}: {esc(v['note'])}</li>")
        return head + ("<ul style='margin-top:0'>" + "".join(lines) + "</ul>" if lines else "")
