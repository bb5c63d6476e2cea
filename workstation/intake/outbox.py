"""The outbox: outbound messages written with the change that causes them, sent later, retried.

``install()`` adds a hook to ``services.lifecycle.after_transition``: inside the transaction of every
lifecycle action it writes the messages the action causes (``intake.messages``) for the active
targets. If the action fails, no message exists; if it commits, its messages do.

``send_pending`` sends what is due, one attempt per message per call, with the row's uuid as the
``Idempotency-Key`` header (a message sent twice after a crash is recognised by the receiver).
A failed attempt is tried again after an exponential back-off (``next_attempt_at``) until the row's
attempt budget is spent; then it is ``failed`` with its reason until someone retries it. Messages of
one case to one target are sent in order: a later one waits while an earlier one is not sent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import N_, Role
from workstation.i18n import tr
from workstation.intake import messages, status
from workstation.intake.http import FetchError, backoff, request
from workstation.intake.settings import Credentials, Retry, Settings
from workstation.models import Case, CaseEvent, OutboundTarget, OutboxMessage, utcnow
from workstation.services import lifecycle
from workstation.services.actors import Actor
from workstation.services.errors import NotFoundError, ValidationError
from workstation.services.notices import notify
from workstation.storage.db import Database

DEFAULT_BUDGET = 8
CLAIM = timedelta(seconds=120)  # a row being sent is not picked up by another seat meanwhile
STATUSES = ("pending", "sent", "failed")
STATUS_NAMES: dict[str, str] = {"pending": N_("pending"), "sent": N_("sent"), "failed": N_("failed")}
KIND_NAMES: dict[str, str] = {
    "dispatch_order": N_("Dispatch order"),
    "withdrawal": N_("Withdrawal"),
    "status_change": N_("Status change"),
    "open311_update": N_("Open311 update"),
}


def write_messages(s: Session, case: Case, event: CaseEvent) -> None:
    """The lifecycle hook: write this event's messages in the action's own transaction."""
    targets = s.scalars(select(OutboundTarget).where(OutboundTarget.active.is_(True))).all()
    if not targets:
        return
    now = event.at or utcnow()
    for m in messages.for_event(s, case, event, targets):
        s.add(
            OutboxMessage(
                uuid=m.uuid,
                target=m.target.name,
                kind=m.kind,
                case_id=case.id,
                event_id=event.id,
                url=m.target.url,
                content_type=m.content_type,
                body=m.body,
                status="pending",
                attempts=0,
                budget=DEFAULT_BUDGET,
                next_attempt_at=now,
                created_at=now,
            )
        )


def set_budget(attempts: int) -> None:
    """The number of attempts new messages get (the settings file's ``outbox.attempts``)."""
    global DEFAULT_BUDGET
    DEFAULT_BUDGET = max(1, int(attempts))


def install() -> None:
    """Register the hook (once)."""
    if write_messages not in lifecycle.after_transition:
        lifecycle.after_transition.append(write_messages)


@dataclass
class SendReport:
    """What one sending round did."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)

    def line(self) -> str:
        """One status line."""
        return tr(
            "outbox: {sent} sent, {retrying} to retry, {failed} failed, {waiting} waiting for earlier messages",
            sent=len(self.sent),
            retrying=len(self.retrying),
            failed=len(self.failed),
            waiting=len(self.waiting),
        )


def _due(db: Database, now: datetime, limit: int) -> tuple[list[OutboxMessage], dict[tuple[str, int], list[int]]]:
    with db.read() as s:
        rows = list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )
        cases = sorted({r.case_id for r in rows if r.case_id is not None})
        unsent: dict[tuple[str, int], list[int]] = defaultdict(list)
        for i in range(0, len(cases), 400):
            for mid, target, case_id in s.execute(
                select(OutboxMessage.id, OutboxMessage.target, OutboxMessage.case_id)
                .where(OutboxMessage.status != "sent", OutboxMessage.case_id.in_(cases[i : i + 400]))
                .order_by(OutboxMessage.id)
            ):
                unsent[(target, case_id or 0)].append(mid)
    return rows, unsent


def _claim(db: Database, row: OutboxMessage, now: datetime) -> bool:
    with db.write() as s:
        result = s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row.id,
                OutboxMessage.status == "pending",
                OutboxMessage.attempts == row.attempts,
                OutboxMessage.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + CLAIM)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _post(session: requests.Session, row: OutboxMessage, creds: Credentials, timeout: float) -> int:
    headers = {"Idempotency-Key": row.uuid}
    data: Any
    if row.content_type == "form":
        data = dict(row.body)
        if creds.api_key:
            data["api_key"] = creds.api_key
    else:
        headers["Content-Type"] = "application/json; charset=utf-8"
        data = json.dumps(row.body, ensure_ascii=False).encode("utf-8")
    response = request(
        session,
        "POST",
        row.url,
        retry=Retry(timeout_s=timeout, attempts=1, backoff_s=0, backoff_max_s=0),
        headers=headers,
        credentials=Credentials(token=creds.token, username=creds.username, password=creds.password),
        data=data,
        allow_redirects=False,  # a redirected POST comes back as a GET: never "sent" (see http.request)
    )
    return response.status


def send_pending(
    db: Database,
    session: requests.Session | None = None,
    now: datetime | None = None,
    *,
    settings: Settings | None = None,
    limit: int = 100,
) -> SendReport:
    """Send the messages that are due (see the module docstring); every network call has a timeout."""
    session = session or requests.Session()
    now = now or utcnow()
    policy = settings.outbox if settings else Settings().outbox
    report = SendReport()
    rows, unsent = _due(db, now, limit)
    done: set[int] = set()
    per_target: dict[str, str | None] = {}
    for row in rows:
        case_id = row.case_id
        if case_id is not None:
            earlier = [i for i in unsent[(row.target, case_id)] if i < row.id]
            if any(i not in done for i in earlier):
                report.waiting.append(row.id)
                continue
        if not _claim(db, row, now):
            continue
        target = settings.target(row.target) if settings else None
        creds = target.credentials if target else Credentials()
        timeout = target.timeout_s if target else policy.timeout_s
        try:
            code = _post(session, row, creds, timeout)
            error: FetchError | None = None
        except FetchError as exc:
            code, error = exc.status or 0, exc
        with db.write() as s:
            current = s.get(OutboxMessage, row.id)
            assert current is not None
            current.attempts += 1
            current.response_code = code or None
            if error is None:
                current.status, current.sent_at, current.last_error = "sent", now, None
                report.sent.append(row.id)
                done.add(row.id)
                per_target.setdefault(row.target, None)
            else:
                current.last_error = error.message
                per_target[row.target] = error.message
                if not error.retryable or current.attempts >= current.budget:
                    current.status = "failed"
                    report.failed.append(row.id)
                else:
                    current.next_attempt_at = now + timedelta(seconds=backoff(policy, current.attempts))
                    report.retrying.append(row.id)
    for name, problem in per_target.items():
        if problem is None:
            status.record_success(db, f"outbox:{name}", now=now)
        else:
            status.record_failure(db, f"outbox:{name}", problem, now=now)
    if report.sent or report.failed or report.retrying:
        notify("outbox", report.sent + report.failed + report.retrying)
    return report


def retry(db: Database, by: Actor, outbox_id: int, now: datetime | None = None) -> None:
    """Send a message again now, with a fresh attempt budget (failed, or pending with a long back-off).

    Raises:
        NotFoundError: no such message.
        ValidationError: it was already sent.
    """
    by.require([Role.OPERATOR, Role.LEAD, Role.ADMIN, Role.SYSTEM], tr("retry outbound messages"))
    with db.write() as s:
        row = s.get(OutboxMessage, outbox_id)
        if row is None:
            raise NotFoundError(tr("There is no outbound message {id}.", id=outbox_id))
        if row.status == "sent":
            raise ValidationError(tr("Message {id} was already sent.", id=outbox_id), {"id": tr("already sent")})
        row.status, row.next_attempt_at = "pending", now or utcnow()
        row.budget = row.attempts + DEFAULT_BUDGET
    notify("outbox", [outbox_id])


def retry_failed(db: Database, by: Actor) -> list[int]:
    """Retry every failed message; returns their ids."""
    with db.read() as s:
        ids = list(
            s.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "failed").order_by(OutboxMessage.id))
        )
    for mid in ids:
        retry(db, by, mid)
    return ids


def as_dict(row: OutboxMessage) -> dict[str, Any]:
    """One message as plain data."""
    return {
        "id": row.id,
        "uuid": row.uuid,
        "target": row.target,
        "kind": row.kind,
        "case_id": row.case_id,
        "event_id": row.event_id,
        "url": row.url,
        "status": row.status,
        "attempts": row.attempts,
        "budget": row.budget,
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "response_code": row.response_code,
        "last_error": row.last_error,
        "body": row.body,
    }


def list_outbox(db: Database, status_: str | None = None, case_id: int | None = None) -> list[dict[str, Any]]:
    """Outbound messages, oldest first (of one status, or one case).

    Raises:
        ValidationError: unknown status.
    """
    if status_ is not None and status_ not in STATUSES:
        raise ValidationError(
            tr("Unknown status {status}: use one of {states}.", status=status_, states=", ".join(STATUSES)),
            {"status": status_},
        )
    with db.read() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if status_ is not None:
            query = query.where(OutboxMessage.status == status_)
        if case_id is not None:
            query = query.where(OutboxMessage.case_id == case_id)
        return [as_dict(r) for r in s.scalars(query)]
