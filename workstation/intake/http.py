"""Network calls: one plain function per request, always with a timeout, retried with bounded back-off.

Nothing here touches the database or Qt, so the window can run any of it through
``asyncio.to_thread``. Delays go through an injectable ``sleep`` so tests never wait.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import requests.adapters
import urllib3
import urllib3.connection

from workstation.i18n import tr
from workstation.intake.items import clip
from workstation.intake.settings import Credentials, Limits, Retry
from workstation.services.errors import WorkstationError

Sleep = Callable[[float], None]
USER_AGENT = "grid-workstation-intake/1"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class FetchError(WorkstationError):
    """A request failed for good (after its retries); ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, status: int | None = None, attempts: int = 1, retryable: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.retryable = retryable


@dataclass(frozen=True)
class Response:
    """What came back: status, headers that matter, and the raw body."""

    status: int
    content_type: str
    body: bytes
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """A header's value ('' if absent), whatever the case of its name."""
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), "")


def backoff(retry: Retry, failures: int) -> float:
    """The delay before the next attempt after ``failures`` failed ones: doubling, capped."""
    return float(min(retry.backoff_max_s, retry.backoff_s * (2 ** max(0, failures - 1))))


def _retry_after(value: str | None, retry: Retry) -> float | None:
    if not value:
        return None
    try:
        return min(retry.backoff_max_s, max(0.0, float(value)))
    except ValueError:
        return None  # an HTTP date: use our own back-off


def describe(exc: Exception) -> str:
    """A short, readable reason for a network failure."""
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return tr("timed out")
    if isinstance(exc, requests.ConnectionError):
        text = str(exc.args[0] if exc.args else exc)
        why = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)|(Connection aborted|RemoteDisconnected[^'\")]*)", text)
        host = re.search(r"host='([^']+)', port=(\d+)", text)
        where = f"{host.group(1)}:{host.group(2)}" if host else ""
        reason = (why.group(1) or why.group(2)).strip() if why else clip(text, 160)
        return (
            tr("cannot connect to {where}: {reason}", where=where, reason=reason)
            if where
            else tr("cannot connect: {reason}", reason=reason)
        )
    return clip(f"{type(exc).__name__}: {exc}", 200)


_watched = threading.local()


class _Watched:
    """A connection that makes itself known to the request under way in its thread (see ``request``)."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        conns = getattr(_watched, "conns", None)
        if conns is not None:
            conns.append(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections can be cut when a request passes its overall deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The pool manager, making connections that ``request`` can cut at the deadline."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _ensure_deadline_adapter(session: requests.Session) -> None:
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), DeadlineAdapter):
            session.mount(prefix, DeadlineAdapter())


def _cut(conns: list[Any], fired: threading.Event) -> None:
    """The deadline passed: shut the request's sockets, which ends any read blocked on them."""
    fired.set()
    for conn in conns:
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class TooLargeError(Exception):
    """The body passed the size limit."""


class DeadlineError(Exception):
    """The request passed its overall deadline."""


_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)


def one_line(text: str, limit: int = 200) -> str:
    """An error body as one short line: HTML tags dropped, every run of white space one blank."""
    plain = _TAGS.sub(" ", text) if "<" in text else text
    return clip(" ".join(plain.split()), limit)


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}"


