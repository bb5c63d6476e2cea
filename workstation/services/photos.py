"""Case photos: which photos a case has, their bytes, and fetching the ones that arrived as URLs.

A case names its photos by reference: the report's "before" photos (``cases.photos``) and the
unit's "after" photos (``cases.result_photos``, from 处置反馈). A reference is an ``http``/``https``
URL (platform reports, Open311 ``media_url``, unit responses) or ``photo://…`` (a PDA upload, the
demo). Per reference, the ``photos`` table says whether its bytes are stored, still to be fetched
(``pending``) or could not be had (``failed``, with the reason); the bytes themselves are in
``photo_blobs``, once per content (SHA-256), in the same database every seat uses.

Fetching (:func:`fetch_due`) is one round: register the references of cases changed since the last
round, claim the photos that are due (a conditional update, so two seats never fetch the same one),
download each with a timeout, an overall time limit and a size cap, check it is an image by its
magic bytes, and store it. A failure that may pass (timeout, connection, HTTP 5xx/429) is tried
again later with doubling back-off; one that will not (404, too big, not an image) and the last
allowed attempt are kept as ``failed`` with their reason. Nothing here imports Qt: the window runs
the round in a worker thread, the command line runs it from ``photos fetch``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.models import Case, Meta, Photo, PhotoBlob, utcnow
from workstation.services.errors import NotFoundError, ValidationError
from workstation.services.image_info import ImageInfo, image_info
from workstation.storage.db import Database

STORED, PENDING, FAILED = "stored", "pending", "failed"
STATES = (STORED, PENDING, FAILED)
BEFORE, AFTER = "before", "after"
FETCHABLE = ("http", "https")
SCAN_CURSOR = "photos.scanned_until"
SCAN_MARGIN = timedelta(minutes=10)  # cases committed late by another seat are still seen
USER_AGENT = "grid-workstation-photos/1"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

REASONS: dict[str, str] = {
    "not_uploaded": N_("no photo was uploaded under this reference"),
    "scheme": N_("not a reference this centre can fetch (http, https or photo://)"),
    "http": N_("the server answered HTTP {detail}"),
    "timeout": N_("no answer within {detail} s"),
    "slow": N_("the download took longer than {detail} s"),
    "connect": N_("could not connect: {detail}"),
    "dns": N_("the host name {detail} is not known"),
    "refused": N_("the server refused the connection"),
    "redirects": N_("too many redirects"),
    "too_big": N_("larger than the limit of {detail} MB"),
    "not_image": N_("not an image (JPEG, PNG, GIF, WebP or BMP)"),
    "too_many_pixels": N_("too many pixels ({detail})"),
    "error": N_("failed: {detail}"),
}


@dataclass(frozen=True)
class Limits:
    """What a photo may be and how hard to try for it."""

    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 50_000_000  # decoding a bigger one could exhaust a seat's memory
    timeout_s: float = 15.0  # to connect, and between two pieces of the answer
    total_s: float = 60.0  # for the whole download
    attempts: int = 5
    backoff_s: float = 60.0
    backoff_max_s: float = 3600.0
    batch: int = 20  # photos per round

    def backoff(self, failures: int) -> float:
        """The delay before the next attempt after ``failures`` failed ones: doubling, capped."""
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** max(0, failures - 1)))


LIMITS = Limits()


class PhotoError(Exception):
    """A photo could not be had: a reason code of ``REASONS``, its detail, and whether trying later may help."""

    def __init__(self, code: str, detail: Any = "", retryable: bool = False) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.retryable = code, str(detail)[:500], retryable

    @property
    def text(self) -> str:
        """The reason in the language in force."""
        return reason_text(self.code, self.detail)


def reason_text(code: str, detail: str = "") -> str:
    """A stored reason code and detail, as a sentence in the language in force."""
    if not code:
        return ""
    return tr(REASONS[code], detail=detail) if code in REASONS else f"{code}: {detail}"


def ref_key(ref: str) -> str:
    """The key of a reference in the ``photos`` table."""
    return hashlib.sha256(ref.encode("utf-8")).hexdigest()


def scheme(ref: str) -> str:
    """The reference's scheme, lower case ("" when it has none)."""
    return ref.split("://", 1)[0].lower() if "://" in ref else ""


def first_state(ref: str) -> tuple[str, str]:
    """The state and reason code of a reference nothing has been stored or fetched for yet."""
    kind = scheme(ref)
    if kind in FETCHABLE:
        return PENDING, ""
    if kind == "photo":
        return FAILED, "not_uploaded"
    return FAILED, "scheme"


