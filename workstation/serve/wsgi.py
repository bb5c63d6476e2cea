"""The GeoReport v2 WSGI application: routes, formats, limits, one log line per request.

Routes (each as ``.json`` or ``.xml``, or without extension by the ``Accept`` header):
``GET services``, ``GET services/{code}``, ``GET requests``, ``POST requests``, ``GET requests/{id}``,
``GET tokens/{token}``. Errors are the spec's ``[{"code", "description"}]`` (``<errors>`` in XML),
in Chinese unless ``Accept-Language`` prefers English. The log line names the method, the path (never
the query, which may carry an API key), the status, the size, the time and the client account; never
an address or anything posted.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlencode
from wsgiref.util import application_uri

from sqlalchemy.exc import DBAPIError

from workstation.serve import posts, public
from workstation.serve.config import ServeSettings
from workstation.serve.lang import Lang
from workstation.serve.limits import RateLimiter, SharedRateLimiter
from workstation.serve.render import CONTENT_TYPES, definition, document, errors
from workstation.services import accounts, counts, tokens
from workstation.services.errors import AuthenticationError
from workstation.services.reports import parse_time
from workstation.storage.db import Database

if TYPE_CHECKING:
    from workstation.serve.workers import SharedState

LOG = logging.getLogger("workstation.serve")
ROUTE = re.compile(r"^/(services|requests|tokens)(?:/([^/]+?))?(?:\.(json|xml))?/?$")
StartResponse = Callable[..., Any]


class HttpError(Exception):
    """An answer in the spec's error format."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}


REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Answer:
    """What one request gets."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    client: str = "-"


class Generations(Protocol):
    """What the answer cache needs of a generation: ``Generation`` here, ``workers.SharedGeneration`` across workers."""

    def get(self) -> int:
        """The current generation."""

    def bump(self) -> None:
        """A post was taken."""


class Generation:
    """A number every post through the server raises: a kept answer older than the last post is not used.

    In one process a plain counter; the worker processes share one in shared memory
    (``workers.SharedState``), so a post through any worker is seen by every worker's cache.
    """

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    def get(self) -> int:
        """The current generation."""
        return self._value

    def bump(self) -> None:
        """A post was taken: answers kept so far are out of date."""
        with self._lock:
            self._value += 1


class AnswerCache:
    """Public answers kept for ``ttl_s`` seconds: many clients polling the same page cost one query.

    The rate limit per address is still applied to every request (it runs before the cache is asked);
    a post through this server (through any of its workers) makes every kept answer out of date.
    """

    def __init__(self, ttl_s: float, size: int = 2000, generation: Generations | None = None) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self.generation: Generations = generation or Generation()
        self._kept: dict[tuple[str, ...], tuple[float, int, Answer]] = {}
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, ...], threading.Lock] = {}

    @contextmanager
    def flight(self, key: tuple[str, ...]) -> Iterator[None]:
        """One reader per missing answer: the other requests for it wait, then find it kept.

        When a page's answer runs out, every client polling it would otherwise read it at once (all
        the pages read together run out together); this way each is read once.
        """
        if self.ttl_s <= 0:
            yield
            return
        with self._lock:
            gate = self._flights.setdefault(key, threading.Lock())
        with gate:
            yield
        with self._lock:
            if not gate.locked():
                self._flights.pop(key, None)

    def get(self, key: tuple[str, ...]) -> tuple[Answer | None, int]:
        """A kept answer younger than ``ttl_s`` and than the last post, and the generation it was asked at."""
        generation = self.generation.get()
        if self.ttl_s <= 0:
            return None, generation
        with self._lock:
            hit = self._kept.get(key)
        if hit and hit[1] == generation and time.monotonic() - hit[0] < self.ttl_s:
            return hit[2], generation
        return None, generation

    def put(self, key: tuple[str, ...], answer: Answer, generation: int) -> None:
        """Keep an answer read at ``generation`` (all are dropped when too many are kept)."""
        if self.ttl_s <= 0 or generation != self.generation.get():  # a post came in while it was read
            return
        with self._lock:
            if len(self._kept) >= self.size:
                self._kept.clear()
            self._kept[key] = (time.monotonic(), generation, answer)

    def clear(self) -> None:
        """Forget every kept answer (in every worker)."""
        self.generation.bump()
        with self._lock:
            self._kept.clear()


class GeoReportApp:
    """The WSGI application over one database."""

    def __init__(self, db: Database, settings: ServeSettings | None = None, shared: SharedState | None = None) -> None:
        self.db = db
        self.settings = settings or ServeSettings()
        self.counter = public.Counter()
        # SQLite has one writer at a time, and its busy handler sleeps up to 100 ms between tries: posts
        # of this server wait their turn on a lock instead (woken at once); PostgreSQL writes in parallel.
        self.writing: AbstractContextManager[Any] = threading.Lock() if db.dialect == "sqlite" else nullcontext()
        if shared is None:
            self.per_key: RateLimiter | SharedRateLimiter = RateLimiter(
                self.settings.rate_per_key, self.settings.rate_window_s
            )
            self.per_address: RateLimiter | SharedRateLimiter = RateLimiter(
                self.settings.rate_per_address, self.settings.rate_window_s
            )
            self.cache = AnswerCache(self.settings.cache_s)
        else:  # one of several worker processes: limits, the cache's generation and SQLite's writer are shared
            self.per_key, self.per_address = shared.per_key, shared.per_address
            self.cache = AnswerCache(self.settings.cache_s, generation=shared.generation)
            if db.dialect == "sqlite":
                self.writing = shared.writing

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request and log one line."""
        began = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        lang = Lang.from_header(environ.get("HTTP_ACCEPT_LANGUAGE"))
        match = ROUTE.match(path)
        fmt = (match.group(3) if match else None) or _by_accept(environ.get("HTTP_ACCEPT", ""))
        key = (path, environ.get("QUERY_STRING", ""), fmt, lang.code, environ.get("HTTP_HOST", ""))
        cacheable = method == "GET" and match is not None and match.group(1) != "tokens"
        try:
            wait = self.per_address.take(environ.get("REMOTE_ADDR", ""))
            if wait:
                raise HttpError(
                    429,
                    lang.tr("Too many requests from this address; try again in {s} s.", s=int(wait) + 1),
                    {"Retry-After": str(int(wait) + 1)},
                )
            answer, generation = self.cache.get(key) if cacheable else (None, 0)
            if answer is None and cacheable:
                with self.cache.flight(key):
                    answer, generation = self.cache.get(key)  # read meanwhile by the request that went first
                    if answer is None:
                        answer = self._route(environ, method, match, fmt, lang)
                        if answer.status == 200:
                            self.cache.put(key, answer, generation)
            elif answer is None:
                answer = self._route(environ, method, match, fmt, lang)
                if method == "POST" and answer.status in (200, 201, 202):
                    self.cache.clear()  # the poster sees its request at once
        except HttpError as exc:
            answer = Answer(exc.status, errors(fmt, exc.status, exc.description), exc.headers)
        except DBAPIError as exc:
            if _timed_out(exc):
                answer = Answer(503, errors(fmt, 503, lang.tr("The query took too long; narrow it or try later.")))
            else:
                LOG.exception("database error")
                answer = Answer(503, errors(fmt, 503, lang.tr("The database is not available; try again later.")))
        except Exception:  # a bug must not take the server down, and must not leak its details either
            LOG.exception("internal error")
            answer = Answer(500, errors(fmt, 500, lang.tr("Internal error.")))
        headers = {"Content-Type": CONTENT_TYPES[fmt], "Content-Length": str(len(answer.body)), **answer.headers}
        headers.setdefault("Vary", "Accept, Accept-Language")
        start_response(f"{answer.status} {REASONS.get(answer.status, '')}", list(headers.items()))
        LOG.info(
            "%s %s %d %dB %.1fms client=%s",
            method,
            path,
            answer.status,
            len(answer.body),
            (time.perf_counter() - began) * 1000,
            answer.client,
        )
        return [answer.body]

    def _route(self, environ: dict[str, Any], method: str, match: re.Match[str] | None, fmt: str, lang: Lang) -> Answer:
        if match is None:
            raise HttpError(404, lang.tr("Not found: the endpoints are services, requests and tokens."))
        kind, arg = match.group(1), match.group(2)
        asked = parse_qs(environ.get("QUERY_STRING", "")).get("jurisdiction_id", [""])[-1].strip()
        if asked and self.settings.jurisdiction_id and asked != self.settings.jurisdiction_id:
            raise HttpError(404, lang.tr("jurisdiction_id {id} not found", id=asked[:60]))
        allowed = "GET, POST" if kind == "requests" and arg is None else "GET"
        if method not in allowed.split(", ") and method != "HEAD":
            raise HttpError(405, lang.tr("Method {method} is not allowed here.", method=method), {"Allow": allowed})
        if kind == "services":
            return self._services(arg, fmt, lang)
        if kind == "tokens":
            return self._token(arg, fmt, lang)
        if method == "POST":
            return self._post(environ, fmt, lang)
        if arg is not None:
            return self._one(arg, fmt, lang)
        return self._list(environ, fmt, lang)

    def _services(self, code: str | None, fmt: str, lang: Lang) -> Answer:
        if code is None:
            return Answer(200, document("services", fmt, public.services(self.db, lang)))
        found = public.service(self.db, code)
        if found is None:
            raise HttpError(404, lang.tr("service_code {code} not found", code=code[:40]))
        return Answer(200, definition(fmt, found))

    def _one(self, arg: str, fmt: str, lang: Lang) -> Answer:
        found = public.get_request(self.db, int(arg), lang) if arg.isdigit() and len(arg) < 12 else None
        if found is None:
            raise HttpError(404, lang.tr("service_request_id {id} not found", id=arg[:40]))
        return Answer(200, document("service_requests", fmt, [found]))

    def _token(self, arg: str | None, fmt: str, lang: Lang) -> Answer:
        found = posts.token_status(self.db, arg) if arg and len(arg) <= 120 else None
        if found is None:
            raise HttpError(404, lang.tr("token {token} not found", token=(arg or "")[:120]))
        token, rid = found
        return Answer(200, document("service_requests", fmt, [{"service_request_id": rid or "", "token": token}]))

    def _list(self, environ: dict[str, Any], fmt: str, lang: Lang) -> Answer:
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        f, page, size = self._filters(query, lang)
        with_deadline = public.Deadline(self.settings.query_timeout_s)
        rows, total = public.list_requests(self.db, f, page, size, lang, self.counter, with_deadline)
        headers = {"X-Total-Count": str(total), "X-Result-Count": str(total), "X-Page": str(page)}
        if page * size < total:
            base = self.settings.base_url or application_uri(environ).rstrip("/")
            path = environ.get("PATH_INFO", "/requests")
            nxt = urlencode({**query, "page": page + 1, "page_size": size})
            headers["Link"] = f'<{base}{path}?{nxt}>; rel="next"'
        return Answer(200, document("service_requests", fmt, rows), headers)

    def _filters(self, q: dict[str, str], lang: Lang) -> tuple[public.Filters, int, int]:
        s = self.settings
        page = _whole(q.get("page"), 1, "page", lang)
        size = _whole(q.get("page_size"), s.page_size, "page_size", lang)
        if size > s.max_page_size:
            raise HttpError(400, lang.tr("page_size: at most {n}", n=s.max_page_size))
        if page * size > 10_000_000:
            raise HttpError(400, lang.tr("page: too far; narrow the query with start_date and end_date"))
        ids_text = q.get("service_request_id", "").strip()
        if ids_text:  # the spec: other parameters are ignored when ids are given
            parts = [p.strip() for p in ids_text.split(",") if p.strip()]
            if len(parts) > s.max_page_size or not all(p.isdigit() and len(p) < 12 for p in parts):
                raise HttpError(400, lang.tr("service_request_id: a comma-separated list of request ids"))
            return public.Filters(ids=tuple(int(p) for p in parts)), page, size
        status = q.get("status", "").strip().lower()
        statuses = {p.strip() for p in status.split(",") if p.strip()}
        if not statuses <= {"open", "closed"}:
            raise HttpError(400, lang.tr("status: open or closed"))
        codes = tuple(c.strip() for c in q.get("service_code", "").split(",") if c.strip())
        return (
            public.Filters(
                service_codes=codes,
                start=_time(q.get("start_date"), "start_date", lang),
                end=_time(q.get("end_date"), "end_date", lang),
                status=statuses.pop() if len(statuses) == 1 else None,
                updated_after=_time(q.get("updated_after"), "updated_after", lang),
            ),
            page,
            size,
        )

    def _post(self, environ: dict[str, Any], fmt: str, lang: Lang) -> Answer:
        params = self._form(environ, lang)
        key = params.get("api_key", "").strip()
        if not key:
            raise HttpError(403, lang.tr("api_key is required to post a request."))
        wait = self.per_key.take(tokens.digest(key))
        if wait:
            raise HttpError(
                429,
                lang.tr("Too many requests with this api_key; try again in {s} s.", s=int(wait) + 1),
                {"Retry-After": str(int(wait) + 1)},
            )
        with self.writing:
            try:
                client = accounts.authenticate_token(self.db, key, source="serve:" + environ.get("REMOTE_ADDR", ""))
            except AuthenticationError:
                raise HttpError(403, lang.tr("api_key is unknown or revoked.")) from None
            if self.settings.clients and client.name not in self.settings.clients:
                raise HttpError(403, lang.tr("This api_key may not post requests."))
            try:
                done = posts.post_request(self.db, client, params, lang, environ.get("HTTP_IDEMPOTENCY_KEY", ""))
            except posts.PostError as exc:
                raise HttpError(exc.status, exc.description) from None
            # the kept counts the totals are read from: their pending deltas folded now and then, as a seat does
            counts.compact_if_due(self.db)
        row: dict[str, Any] = {"service_request_id": done.service_request_id or "", "token": done.token}
        row.update(service_notice=done.notice, account_id="")
        status = 202 if done.service_request_id is None else 201 if done.created else 200
        return Answer(status, document("service_requests", fmt, [row]), client=client.name)

    def _form(self, environ: dict[str, Any], lang: Lang) -> dict[str, str]:
        limit = self.settings.max_body_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise HttpError(400, lang.tr("Content-Length is not a number.")) from None
        if length > limit:
            raise HttpError(413, lang.tr("The request body is larger than {n} bytes.", n=limit))
        body = environ["wsgi.input"].read(length) if length else b""
        kind = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if kind not in ("", "application/x-www-form-urlencoded"):
            raise HttpError(415, lang.tr("Post the fields as application/x-www-form-urlencoded."))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise HttpError(400, lang.tr("The request body is not UTF-8.")) from None
        fields = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        return {**query, **fields}


def _by_accept(accept: str) -> str:
    """XML when the client asks for XML (and not JSON first), else JSON."""
    accept = accept.lower()
    xml, json_ = accept.find("xml"), accept.find("json")
    return "xml" if xml >= 0 and (json_ < 0 or xml < json_) else "json"


def _whole(value: str | None, default: int, name: str, lang: Lang) -> int:
    if value in (None, ""):
        return default
    assert value is not None
    if not value.strip().isdigit() or int(value) < 1 or len(value.strip()) > 9:
        raise HttpError(400, lang.tr("{name}: a whole number of at least 1", name=name))
    return int(value)


def _time(value: str | None, name: str, lang: Lang) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value.replace(" ", "+"))
    except ValueError as exc:
        raise HttpError(400, f"{name}: {exc}") from None


def _timed_out(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "interrupted" in text or "statement timeout" in text or "canceling statement" in text
