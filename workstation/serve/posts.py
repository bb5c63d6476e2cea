"""``POST requests``: a client's request becomes a report through the intake's own path.

The posted fields are written as the GeoReport v2 request an Open311 source would deliver and go
through the same parser (``intake.open311.request_item``) and the same import (``intake.ingest``):
what the intake would quarantine is quarantined here, with its reason, and the client gets a
``token`` to follow it (``GET tokens/{token}`` names the request once an operator let it in). The
source is ``api.<account>`` (the account whose API key posted); the client's own id
(``client_request_id``, or the ``Idempotency-Key`` header) makes a repeated post answer the first
one's result. The service codes are the catalogue's category codes, so the category is set at once.
A resident's ``first_name``/``last_name``/``phone`` reach the operators as the reporter, never the public.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.intake import ingest, mappings
from workstation.intake.open311 import CHANNEL, request_item
from workstation.models import Case, GeoReportPost, QuarantinedItem, utcnow
from workstation.serve.lang import Lang
from workstation.serve.public import known_codes
from workstation.services.actors import Actor
from workstation.storage.db import Database

SOURCE_PREFIX = "api."
MAX_CLIENT_ID = 60
TEXT_LIMITS = {"description": 4000, "address_string": 300, "first_name": 25, "last_name": 25, "phone": 30}


class PostError(Exception):
    """A post the spec refuses outright (the client must change it): HTTP status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass(frozen=True)
class Posted:
    """The answer to one post: the new request's id, or only a token while it waits in quarantine."""

    token: str
    service_request_id: str | None
    notice: str
    created: bool


_seeded: set[tuple[int, str]] = set()
_seed_lock = threading.Lock()


def source_of(client: str) -> str:
    """The intake source name of a client's posts."""
    return SOURCE_PREFIX + client


def _seed(db: Database, source: str, codes: Mapping[str, str]) -> None:
    """Map the catalogue's codes to themselves for this client's source (once per process)."""
    key = (id(db), source)
    with _seed_lock:
        if key in _seeded:
            return
    mappings.seed_mappings(db, source, {code: code for code in codes})
    with _seed_lock:
        _seeded.add(key)


def _one(params: Mapping[str, str], key: str) -> str:
    return (params.get(key) or "").strip()


def post_request(
    db: Database, client: Actor, params: Mapping[str, str], lang: Lang, idempotency_key: str = ""
) -> Posted:
    """Take one posted request (see the module docstring).

    Raises:
        PostError: an unknown service code, no location, an over-long field or client id.
    """
    codes = known_codes(db)
    code = _one(params, "service_code")
    if not code:
        raise PostError(400, lang.tr("service_code is required"))
    if code not in codes:
        raise PostError(404, lang.tr("service_code {code} not found", code=code[:40]))
    lat, lon = _one(params, "lat"), _one(params, "long") or _one(params, "lng")
    address = _one(params, "address_string")
    if not (lat and lon) and not address and not _one(params, "address_id"):
        raise PostError(400, lang.tr("A location is required: lat and long, or address_string."))
    for key, limit in TEXT_LIMITS.items():
        if len(_one(params, key)) > limit:
            raise PostError(400, lang.tr("{field}: at most {n} characters", field=key, n=limit))
    client_id = _one(params, "client_request_id") or idempotency_key.strip()
    if len(client_id) > MAX_CLIENT_ID:
        raise PostError(400, lang.tr("client_request_id: at most {n} characters", n=MAX_CLIENT_ID))
    if client_id:
        done = _answer_again(db, client.name, client_id, lang)
        if done is not None:
            return done
    token = secrets.token_hex(12)
    rid = client_id or token
    source = source_of(client.name)
    fields: dict[str, object] = {
        "service_request_id": rid,
        "service_code": code,
        "service_name": codes[code],
        "description": _one(params, "description") or codes[code],
        "requested_datetime": datetime.now(UTC).isoformat(timespec="seconds"),
        "address": address,
        "media_url": _one(params, "media_url"),
    }
    if lat or lon:
        fields.update(lat=lat, long=lon)
    payload = json.dumps(fields, ensure_ascii=False)
    item = request_item(fields, source, None, payload, fields)
    name = " ".join(p for p in (_one(params, "last_name"), _one(params, "first_name")) if p)
    if item.report is not None:
        item.report.update(reporter_name=name.replace(" ", ""), reporter_phone=_one(params, "phone"))
    _seed(db, source, codes)
    stored = ingest.ingest_items(db, source, "open311", [item], by=client)
    outcome = stored.outcomes[0]
    quarantined = outcome.status == "quarantined"
    external_id = f"{source}:{rid}"
    try:
        with db.write() as s:
            s.add(
                GeoReportPost(
                    token=token,
                    client=client.name,
                    client_request_id=client_id or None,
                    external_id=external_id,
                    quarantine_id=outcome.id if quarantined else None,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:  # the same client id posted twice at once: the first one's answer stands
        again = _answer_again(db, client.name, client_id, lang)
        if again is None:
            raise
        return again
    if quarantined:
        return Posted(token, None, lang.tr("Held for review: {reason}", reason=outcome.reason or ""), True)
    return Posted(token, str(outcome.id), "", outcome.status == "created")


def _answer_again(db: Database, client: str, client_id: str, lang: Lang) -> Posted | None:
    with db.read() as s:
        post = s.scalar(
            select(GeoReportPost).where(GeoReportPost.client == client, GeoReportPost.client_request_id == client_id)
        )
        if post is None:
            return None
        case_id, reason = _resolve(s, post)
    notice = lang.tr("Held for review: {reason}", reason=reason) if case_id is None else ""
    return Posted(post.token, case_id, notice, False)


def _resolve(s: Session, post: GeoReportPost) -> tuple[str | None, str]:
    case_id = s.scalar(select(Case.id).where(Case.channel == CHANNEL, Case.external_id == post.external_id))
    if case_id is not None:
        return str(case_id), ""
    reason = ""
    if post.quarantine_id is not None:
        row = s.get(QuarantinedItem, post.quarantine_id)
        reason = row.reason if row is not None else ""
    return None, reason


def token_status(db: Database, token: str) -> tuple[str, str | None] | None:
    """``GET tokens/{token}``: the token and its request's id (None while it waits), or None if unknown."""
    with db.read() as s:
        post = s.scalar(select(GeoReportPost).where(GeoReportPost.token == token.strip()))
        if post is None:
            return None
        return post.token, _resolve(s, post)[0]