@dataclass(frozen=True)
class PhotoView:
    """One photo of a case, as the panel and the command line show it."""

    ref: str
    kind: str  # before / after
    state: str
    reason: str = ""  # why it failed (or why the last attempt failed), in the language in force
    attempts: int = 0
    blob: str | None = None
    mime: str = ""
    width: int = 0
    height: int = 0
    size: int = 0

    @property
    def stored(self) -> bool:
        """Whether its bytes are here."""
        return self.state == STORED and self.blob is not None


# -- checking and storing bytes -----------------------------------------------------------------------


def check(data: bytes, limits: Limits = LIMITS) -> ImageInfo:
    """The image's type and size.

    Raises:
        PhotoError: too big, not an image by its magic bytes, or too many pixels.
    """
    if len(data) > limits.max_bytes:
        raise PhotoError("too_big", _mb(limits.max_bytes))
    info = image_info(data)
    if info is None:
        raise PhotoError("not_image")
    if info.width * info.height > limits.max_pixels:
        raise PhotoError("too_many_pixels", f"{info.width}×{info.height}")
    return info


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:g}"


def _insert_ignore(s: Session, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows; a row whose key another seat wrote first is left as it is."""
    if not rows:
        return
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        s.execute(pg_insert(model).on_conflict_do_nothing(), list(rows))
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        s.execute(sqlite_insert(model).on_conflict_do_nothing(), list(rows))
    else:  # pragma: no cover - the program runs on SQLite and PostgreSQL
        s.execute(insert(model), list(rows))


def _store_blob(s: Session, data: bytes, info: ImageInfo, now: datetime) -> str:
    sha = hashlib.sha256(data).hexdigest()
    if s.get(PhotoBlob, sha) is None:
        row = {"sha256": sha, "data": data, "mime": info.mime, "width": info.width, "height": info.height}
        _insert_ignore(s, PhotoBlob, [{**row, "size": len(data), "stored_at": now}])
    return sha


def put(db: Database, ref: str, data: bytes, limits: Limits = LIMITS) -> str:
    """Store the bytes of a photo reference (a PDA upload, a demo picture); returns their SHA-256.

    Raises:
        ValidationError: the bytes are too big or not an image.
    """
    ref = ref.strip()
    if not ref:
        raise ValidationError(tr("A photo needs its reference."), {"ref": tr("required")})
    try:
        info = check(data, limits)
    except PhotoError as exc:
        raise ValidationError(exc.text, {"photo": exc.text}) from exc
    now = utcnow()
    with db.write() as s:
        sha = _store_blob(s, data, info, now)
        _insert_ignore(s, Photo, [{**_new_row(ref, now), "state": STORED, "blob": sha, "stored_at": now}])
        s.execute(
            update(Photo)
            .where(Photo.key == ref_key(ref))
            .values(state=STORED, blob=sha, reason="", detail="", next_try_at=None, stored_at=now)
        )
    return sha


def put_many(s: Session, items: Iterable[tuple[str, bytes]], now: datetime | None = None) -> int:
    """Store many references' bytes in one transaction (the demo world's pictures); returns how many."""
    now = now or utcnow()
    blobs: dict[bytes, str] = {}
    rows = []
    for ref, data in items:
        if data not in blobs:
            blobs[data] = _store_blob(s, data, check(data), now)
        rows.append({**_new_row(ref, now), "state": STORED, "blob": blobs[data], "stored_at": now})
    for at in range(0, len(rows), 1000):
        _insert_ignore(s, Photo, rows[at : at + 1000])
    return len(rows)


def _new_row(ref: str, now: datetime) -> dict[str, Any]:
    state, reason = first_state(ref)
    return {
        "key": ref_key(ref),
        "ref": ref,
        "state": state,
        "reason": reason,
        "detail": "",
        "attempts": 0,
        "next_try_at": None,
        "blob": None,
        "seen_at": now,
        "stored_at": None,
    }


def blob_data(db: Database, sha: str) -> bytes | None:
    """The stored bytes of one image."""
    with db.read() as s:
        return s.scalar(select(PhotoBlob.data).where(PhotoBlob.sha256 == sha))


# -- a case's photos ----------------------------------------------------------------------------------


def case_photos(db: Database, case_id: int) -> list[PhotoView]:
    """The case's photos: the report's (before) then the unit's (after), each with its state.

    Raises:
        NotFoundError: no such case.
    """
    with db.read() as s:
        row = s.execute(select(Case.photos, Case.result_photos).where(Case.id == case_id)).first()
        if row is None:
            raise NotFoundError(tr("There is no case {id}.", id=case_id))
        refs = [(r, BEFORE) for r in row[0] or []] + [(r, AFTER) for r in row[1] or []]
        keys = {ref_key(r) for r, _ in refs}
        found = {}
        for photo, mime, width, height, size in s.execute(
            select(Photo, PhotoBlob.mime, PhotoBlob.width, PhotoBlob.height, PhotoBlob.size)
            .outerjoin(PhotoBlob, PhotoBlob.sha256 == Photo.blob)
            .where(Photo.key.in_(keys))
        ):
            found[photo.key] = (photo, mime, width, height, size)
    views = []
    for ref, kind in refs:
        hit = found.get(ref_key(ref))
        if hit is None:
            state, reason = first_state(ref)
            views.append(PhotoView(ref, kind, state, reason_text(reason)))
            continue
        photo, mime, width, height, size = hit
        views.append(
            PhotoView(
                ref,
                kind,
                photo.state,
                reason_text(photo.reason, photo.detail),
                photo.attempts,
                photo.blob,
                mime or "",
                width or 0,
                height or 0,
                size or 0,
            )
        )
    return views


# -- finding the references to fetch --------------------------------------------------------------------


def register(s: Session, refs: Iterable[str], now: datetime | None = None) -> int:
    """Give every reference a row (pending, or failed when it cannot be fetched); returns how many were new."""
    now = now or utcnow()
    wanted = {ref_key(r): r for r in refs if r}
    new = 0
    keys = list(wanted)
    for at in range(0, len(keys), 500):
        chunk = keys[at : at + 500]
        have = set(s.scalars(select(Photo.key).where(Photo.key.in_(chunk))))
        rows = [_new_row(wanted[k], now) for k in chunk if k not in have]
        _insert_ignore(s, Photo, rows)
        new += len(rows)
    return new


def scan(db: Database, now: datetime | None = None) -> int:
    """Register the photo references of every case changed since the last scan; returns how many were new."""
    now = now or utcnow()
    with db.read() as s:
        cursor = s.get(Meta, SCAN_CURSOR)
        since = datetime.fromisoformat(cursor.value) if cursor is not None else None
        query = select(Case.last_action_at, Case.photos, Case.result_photos)
        if since is not None:
            query = query.where(Case.last_action_at >= since - SCAN_MARGIN)
        refs: set[str] = set()
        newest: datetime | None = None
        for changed, before, after in s.execute(query):
            refs.update(before or [])
            refs.update(after or [])
            newest = changed if newest is None or changed > newest else newest
        keys = {ref_key(r): r for r in refs if r}
        have: set[str] = set()
        listed = list(keys)
        for at in range(0, len(listed), 500):
            have.update(s.scalars(select(Photo.key).where(Photo.key.in_(listed[at : at + 500]))))
    missing = [keys[k] for k in keys if k not in have]
    if not missing and (newest is None or (since is not None and since >= newest)):
        return 0  # nothing new: no write transaction
    with db.write() as s:
        added = register(s, missing, now)
        if newest is not None:  # two seats scanning at once: the first row wins, the later time stays
            _insert_ignore(s, Meta, [{"key": SCAN_CURSOR, "value": newest.isoformat()}])
            cursor = s.get(Meta, SCAN_CURSOR)
            if cursor is not None and datetime.fromisoformat(cursor.value) < newest:
                cursor.value = newest.isoformat()
    return added


# -- fetching -------------------------------------------------------------------------------------------


def download(
    session: requests.Session, url: str, limits: Limits = LIMITS, stop: Callable[[], bool] | None = None
) -> bytes:
    """The bytes at a URL (redirects followed), within the time limits and the size cap.

    Raises:
        PhotoError: with the reason; ``retryable`` when trying later may help.
    """
    if scheme(url) not in FETCHABLE:
        raise PhotoError("scheme")
    started = time.monotonic()
    try:
        with session.get(
            url,
            timeout=(limits.timeout_s, limits.timeout_s),
            stream=True,
            allow_redirects=True,
            headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
        ) as answer:
            if answer.status_code >= 400:
                raise PhotoError("http", answer.status_code, retryable=answer.status_code in RETRYABLE_STATUS)
            if answer.status_code >= 300:  # a redirect without a usable Location
                raise PhotoError("http", answer.status_code)
            length = answer.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limits.max_bytes:
                raise PhotoError("too_big", _mb(limits.max_bytes))
            body = bytearray()
            for piece in answer.iter_content(64 * 1024):
                body += piece
                if len(body) > limits.max_bytes:
                    raise PhotoError("too_big", _mb(limits.max_bytes))
                if time.monotonic() - started > limits.total_s or (stop is not None and stop()):
                    raise PhotoError("slow", f"{limits.total_s:g}", retryable=True)
            return bytes(body)
    except requests.TooManyRedirects as exc:
        raise PhotoError("redirects") from exc
    except requests.Timeout as exc:
        raise PhotoError("timeout", f"{limits.timeout_s:g}", retryable=True) from exc
    except requests.ConnectionError as exc:
        text = str(exc)
        if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
            raise PhotoError("dns", urlsplit(url).hostname or "", retryable=True) from exc
        if "refused" in text.lower():
            raise PhotoError("refused", retryable=True) from exc
        raise PhotoError("connect", type(exc).__name__, retryable=True) from exc
    except requests.RequestException as exc:
        raise PhotoError("error", f"{type(exc).__name__}: {exc}", retryable=True) from exc


@dataclass
class FetchReport:
    """What one round did: references stored, to be tried again (with why), failed for good (with why)."""

    registered: int = 0
    stored: list[str] = field(default_factory=list)
    retrying: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    waiting: int = 0  # photos still to fetch after the round (their back-off not over, or not reached)

    @property
    def changed(self) -> bool:
        """Whether any photo's state changed."""
        return bool(self.registered or self.stored or self.retrying or self.failed)


