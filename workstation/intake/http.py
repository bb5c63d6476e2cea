"""Network calls: one plain function per request, always with a timeout, retried with bounded back-off.

Nothing here touches the database or Qt, so the window can run any of it through
``asyncio.to_thread``. Delays go through an injectable ``sleep`` so tests never wait.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from workstation.i18n import tr
from workstation.intake.items import clip
from workstation.intake.settings import Credentials, Retry
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
    if isinstance(exc, requests.Timeout):
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
) -> Response:
    """One HTTP request with a timeout, retried on timeouts, lost connections, 5xx, 408 and 429.

    Other 4xx answers are not retried (the request itself is wrong, or the credentials are).

    Raises:
        FetchError: the last failure, with the number of attempts made.
    """
    creds = credentials or Credentials()
    all_headers = {"User-Agent": USER_AGENT, **creds.headers(), **(headers or {})}
    last: FetchError | None = None
    for attempt in range(1, retry.attempts + 1):
        wait: float | None = None
        try:
            resp = session.request(
                method,
                url,
                params=dict(params) if params else None,
                headers=all_headers,
                auth=creds.basic(),
                data=data,
                timeout=(min(retry.timeout_s, 10.0), retry.timeout_s),
            )
            body = resp.content
        except requests.RequestException as exc:
            last = FetchError(describe(exc), None, attempt, True)
        else:
            if 200 <= resp.status_code < 300:
                return Response(resp.status_code, resp.headers.get("Content-Type", ""), body, resp.url)
            reason = tr(
                "HTTP {status} from {url}: {body}",
                status=resp.status_code,
                url=url,
                body=clip(body.decode("utf-8", "replace").strip(), 200) or resp.reason,
            )
            retryable = resp.status_code in RETRYABLE_STATUS or resp.status_code >= 500
            last = FetchError(reason, resp.status_code, attempt, retryable)
            if not retryable:
                raise last
            wait = _retry_after(resp.headers.get("Retry-After"), retry)
        if attempt < retry.attempts:
            sleep(wait if wait is not None else backoff(retry, attempt))
    assert last is not None
    raise last