def read_body(resp: requests.Response, limits: Limits, started: float, clock: Callable[[], float]) -> bytes:
    """The body, read in pieces as it arrives, within the size limit and the overall deadline.

    Raises:
        TooLargeError: the declared or received size passed ``limits.max_response_bytes``.
        DeadlineError: the last byte did not arrive within ``limits.deadline_s`` of the start.
    """
    declared = resp.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > limits.max_response_bytes:
        resp.close()
        raise TooLargeError(int(declared))
    parts: list[bytes] = []
    size = 0
    raw = resp.raw
    reader = getattr(raw, "read1", None)
    try:
        while True:
            if clock() - started > limits.deadline_s:
                raise DeadlineError
            chunk = reader(65536, decode_content=True) if reader is not None else raw.read(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > limits.max_response_bytes:
                raise TooLargeError(size)
            parts.append(chunk)
    except (TooLargeError, DeadlineError):
        resp.close()
        raise
    return b"".join(parts)


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    retry: Retry,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
    data: Any = None,
    sleep: Sleep = time.sleep,
    limits: Limits | None = None,
    allow_redirects: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Response:
    """One HTTP request with a timeout, retried on timeouts, lost connections, 5xx, 408 and 429.

    Other 4xx answers are not retried (the request itself is wrong, or the credentials are). The body
    is read as a stream within ``limits`` (size and overall deadline): a body too large is refused
    and not retried, one too slow is retried like a timeout. With ``allow_redirects=False`` (every
    POST: requests would repeat it as a GET) a 3xx answer is a failure, retried later, never success.

    Raises:
        FetchError: the last failure, with the number of attempts made.
    """
    creds = credentials or Credentials()
    bounds = limits or Limits()
    _ensure_deadline_adapter(session)
    all_headers = {"User-Agent": USER_AGENT, **creds.headers(), **(headers or {})}
    last: FetchError | None = None
    for attempt in range(1, retry.attempts + 1):
        wait: float | None = None
        started = clock()
        fired = threading.Event()
        conns: list[Any] = []
        watchdog = threading.Timer(bounds.deadline_s, _cut, (conns, fired))
        watchdog.daemon = True
        _watched.conns = conns
        watchdog.start()
        try:
            resp = session.request(
                method,
                url,
                params=dict(params) if params else None,
                headers=all_headers,
                auth=creds.basic(),
                data=data,
                timeout=(min(retry.timeout_s, 10.0), retry.timeout_s),
                allow_redirects=allow_redirects,
                stream=True,
            )
            body = read_body(resp, bounds, started, clock)
        except TooLargeError as exc:
            raise FetchError(
                tr(
                    "the response from {url} is larger than the limit of {limit} MB ({size} MB or more): "
                    "refused unread (limits.max_response_bytes)",
                    url=clip(url, 120),
                    limit=_megabytes(bounds.max_response_bytes),
                    size=_megabytes(int(exc.args[0])),
                ),
                None,
                attempt,
                False,
            ) from None
        except (DeadlineError, requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if isinstance(exc, DeadlineError) or fired.is_set():
                last = FetchError(
                    tr(
                        "the response from {url} did not arrive within {s} s (limits.deadline_s)",
                        url=clip(url, 120),
                        s=f"{bounds.deadline_s:g}",
                    ),
                    None,
                    attempt,
                    True,
                )
            else:
                last = FetchError(describe(exc), None, attempt, True)
        else:
            if 200 <= resp.status_code < 300:
                return Response(
                    resp.status_code, resp.headers.get("Content-Type", ""), body, resp.url, dict(resp.headers)
                )
            if 300 <= resp.status_code < 400:
                last = FetchError(
                    tr(
                        "HTTP {status} from {url}: a redirect to {where}, not followed (the request was not "
                        "delivered; fix the URL in the settings)",
                        status=resp.status_code,
                        url=clip(url, 120),
                        where=clip(resp.headers.get("Location", "?"), 120),
                    ),
                    resp.status_code,
                    attempt,
                    True,
                )
            else:
                reason = tr(
                    "HTTP {status} from {url}: {body}",
                    status=resp.status_code,
                    url=url,
                    body=one_line(body.decode("utf-8", "replace")) or resp.reason,
                )
                retryable = resp.status_code in RETRYABLE_STATUS or resp.status_code >= 500
                last = FetchError(reason, resp.status_code, attempt, retryable)
                if not retryable:
                    raise last
                wait = _retry_after(resp.headers.get("Retry-After"), retry)
        finally:
            watchdog.cancel()
            _watched.conns = None
        if attempt < retry.attempts:
            sleep(wait if wait is not None else backoff(retry, attempt))
    assert last is not None
    raise last