def claim(db: Database, limits: Limits = LIMITS, now: datetime | None = None) -> list[tuple[str, str, int]]:
    """Take the photos that are due to be fetched: ``(key, ref, attempts)``; no other seat takes them meanwhile."""
    now = now or utcnow()
    due = or_(Photo.next_try_at.is_(None), Photo.next_try_at <= now)
    with db.read() as s:
        candidates = s.execute(
            select(Photo.key, Photo.ref, Photo.attempts)
            .where(Photo.state == PENDING, due)
            .order_by(Photo.id)
            .limit(limits.batch)
        ).all()
    if not candidates:
        return []
    lease = now + timedelta(seconds=limits.total_s + 60)  # a seat that dies mid-fetch lets go by then
    taken = []
    with db.write() as s:
        for key, ref, attempts in candidates:
            won = s.execute(
                update(Photo).where(Photo.key == key, Photo.state == PENDING, due).values(next_try_at=lease)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                taken.append((key, ref, attempts))
    return taken


def _record(db: Database, key: str, attempts: int, limits: Limits, got: tuple[bytes, ImageInfo] | PhotoError) -> str:
    now = utcnow()
    attempts += 1
    with db.write() as s:
        where = update(Photo).where(Photo.key == key, Photo.state == PENDING)
        if not isinstance(got, PhotoError):
            sha = _store_blob(s, got[0], got[1], now)
            s.execute(
                where.values(
                    state=STORED, blob=sha, reason="", detail="", attempts=attempts, next_try_at=None, stored_at=now
                )
            )
            return STORED
        if got.retryable and attempts < limits.attempts:
            later = now + timedelta(seconds=limits.backoff(attempts))
            s.execute(where.values(reason=got.code, detail=got.detail, attempts=attempts, next_try_at=later))
            return PENDING
        s.execute(where.values(state=FAILED, reason=got.code, detail=got.detail, attempts=attempts, next_try_at=None))
        return FAILED


def fetch_due(
    db: Database,
    session: requests.Session,
    limits: Limits = LIMITS,
    stop: Callable[[], bool] | None = None,
) -> FetchReport:
    """One round: register new references, then fetch and store the photos that are due."""
    report = FetchReport(registered=scan(db))
    for key, ref, attempts in claim(db, limits):
        if stop is not None and stop():
            break  # the claim runs out on its own; the next round takes the photo again
        got: tuple[bytes, ImageInfo] | PhotoError
        try:
            data = download(session, ref, limits, stop)
            got = (data, check(data, limits))
        except PhotoError as exc:
            got = exc
        outcome = _record(db, key, attempts, limits, got)
        if isinstance(got, PhotoError):
            (report.retrying if outcome == PENDING else report.failed).append((ref, got.text))
        else:
            report.stored.append(ref)
    report.waiting = waiting(db)
    return report


def waiting(db: Database) -> int:
    """How many photos are still to be fetched (read from the state index)."""
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Photo).where(Photo.state == PENDING)) or 0)


def retry_failed(db: Database, ref: str | None = None) -> int:
    """Put failed URL photos (all, or one reference) back in the queue to fetch; returns how many."""
    with db.write() as s:
        query = update(Photo).where(Photo.state == FAILED, or_(Photo.ref.like("http://%"), Photo.ref.like("https://%")))
        if ref is not None:
            query = query.where(Photo.key == ref_key(ref))
        done = s.execute(query.values(state=PENDING, attempts=0, next_try_at=None))
        return int(done.rowcount)  # type: ignore[attr-defined]
