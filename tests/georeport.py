"""A local Open311 GeoReport v2 server that behaves like the deployed Django one, for tests and the bench.

What it does as deployed servers do (and the specification's examples do not):
- lists requests **newest first** (by ``requested_datetime``) in pages of its **own default size**
  (``page_size`` is honoured up to a maximum), and answers ``404 {"detail": "Invalid page."}`` for a page
  past the last one (page 1 of an empty list is an empty list);
- answers XML with a ``<requests>`` root of ``<request>`` elements;
- filters by ``start_date``/``end_date`` (on ``requested_datetime``) and by ``updated_after``/``updated_before``
  (on ``updated_datetime``);
- lets the test change a request between polls (close it, give it its id) and add **late arrivals**
  whose ``requested_datetime`` lies in the past while their ``updated_datetime`` is now;
- optionally sends ``X-Result-Count`` and a ``Link: <...>; rel="next"`` header.

Every answer is logged in ``calls`` (the query of each request) so tests can say what was asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from werkzeug import Request, Response

CENTRE = (117.2665624, 31.7369032)  # inside 塘西河网格 S13C01G01


def iso(when: datetime) -> str:
    """A time as the Django server writes it (UTC with offset, microseconds when there are any)."""
    return when.astimezone(UTC).isoformat()


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Served:
    """One request as the server holds it."""

    rid: str | None
    requested: datetime
    updated: datetime
    status: str = "open"
    token: str | None = None
    code: str = "001"
    description: str = "井盖缺失"
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None  # served as it is (a hostile item)

    def as_json(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        out: dict[str, Any] = {
            "service_request_id": self.rid,
            "token": self.token,
            "status": self.status,
            "status_notes": "已处理" if self.status == "closed" else None,
            "service_code": self.code,
            "service_name": "井盖",
            "description": self.description,
            "requested_datetime": iso(self.requested),
            "updated_datetime": iso(self.updated),
            "lat": CENTRE[1],
            "long": CENTRE[0],
            "address": "洞庭湖路",
            "media_url": None,
        }
        out.update(self.extra)
        return out


class GeoReportServer:
    """Handler for ``pytest_httpserver`` (``install``) answering ``/services`` and ``/requests``."""

    def __init__(self, default_page_size: int = 100, max_page_size: int = 200) -> None:
        self.requests: list[Served] = []
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.calls: list[dict[str, str]] = []
        self.result_count = False
        self.link_next = False
        self.base = ""
        self.before_answer: Any = None  # a hook called with the page number before answering (tests change data)
        self.frozen = False  # the requests no longer change: the filtered, sorted list is kept per query
        self._cache: dict[tuple[tuple[str, str], ...], list[Served]] = {}

    def install(self, httpserver: Any, root: str = "/open311/v2") -> str:
        httpserver.expect_request(f"{root}/services.json").respond_with_json(
            [{"service_code": "001", "service_name": "井盖", "type": "realtime", "metadata": False}]
        )
        for fmt in ("json", "xml"):
            httpserver.expect_request(f"{root}/requests.{fmt}").respond_with_handler(self.handler)
        self.base = httpserver.url_for(root)
        return self.base

    def add(self, count: int, *, start: int = 1, now: datetime | None = None, step_s: float = 60.0) -> list[Served]:
        """``count`` open requests, ids ``start``..; the higher the id, the newer (all within the last days)."""
        now = now or datetime.now(UTC)
        made = []
        for i in range(start, start + count):
            when = now - timedelta(seconds=step_s * (start + count - i)) - timedelta(microseconds=i % 997)
            made.append(Served(str(i), when, when))
        self.requests.extend(made)
        return made

    def find(self, rid: str) -> Served:
        return next(r for r in self.requests if r.rid == rid)

    def touch(self, served: Served, **changes: Any) -> None:
        """Change a request as the server would: its updated_datetime becomes now."""
        for key, value in changes.items():
            setattr(served, key, value)
        served.updated = datetime.now(UTC)

    def _selected(self, args: Any) -> list[Served]:
        key = tuple(sorted((k, v) for k, v in args.items() if k not in ("page", "page_size")))
        if self.frozen and key in self._cache:
            return self._cache[key]
        rows = list(self.requests)
        bounds = (
            ("start_date", lambda r: r.requested, 1),
            ("end_date", lambda r: r.requested, -1),
            ("updated_after", lambda r: r.updated, 1),
            ("updated_before", lambda r: r.updated, -1),
        )
        for name, key, sign in bounds:
            if args.get(name):
                edge = parse(args[name])
                rows = [r for r in rows if (key(r) >= edge if sign > 0 else key(r) <= edge)]
        rows = sorted(rows, key=lambda r: r.requested, reverse=True)  # newest first
        if self.frozen:
            self._cache[key] = rows
        return rows

    def wsgi(self, environ: Any, start_response: Any) -> Any:
        """The server as a WSGI application (for ``werkzeug.serving.make_server`` in the bench)."""
        request = Request(environ)
        if request.path.endswith("/services.json"):
            response = Response(
                json.dumps([{"service_code": "001", "service_name": "井盖"}]), content_type="application/json"
            )
        else:
            response = self.handler(request)
        return response(environ, start_response)

    def handler(self, request: Request) -> Response:
        args = dict(request.args)
        self.calls.append(args)
        fmt = "xml" if request.path.endswith(".xml") else "json"
        try:
            number = int(args.get("page", "1"))
            size = min(int(args.get("page_size", self.default_page_size)), self.max_page_size)
        except ValueError:
            return Response(json.dumps({"detail": "Invalid page."}), 404, content_type="application/json")
        if self.before_answer is not None:
            self.before_answer(number)
        rows = self._selected(args)
        pages = max(1, -(-len(rows) // size))
        if number < 1 or number > pages:
            return Response(json.dumps({"detail": "Invalid page."}), 404, content_type="application/json")
        chunk = rows[(number - 1) * size : number * size]
        headers: dict[str, str] = {}
        if self.result_count:
            headers["X-Result-Count"] = str(len(rows))
        if self.link_next and number < pages:
            query = urlencode({**args, "page": number + 1})
            headers["Link"] = f'<{request.base_url}?{query}>; rel="next"'
        if fmt == "xml":
            body = "".join(_xml_request(r.as_json()) for r in chunk)
            text = f'<?xml version="1.0" encoding="utf-8"?>\n<requests>{body}</requests>'
            return Response(text, content_type="application/xml; charset=utf-8", headers=headers)
        text = json.dumps([r.as_json() for r in chunk])  # ASCII with escapes, as Django REST framework may write
        return Response(text, content_type="application/json; charset=utf-8", headers=headers)


def _xml_request(fields: dict[str, Any]) -> str:
    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items() if v is not None)
    return f"<request>{inner}</request>"
