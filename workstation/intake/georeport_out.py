"""Outbound to GeoReport v2 peers: a case dispatched to a unit whose system is a GeoReport v2 server.

A target of kind ``georeport`` names the peer's endpoint root (``url``), the units that live there
(``units``) and its ``api_key`` (credentials in the settings file). When a case is dispatched (or a
co-unit added) to such a unit, the lifecycle hook writes one ``georeport_outbound`` row in the same
transaction; ``send_due`` then posts the request the spec's way (``POST {url}/requests.json``, form
fields ``api_key``, ``service_code``, ``lat``/``long``, ``address_string``, ``description``,
``media_url``, plus ``client_request_id`` = the case id, which servers that do not know it ignore),
keeps the ``service_request_id`` or ``token`` the peer answers, and retries timeouts and 5xx with
back-off. A redirect is refused (a POST must not turn into a GET), other 4xx answers fail at once with
the peer's own description. ``poll_status`` learns each request's status: ``GET tokens/{token}``
until the peer names the request, then ``GET requests.json?service_request_id=…`` in batches.

The peer's service code for a category is the ``service_mappings`` row of the target's name that maps
to it (``workstation intake mapping``), else the category code itself (right for another workstation).
The reporter's name and phone are never sent.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workstation.i18n import tr
from workstation.intake.formats import loads_lenient
from workstation.intake.http import RETRYABLE_STATUS, USER_AGENT, backoff, describe
from workstation.intake.items import PageError, clip
from workstation.intake.settings import Settings, TargetConfig
from workstation.models import Case, CaseEvent, GeoReportOutbound, Grid, OutboundTarget, ServiceMapping, utcnow
from workstation.services import lifecycle
from workstation.services.notices import notify
from workstation.storage.db import Database

KIND = "georeport"
CLAIM = timedelta(seconds=120)
BATCH = 50


def record_dispatch(s: Session, case: Case, event: CaseEvent) -> None:
    """The lifecycle hook: a dispatch to a unit living at a GeoReport peer writes its outbound row."""
    if event.action == "dispatch":
        unit = case.unit_code or ""
    elif event.action == "add_unit":
        unit = str((event.details or {}).get("unit") or "")
    else:
        return
    if not unit:
        return
    targets = s.scalars(
        select(OutboundTarget).where(OutboundTarget.active.is_(True), OutboundTarget.kind == KIND)
    ).all()
    for target in targets:
        if unit not in (target.units or []) or (target.events and event.action not in target.events):
            continue
        known = s.scalar(
            select(GeoReportOutbound.id).where(
                GeoReportOutbound.target == target.name, GeoReportOutbound.case_id == case.id
            )
        )
        if known is None:
            now = event.at or utcnow()
            s.add(
                GeoReportOutbound(
                    target=target.name,
                    case_id=case.id,
                    unit_code=unit,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )


def install() -> None:
    """Register the hook (once)."""
    if record_dispatch not in lifecycle.after_transition:
        lifecycle.after_transition.append(record_dispatch)


@dataclass
class Exchange:
    """What one round with the peers did (row ids)."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)

    def line(self) -> str:
        """One status line."""
        return tr(
            "GeoReport peers: {sent} posted, {retrying} to retry, {failed} failed, {updated} statuses learned",
            sent=len(self.sent),
            retrying=len(self.retrying),
            failed=len(self.failed),
            updated=len(self.updated),
        )

    def busy(self) -> bool:
        """Whether anything happened."""
        return bool(self.sent or self.retrying or self.failed or self.updated)


def _service_code(s: Session, target: str, category: str | None) -> str | None:
    if not category:
        return None
    mapped = s.scalar(
        select(ServiceMapping.service_code)
        .where(ServiceMapping.source == target, ServiceMapping.category_code == category)
        .order_by(ServiceMapping.service_code)
        .limit(1)
    )
    return mapped or category


def _form(s: Session, row: GeoReportOutbound, target: TargetConfig) -> dict[str, str] | str:
    """The posted fields, or the reason the case cannot be posted."""
    case = s.get(Case, row.case_id)
    if case is None:  # pragma: no cover - cases are never deleted
        return tr("the case no longer exists")
    code = _service_code(s, target.name, case.category_code)
    if code is None:
        return tr("the case has no category, so no service code for the peer")
    form = {"service_code": code, "description": case.text[:4000], "client_request_id": str(case.id)}
    if case.lat is not None and case.lon is not None:
        form.update(lat=f"{case.lat:.6f}", long=f"{case.lon:.6f}")
    elif case.grid_code and (grid := s.get(Grid, case.grid_code)) is not None:  # no point: the grid's centre
        form.update(lat=f"{(grid.min_lat + grid.max_lat) / 2:.6f}", long=f"{(grid.min_lon + grid.max_lon) / 2:.6f}")
    if case.address:
        form["address_string"] = case.address[:300]
    photo = next((p for p in case.photos or [] if p.startswith(("http://", "https://"))), None)
    if photo:
        form["media_url"] = photo
    if target.credentials.api_key:
        form["api_key"] = target.credentials.api_key
    return form


