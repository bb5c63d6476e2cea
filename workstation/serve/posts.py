"""``POST requests``: a client's request becomes a report through the intake's own path.

The posted fields are written as the GeoReport v2 request an Open311 source would deliver and go
through the same parser (``intake.open311.request_item``) and the same import (``intake.ingest``):
what the intake would quarantine is quarantined here, with its reason, and the client gets a
``token`` to follow it (``GET tokens/{token}`` names the request once an operator let it in). The
source is ``api.<account>`` (the account whose API key posted) and the request's id there is the
client's own id (``client_request_id``, or the ``Idempotency-Key`` header) or a random one, so the
case's external id ``api.<account>:<id>`` is the token too: a repeated post answers the first one's
result, and ``GET tokens/{token}`` finds the case, or the quarantined request, by it. The service
codes are the catalogue's category codes, so the category is set at once. A resident's
``first_name``/``last_name``/``phone`` reach the operators as the reporter, never the public.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workstation.intake import ingest, mappings
from workstation.intake.open311 import CHANNEL, request_item
from workstation.models import Case, QuarantinedItem
from workstation.serve.lang import Lang
from workstation.serve.public import known_codes
from workstation.services.actors import Actor
from workstation.storage.db import Database

SOURCE_PREFIX = "api."
MAX_CLIENT_ID = 60
CLIENT_ID = re.compile(r"^[A-Za-z0-9._\-]{1,60}$")
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
    if client_id and not CLIENT_ID.match(client_id):
        raise PostError(400, lang.tr("client_request_id: 1 to {n} letters, digits, '.', '-' or '_'", n=MAX_CLIENT_ID))
    source = source_of(client.name)
    rid = client_id or secrets.token_hex(12)
    token = f"{source}:{rid}"  # the case's external id: the token needs no table to be followed
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

    def repeated(s: Session) -> ingest.Stored | None:
        """A post repeated under the client's id gets what the first one got: its case, or why it is held."""
        done = _resolve(s, token)
        if done is None:
            return None
        case_id, reason = done
        return ingest.Stored([ingest.Outcome("existing", None if case_id is None else int(case_id), reason)])

    known = repeated if client_id else None  # asked in the import's own transaction
    outcome = ingest.ingest_items(db, source, "open311", [item], by=client, known=known).outcomes[0]
    held = outcome.status == "quarantined" or outcome.id is None  # held now, or held the first time
    if held:
        notice = lang.tr("Held for review: {reason}", reason=outcome.reason or "")
        return Posted(token, None, notice, outcome.status == "quarantined")
    return Posted(token, str(outcome.id), "", outcome.status == "created")


_CASES, _HELD = Case.__table__.c, QuarantinedItem.__table__.c
_FOUND = select(  # built once, one query: a token's case, else the reason its newest quarantined copy is held
    select(_CASES.id)
    .where(_CASES.channel == CHANNEL, _CASES.external_id == bindparam("token"))
    .scalar_subquery()
    .label("case_id"),
    select(_HELD.reason)
    .where(_HELD.source == bindparam("source"), _HELD.external_id == bindparam("rid"))
    .order_by(_HELD.id.desc())
    .limit(1)
    .scalar_subquery()
    .label("reason"),
)


def _resolve(s: Session, token: str) -> tuple[str | None, str] | None:
    """A token's request id (None while its request waits in quarantine, with the reason), or None if unknown."""
    source, sep, rid = token.partition(":")
    if not sep or not source.startswith(SOURCE_PREFIX) or not rid:
        return None
    case_id, reason = s.execute(_FOUND, {"token": token, "source": source, "rid": rid}).one()
    if case_id is not None:
        return str(case_id), ""
    return (None, reason) if reason is not None else None


def token_status(db: Database, token: str) -> tuple[str, str | None] | None:
    """``GET tokens/{token}``: the token and its request's id (None while it waits), or None if unknown."""
    with db.read() as s:
        found = _resolve(s, token.strip())
    return (token.strip(), found[0]) if found is not None else None
