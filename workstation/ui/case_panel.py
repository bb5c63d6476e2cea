"""The selected case: what was reported, where, by whom (phone masked), its history and its deadline."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from workstation.domain.lifecycle import RUNNING, State
from workstation.domain.privacy import mask_phone
from workstation.domain.reasons import reason_text
from workstation.formatting import duration
from workstation.i18n import action_label, state_label, tr
from workstation.models import utcnow
from workstation.services import photos
from workstation.services.errors import NotFoundError
from workstation.storage.db import Database
from workstation.ui.photo_view import PhotoStrip, PixmapCache
from workstation.ui.queue_model import countdown
from workstation.ui.supervision.map_view import CaseLocation


def _esc(value: Any) -> str:
    return html.escape(str(value)) if value not in (None, "") else "—"


class CasePanel(QWidget):
    """Shows one case; the countdown above it ticks every second; its photos as thumbnails below."""

    def __init__(self, parent: QWidget | None = None, db: Database | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("casePanel")
        self.db = db
        self.case: dict[str, Any] | None = None
        self.photos: list[photos.PhotoView] = []
        self.cache = PixmapCache(self._load)
        self.strip = PhotoStrip(self.cache)
        self.holder: str | None = None
        self.me = ""
        self.countdown = QLabel()
        self.countdown.setObjectName("countdown")
        self.countdown.setTextFormat(Qt.TextFormat.PlainText)
        self.body = QTextBrowser()
        self.body.setOpenLinks(False)
        self.body.setObjectName("caseBody")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.countdown)
        layout.addWidget(self.body, 1)
        self.location: CaseLocation | None = None
        if db is not None:  # where the case is, on the territory's own map
            self.location = CaseLocation(db)
            layout.addWidget(self.location)
        layout.addWidget(self.strip)
        self.show_case(None)

    def show_case(self, case: dict[str, Any] | None, holder: str | None = None) -> None:
        """Show a case (None: nothing selected)."""
        self.case, self.holder = case, holder
        self.refresh_photos(rerender=False)
        if self.location is not None:
            self.location.show_case(case)
        if case is None:
            self.body.setHtml(f"<p style='color:#666'>{_esc(tr('No case selected.'))}</p>")
            self.tick()
            return
        self.body.setHtml(self._html(case, holder))
        self.tick()

    def _load(self, sha: str) -> bytes | None:
        return photos.blob_data(self.db, sha) if self.db is not None else None

    def refresh_photos(self, rerender: bool = True) -> None:
        """Read the shown case's photos again (a background round stored or gave up on some)."""
        views: list[photos.PhotoView] = []
        if self.case is not None and self.db is not None:
            try:
                views = photos.case_photos(self.db, self.case["id"])
            except NotFoundError:
                views = []
        if views != self.photos or not views:
            self.photos = views
            self.strip.show_views(views)
            if rerender and views and self.case is not None:
                self.body.setHtml(self._html(self.case, self.holder))

    def tick(self) -> None:
        """Update the countdown line."""
        case = self.case
        if case is None or not case.get("deadline"):
            self.countdown.setText("")
            self.countdown.setProperty("state", "none")
            self.countdown.setVisible(False)
            return
        self.countdown.setVisible(True)
        deadline = datetime.fromisoformat(case["deadline"])
        now = utcnow()
        if State(case["status"]) in RUNNING:
            left = countdown(deadline, now)
            if deadline < now:
                text, state = (
                    tr(
                        "⚠ OVERDUE by {left} — deadline {when}",
                        left=duration((now - deadline).total_seconds()),
                        when=deadline.strftime("%m-%d %H:%M"),
                    ),
                    "overdue",
                )
            else:
                text, state = (
                    tr("⏱ {left} left — deadline {when}", left=left, when=deadline.strftime("%m-%d %H:%M")),
                    "running",
                )
        else:
            text, state = tr("Deadline was {when}", when=deadline.strftime("%m-%d %H:%M")), "none"
        self.countdown.setText(text)
        if self.countdown.property("state") != state:
            self.countdown.setProperty("state", state)
            self.countdown.style().unpolish(self.countdown)
            self.countdown.style().polish(self.countdown)

    def _html(self, c: dict[str, Any], holder: str | None) -> str:
        place = " / ".join(x for x in (c.get("street"), c.get("community"), c.get("grid_name")) if x)
        urgent = c["priority"] <= 1
        rows = [
            (
                tr("Channel"),
                f"{_esc(c['channel_label'])}" + (f" · #{_esc(c['external_id'])}" if c["external_id"] else ""),
            ),
            (tr("Reporter"), f"{_esc(c['reporter_name'])} {_esc(mask_phone(c['reporter_phone']))}"),
            (tr("Address"), _esc(c["address"])),
            (tr("Place"), _esc(place or tr("not in any grid"))),
            (tr("Received"), _esc((c["received"] or "")[:16].replace("T", " "))),
            (
                tr("Category"),
                _esc(f"{c['category_code']} {c['category_major']} / {c['category_name']}")
                if c["category_code"]
                else _esc(tr("not filed yet"))
                + (
                    " · " + _esc(tr("the source calls it {name}", name=c["source_service"]))
                    if c.get("source_service")
                    else ""
                ),
            ),
            (
                tr("Unit"),
                _esc(c["unit_name"])
                + (" + " + _esc(", ".join(u["name"] for u in c.get("co_units", []))) if c.get("co_units") else ""),
            ),
            (tr("Closure standard"), _esc(c["closure_standard"])),
        ]
        if self.photos:
            failed = sum(1 for p in self.photos if p.state == photos.FAILED)
            rows.append(
                (
                    tr("Photos"),
                    _esc(
                        tr(
                            "{before} reported · {after} from the unit",
                            before=sum(1 for p in self.photos if p.kind == photos.BEFORE),
                            after=sum(1 for p in self.photos if p.kind == photos.AFTER),
                        )
                    )
                    + (
                        f" · <span style='color:#b71c1c'>⚠ {_esc(tr('{n} could not be fetched', n=failed))}</span>"
                        if failed
                        else ""
                    ),
                )
            )
        if c.get("result"):
            rows.append((tr("Result"), _esc(c["result"])))
        for req in (x for x in c.get("extensions", []) if x["status"] == "pending"):
            rows.append(
                (
                    tr("Extension asked"),
                    _esc(
                        tr(
                            "{limit} more, asked by {who}: {reason}",
                            limit=req["limit"],
                            who=req["requested_by"],
                            reason=req["reason"],
                        )
                    )
                    + " · "
                    + _esc(tr("a shift lead decides (e)")),
                )
            )
        if c.get("merged_into"):
            rows.append((tr("Merged into"), _esc(c["merged_into"])))
        taken = ""
        if holder and holder != self.me:
            taken = (
                f"<p style='background:#f3e5f5;color:#4a148c;padding:4px'>"
                f"{_esc(tr('Open at {who} — their case until they move on.', who=holder))}</p>"
            )
        badge = f"<span style='color:#c62828'>● {_esc(tr('urgent'))}</span> " if urgent else ""
        head = (
            f"<h2 style='margin:0'>{badge}#{c['id']} · {_esc(state_label(c['status']))}"
            + (f" · <span style='color:#b71c1c'>{_esc(tr('OVERDUE'))}</span>" if c["overdue"] else "")
            + "</h2>"
        )
        table = "".join(
            f"<tr><td style='color:#555;padding-right:12px;white-space:nowrap'>{_esc(k)}</td><td>{v}</td></tr>"
            for k, v in rows
        )
        history = "".join(
            f"<tr><td style='color:#555;white-space:nowrap'>{_esc((e['at'] or '')[5:16].replace('T', ' '))}</td>"
            f"<td style='padding:0 8px'><b>{_esc(action_label(e['action']))}</b></td>"
            f"<td>{_esc(e['who'])}</td>"
            f"<td>{_esc(state_label(e['to']))}</td>"
            f"<td style='color:#333'>{_esc(reason_text(e['reason']))}</td></tr>"
            for e in c.get("history", [])
        )
        return (
            f"{head}{taken}<p style='font-size:15px'>{_esc(c['text'])}</p>"
            f"<table cellspacing='2'>{table}</table>"
            f"<h3>{_esc(tr('History'))}</h3><table cellspacing='2'>{history}</table>"
        )