def _claim(db: Database, row: GeoReportOutbound, now: datetime) -> bool:
    with db.write() as s:
        done = s.execute(
            update(GeoReportOutbound)
            .where(
                GeoReportOutbound.id == row.id,
                GeoReportOutbound.status == "pending",
                GeoReportOutbound.attempts == row.attempts,
                GeoReportOutbound.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + CLAIM)
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _errors(body: bytes) -> str:
    """The peer's own error description, if it answered in the spec's format."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = loads_lenient(text)
    except (ValueError, PageError):
        return clip(text, 200)
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        return "; ".join(f"{e.get('code', '?')} {clip(str(e.get('description', '')), 200)}" for e in data[:3])
    return clip(text, 200)


def _answer(body: bytes) -> tuple[str | None, str | None]:
    """``(service_request_id, token)`` from a POST answer (either may be missing)."""
    data = loads_lenient(body.decode("utf-8", "replace"))
    if isinstance(data, Mapping):
        data = data.get("service_requests", [data])
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}
    sid = str(first.get("service_request_id") or "").strip() or None
    token = str(first.get("token") or "").strip() or None
    return sid, token


def send_due(
    db: Database, settings: Settings, session: requests.Session | None = None, now: datetime | None = None
) -> Exchange:
    """Post the requests that are due to their peers (one attempt each); see the module docstring."""
    session = session or requests.Session()
    now = now or utcnow()
    report = Exchange()
    with db.read() as s:
        rows = list(
            s.scalars(
                select(GeoReportOutbound)
                .where(GeoReportOutbound.status == "pending", GeoReportOutbound.next_attempt_at <= now)
                .order_by(GeoReportOutbound.id)
                .limit(BATCH)
            )
        )
    for row in rows:
        if not _claim(db, row, now):
            continue
        target = settings.target(row.target)
        error: str | None = None
        retryable = False
        sid = token = None
        if target is None or target.kind != KIND:
            error = tr("the target {name} is not a georeport target in the settings", name=row.target)
        else:
            with db.read() as s:
                form = _form(s, row, target)
            if isinstance(form, str):
                error = form
            else:
                error, retryable, sid, token = _post(session, target, form, row.case_id)
        with db.write() as s:
            current = s.get(GeoReportOutbound, row.id)
            assert current is not None
            current.attempts += 1
            if error is None:
                current.status, current.sent_at, current.last_error = "sent", now, None
                current.service_request_id, current.token = sid, token
                report.sent.append(row.id)
            else:
                current.last_error = error
                if retryable and current.attempts < settings.outbox.attempts:
                    current.next_attempt_at = now + timedelta(seconds=backoff(settings.outbox, current.attempts))
                    report.retrying.append(row.id)
                else:
                    current.status = "failed"
                    report.failed.append(row.id)
    if report.busy():
        notify("georeport", report.sent + report.retrying + report.failed)
    return report


def _post(
    session: requests.Session, target: TargetConfig, form: dict[str, str], case_id: int
) -> tuple[str | None, bool, str | None, str | None]:
    """One POST: ``(error, retryable, service_request_id, token)``."""
    url = f"{target.url.rstrip('/')}/requests.json"
    try:
        r = session.post(
            url,
            data=form,
            headers={"User-Agent": USER_AGENT, "Idempotency-Key": f"case-{case_id}", "Accept": "application/json"},
            timeout=(min(target.timeout_s, 10.0), target.timeout_s),
            allow_redirects=False,
        )
        body = r.content
    except requests.RequestException as exc:
        return describe(exc), True, None, None
    if 300 <= r.status_code < 400:
        where = r.headers.get("Location", "")
        return (
            tr("HTTP {status}: redirected to {where}; a POST is not followed", status=r.status_code, where=where),
            False,
            None,
            None,
        )
    if not 200 <= r.status_code < 300:
        retryable = r.status_code in RETRYABLE_STATUS or r.status_code >= 500
        return (
            tr("HTTP {status} from {url}: {body}", status=r.status_code, url=url, body=_errors(body)),
            retryable,
            None,
            None,
        )
    try:
        sid, token = _answer(body)
    except (ValueError, TypeError, PageError):
        sid = token = None
    if sid is None and token is None:
        return (
            tr(
                "the peer answered without a service_request_id or token: {body}",
                body=clip(body.decode("utf-8", "replace"), 200),
            ),
            False,
            None,
            None,
        )
    return None, False, sid, token


def poll_status(
    db: Database, settings: Settings, session: requests.Session | None = None, now: datetime | None = None
) -> Exchange:
    """Learn the status of every request posted to a peer (tokens resolved first)."""
    session = session or requests.Session()
    now = now or utcnow()
    report = Exchange()
    with db.read() as s:
        rows = list(s.scalars(select(GeoReportOutbound).where(GeoReportOutbound.status == "sent")))
    by_target: dict[str, list[GeoReportOutbound]] = defaultdict(list)
    for row in rows:
        by_target[row.target].append(row)
    for name, group in by_target.items():
        target = settings.target(name)
        if target is None or target.kind != KIND:
            continue
        base = target.url.rstrip("/")
        timeout = (min(target.timeout_s, 10.0), target.timeout_s)
        ids: dict[str, int] = {}
        for row in group:
            if row.service_request_id is None and row.token:
                sid = _token(session, base, row.token, timeout)
                if sid:
                    with db.write() as s:
                        current = s.get(GeoReportOutbound, row.id)
                        assert current is not None
                        current.service_request_id = sid
                    row.service_request_id = sid
            if row.service_request_id:
                ids[row.service_request_id] = row.id
        keys = sorted(ids)
        for i in range(0, len(keys), BATCH):
            part = keys[i : i + BATCH]
            try:
                r = session.get(
                    f"{base}/requests.json",
                    params={"service_request_id": ",".join(part)},
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                    timeout=timeout,
                )
                data = loads_lenient(r.text) if r.status_code == 200 else None
            except (requests.RequestException, ValueError, PageError):
                data = None
            if not isinstance(data, list):
                continue
            for entry in data:
                if not isinstance(entry, Mapping):
                    continue
                row_id = ids.get(str(entry.get("service_request_id") or ""))
                if row_id is None:
                    continue
                if _update(db, row_id, entry, now):
                    report.updated.append(row_id)
    if report.updated:
        notify("georeport", report.updated)
    return report


def _token(session: requests.Session, base: str, token: str, timeout: tuple[float, float]) -> str | None:
    try:
        r = session.get(f"{base}/tokens/{token}.json", headers={"User-Agent": USER_AGENT}, timeout=timeout)
        data = loads_lenient(r.text) if r.status_code == 200 else None
    except (requests.RequestException, ValueError, PageError):
        return None
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        return str(data[0].get("service_request_id") or "").strip() or None
    return None


def _update(db: Database, row_id: int, entry: Mapping[str, Any], now: datetime) -> bool:
    """Keep what the peer says of one request; True when it changed."""
    status = clip(str(entry.get("status") or ""), 20) or None
    notes = clip(str(entry.get("status_notes") or ""), 2000) or None
    updated = clip(str(entry.get("updated_datetime") or ""), 40) or None
    with db.write() as s:
        row = s.get(GeoReportOutbound, row_id)
        assert row is not None
        changed = (row.remote_status, row.remote_notes, row.remote_updated_at) != (status, notes, updated)
        row.remote_status, row.remote_notes, row.remote_updated_at, row.polled_at = status, notes, updated, now
    return changed


POLL_EVERY_S = 60.0  # how often a round asks the peers for statuses (posting is every round)
_last_poll: dict[int, float] = {}


def exchange(
    db: Database, settings: Settings, session: requests.Session | None = None, poll_every_s: float = POLL_EVERY_S
) -> Exchange:
    """One round: post what is due, and learn the statuses when the last poll is ``poll_every_s`` old."""
    session = session or requests.Session()
    sent = send_due(db, settings, session)
    if sent.sent or time.monotonic() - _last_poll.get(id(db), -math.inf) >= poll_every_s:
        _last_poll[id(db)] = time.monotonic()
        sent.updated = poll_status(db, settings, session).updated
    return sent


def list_outbound(db: Database, case_id: int | None = None) -> list[dict[str, Any]]:
    """Requests posted (or to post) to peers, oldest first, as plain data (for the window and the CLI)."""
    with db.read() as s:
        query = select(GeoReportOutbound).order_by(GeoReportOutbound.id)
        if case_id is not None:
            query = query.where(GeoReportOutbound.case_id == case_id)
        return [
            {
                "id": r.id,
                "target": r.target,
                "case_id": r.case_id,
                "unit": r.unit_code,
                "status": r.status,
                "attempts": r.attempts,
                "service_request_id": r.service_request_id,
                "token": r.token,
                "remote_status": r.remote_status,
                "remote_notes": r.remote_notes,
                "remote_updated_at": r.remote_updated_at,
                "last_error": r.last_error,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "polled_at": r.polled_at.isoformat() if r.polled_at else None,
            }
            for r in s.scalars(query)
        ]
