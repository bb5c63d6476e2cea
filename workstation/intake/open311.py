"""``open311``: service requests from an Open311 GeoReport v2 endpoint, in JSON or XML.

The source's ``url`` is the endpoint root: the workstation reads ``{url}/services.{json|xml}`` (to
learn the service codes, kept in the editable ``service_mappings`` table) and
``{url}/requests.{json|xml}?start_date=…`` (plus ``end_date``, ``page``/``page_size`` and
``jurisdiction_id`` where the endpoint offers them: see the options). The cursor is the latest
``requested_datetime`` imported; it is stored only once the whole round is committed, since
endpoints often list the newest requests first.

Parsing is lenient as real endpoints require: unquoted numeric codes (``"service_code":001``),
numbers or text for ids and coordinates, missing and extra fields, empty strings, ``lng``/``lon``
for ``long``, ``Z``/``+0800``/``+08:00`` offsets. A ``requested_datetime`` without an offset is read
in the source's ``assume_tz`` only when the options name one; otherwise the request is quarantined
with that reason. Whatever was not understood is listed in the case's first event (``not_understood``)
next to the original payload. Requests become reports of channel OPEN311 whose external id is
``<source>:<service_request_id>``; the service name is kept as the case's source service, and the
service code is mapped to a catalogue category when the mapping table says so.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree as ET

from workstation.i18n import tr
from workstation.intake import ingest, mappings
from workstation.intake.base import PollContext, RoundResult, Source, register
from workstation.intake.formats import dumps, element_fields, loads_lenient, parse_xml, read_time, sniff, xml_text, zone
from workstation.intake.http import FetchError
from workstation.intake.items import CursorMove, Item, Page, PageError, clip
from workstation.intake.settings import Limits
from workstation.services.errors import ValidationError
from workstation.services.reports import unstorable

CHANNEL = "OPEN311"
KNOWN = frozenset(
    {
        "service_request_id",
        "token",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    }
)
ITEM_TAGS = frozenset({"request", "service_request", "list-item"})
LIST_TAGS = frozenset({"service_requests", "requests", "root"})
ALIASES = {"lng": "long", "lon": "long", "longitude": "long", "latitude": "lat"}


def _text(value: Any) -> str | None:
    """A scalar as text (None for missing or empty); numbers keep their digits."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value) if value.is_integer() else value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _coordinate(value: Any) -> float | None:
    text = _text(value)
    if text is None:
        return None
    number = float(text)  # ValueError for anything unreadable
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def request_item(fields: Mapping[str, Any], source: str, assume: tzinfo | None, payload: str, original: Any) -> Item:
    """One GeoReport v2 service request as a report of channel OPEN311 (or the reason it is not one)."""
    item = Item(payload=payload, original=original)
    data: dict[str, Any] = {}
    for key, value in fields.items():
        name = ALIASES.get(str(key), str(key))
        if name != key and name in fields:
            continue
        data[name] = value
    unknown = sorted(k for k in data if k not in KNOWN)
    if unknown:
        item.notes.append(tr("ignored field(s): {names}", names=", ".join(clip(k, 40) for k in unknown)))
    odd = sorted(k for k in KNOWN if data.get(k) is not None and not isinstance(data[k], str | int | float))
    if odd:
        item.notes.append(tr("not plain values, ignored: {names}", names=", ".join(odd)))
    rid = _text(data.get("service_request_id"))
    token = _text(data.get("token"))
    if rid is None and token:
        rid = "token-" + token
        item.notes.append(tr("no service_request_id yet: the request's token identifies it"))
    elif rid is not None and token and len(token) <= 90:
        item.aliases.append(f"{source}:token-{token}")  # a case first seen by its token is this request's case
    item.key = rid
    if rid is None:
        item.reason = "service_request_id: " + tr("missing: the request cannot be imported without its identifier")
        return item
    external_id = f"{source}:{rid}"
    if len(external_id) > 100:
        item.reason = "service_request_id: " + tr("longer than {n} characters", n=100 - len(source) - 1)
        return item
    item.service_code = _text(data.get("service_code"))
    if item.service_code is not None and (len(item.service_code) > 100 or unstorable(item.service_code, True)):
        item.reason = "service_code: " + (unstorable(item.service_code, True) or tr("at most 100 characters"))
        return item
    item.service_name = _text(data.get("service_name")) or item.service_code
    text = _text(data.get("description"))
    if text is None:
        text = _text(data.get("service_name"))
        if text is None:
            item.reason = "description: " + tr("missing, and no service_name to stand for it")
            return item
        item.notes.append(tr("no description: the service name stands for the text"))
    try:
        when, assumed = read_time(data.get("requested_datetime"), assume)
    except ValueError as exc:
        hint = "" if assume else " " + tr("(set assume_tz in the source's options to read such times in local time)")
        item.reason = f"requested_datetime: {exc}" + (hint if "timezone" in str(exc) else "")
        return item
    if assumed:
        item.notes.append(tr("requested_datetime had no timezone: read in {tz} (assume_tz)", tz=str(assume)))
    try:
        lat, lon = _coordinate(data.get("lat")), _coordinate(data.get("long"))
    except ValueError:
        item.reason = "lat/long: " + tr(
            "unreadable coordinates ({lat}, {long})",
            lat=clip(str(data.get("lat")), 30),
            long=clip(str(data.get("long")), 30),
        )
        return item
    if (lat is None) != (lon is None):
        item.reason = "lat/long: " + tr("only one of lat and long is given")
        return item
    if lat == 0 and lon == 0:
        item.notes.append(tr("lat/long 0,0 means no location: ignored"))
        lat = lon = None
    if lat is None:
        item.notes.append(tr("no coordinates"))
    address = _text(data.get("address")) or ""
    if not address and _text(data.get("address_id")):
        item.notes.append(tr("only an address_id, no address text"))
    if len(address) > 300:
        item.notes.append(tr("address shortened to 300 characters"))
        address = address[:300]
    status = (_text(data.get("status")) or "").lower()
    if status in ("open", "closed"):
        item.status = status
        notes = _text(data.get("status_notes"))
        item.status_notes = clip(notes, 500) if notes else None
    elif status:
        item.notes.append(tr("unknown status {status}: not recorded", status=clip(status, 30)))
    if _text(data.get("updated_datetime")):
        try:
            item.updated_at = read_time(data.get("updated_datetime"), assume)[0].astimezone(UTC)
        except (ValueError, OverflowError):
            item.notes.append(tr("updated_datetime not understood: ignored"))
    media = _text(data.get("media_url"))
    item.report = {
        "channel": CHANNEL,
        "external_id": external_id,
        "text": text,
        "address": address,
        "lon": lon,
        "lat": lat,
        "received_at": when.isoformat(),
        "photos": [media] if media else [],
    }
    return item


def _errors_json(data: list[Any]) -> str | None:
    if data and all(isinstance(e, Mapping) and "code" in e and set(e) <= {"code", "description"} for e in data):
        return "; ".join(f"{_text(e.get('code')) or '?'} {clip(str(e.get('description')), 200)}" for e in data)
    return None


def _errors_xml(root: ET.Element) -> str:
    parts = []
    for error in root.iter("error"):
        fields, _ = element_fields(error)
        parts.append(f"{fields.get('code', '?')} {clip(fields.get('description', ''), 200)}")
    return "; ".join(parts) or tr("no details")


def parse_requests(text: str, source: str, assume: tzinfo | None = None, limits: Limits | None = None) -> Page:
    """A requests document (JSON or XML) as items.

    Lenient on the shape (a list, an object holding ``service_requests`` or ``requests``; any XML root
    holding ``<request>`` elements), strict on each request's content.

    Raises:
        PageError: the document as a whole cannot be read, the endpoint answered with errors, or it
            lists more requests than ``limits.max_items_per_page``.
    """
    bounds = limits or Limits()
    kind = sniff(text)
    items: list[Item] = []
    notes: list[str] = []
    if kind == "json":
        data = loads_lenient(text)
        if isinstance(data, Mapping):
            if "errors" in data:
                raise PageError(
                    tr("the endpoint answered with errors: {errors}", errors=clip(dumps(data["errors"]), 300))
                )
            listed = data.get("service_requests", data.get("requests"))
            if listed is None and "service_request_id" in data:
                listed = [data]
            if not isinstance(listed, list):
                raise PageError(
                    tr(
                        "expected a list of service requests, got an object with {keys}",
                        keys=clip(", ".join(map(str, data)), 100),
                    )
                )
            data = listed
        if not isinstance(data, list):
            raise PageError(tr("expected a list of service requests"))
        _check_count(len(data), bounds)
        errors = _errors_json(data)
        if errors:
            raise PageError(tr("the endpoint answered with errors: {errors}", errors=errors))
        for raw in data:
            payload = dumps(raw)
            if not isinstance(raw, Mapping):
                items.append(Item(payload=payload, original=raw, reason=tr("a service request must be a JSON object")))
            else:
                items.append(request_item(raw, source, assume, payload, raw))
    elif kind == "xml":
        root = parse_xml(text, bounds.max_xml_depth)
        if root.tag == "errors":
            raise PageError(tr("the endpoint answered with errors: {errors}", errors=_errors_xml(root)))
        _check_count(len(root), bounds)
        if root.tag in ("request", "service_request"):
            elements = [root]
        else:  # <service_requests> in the specification, <requests> or <root> on deployed servers
            elements = [c for c in root if c.tag in ITEM_TAGS]
            others = sorted({str(c.tag) for c in root if c.tag not in ITEM_TAGS})
            if not elements and (others or root.tag not in LIST_TAGS):
                raise PageError(
                    tr(
                        "unexpected XML document <{tag}>: expected a list of <request> elements",
                        tag=clip(str(root.tag), 40),
                    )
                )
            if others:
                notes.append(tr("ignored element(s): {names}", names=", ".join(clip(o, 40) for o in others[:10])))
        for element in elements:
            payload = xml_text(element)
            fields, skipped = element_fields(element)
            item = request_item(fields, source, assume, payload, payload)
            item.notes = skipped + item.notes
            items.append(item)
    else:
        raise PageError(tr("neither JSON nor XML"))
    return Page(items, None, False, notes)


def _check_count(count: int, limits: Limits) -> None:
    if count > limits.max_items_per_page:
        raise PageError(
            tr(
                "the page lists {n} entries, more than the limit of {limit} (limits.max_items_per_page)",
                n=count,
                limit=limits.max_items_per_page,
            )
        )


def parse_services(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """A services document (JSON or XML) as (service_code, service_name) pairs, and notes on skipped entries.

    Raises:
        PageError: the document cannot be read.
    """
    kind = sniff(text)
    entries: list[Mapping[str, Any]] = []
    notes: list[str] = []
    if kind == "json":
        data = loads_lenient(text)
        if isinstance(data, Mapping):
            data = data.get("services")
        if not isinstance(data, list):
            raise PageError(tr("expected a list of services"))
        errors = _errors_json(data)
        if errors:
            raise PageError(tr("the endpoint answered with errors: {errors}", errors=errors))
        for raw in data:
            if isinstance(raw, Mapping):
                entries.append(raw)
            else:
                notes.append(tr("a service that is not an object was skipped"))
    elif kind == "xml":
        root = parse_xml(text)
        if root.tag == "errors":
            raise PageError(tr("the endpoint answered with errors: {errors}", errors=_errors_xml(root)))
        if root.tag != "services":
            raise PageError(tr("unexpected XML document <{tag}>: expected <services>", tag=clip(str(root.tag), 40)))
        for element in root.iter("service"):
            entries.append(element_fields(element)[0])
    else:
        raise PageError(tr("neither JSON nor XML"))
    services: list[tuple[str, str]] = []
    for entry in entries:
        code = _text(entry.get("service_code"))
        if code is None or len(code) > 100:
            notes.append(tr("a service without a usable service_code was skipped"))
            continue
        services.append((code, _text(entry.get("service_name")) or ""))
    return services, notes


@register
class Open311Source(Source):
    """An Open311 GeoReport v2 endpoint (see the module docstring)."""

    kind = "open311"
    channel = CHANNEL

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``format``, ``assume_tz``, ``page_size``, ``service_map`` and the rest."""
        out = dict(options)
        errors: dict[str, str] = {}
        if out.setdefault("format", "json") not in ("json", "xml"):
            errors["format"] = tr("json or xml")
        tz = out.get("assume_tz")
        if tz:
            try:
                out["_assume"] = zone(str(tz))
            except ValueError as exc:
                errors["assume_tz"] = str(exc)
        if out.setdefault("since", "updated_after") not in ("updated_after", "start_date"):
            errors["since"] = tr("updated_after or start_date")
        overlap = out.get("overlap_s", OVERLAP_S)
        if isinstance(overlap, bool) or not isinstance(overlap, int | float) or overlap < 0:
            errors["overlap_s"] = tr("a number of at least {n}", n=0)
        start = out.get("start_date")
        if start is not None:
            try:
                when, _ = read_time(start, out.get("_assume") if isinstance(out.get("_assume"), tzinfo) else None)
                out["start_date"] = stamp(when)
            except (ValueError, OverflowError) as exc:
                errors["start_date"] = str(exc)
        size = out.get("page_size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            errors["page_size"] = tr("a whole number of at least 1")
        smap = out.get("service_map") or {}
        if not isinstance(smap, Mapping) or not all(isinstance(v, str | None) for v in smap.values()):
            errors["service_map"] = tr("an object: service code -> category code")
        if errors:
            raise ValidationError("; ".join(f"options.{k}: {v}" for k, v in errors.items()), errors)
        return out

    @property
    def assume(self) -> tzinfo | None:
        """The zone to read times without offset in, if the options name one."""
        value = self.options.get("_assume")
        return value if isinstance(value, tzinfo) else None

    def parse_page(self, text: str) -> Page:
        """Read one requests document."""
        return parse_requests(text, self.name, self.assume, self.config.limits)

    def parse_item(self, payload: str) -> Item:
        """Read one kept request again (JSON object or ``<request>`` element)."""
        try:
            page = parse_requests(payload, self.name, self.assume)
        except PageError as exc:
            return Item(payload=payload, reason=exc.message)
        if len(page.items) != 1:
            return Item(payload=payload, reason=tr("expected exactly one service request"))
        return page.items[0]

    def endpoint(self, name: str) -> str:
        """The URL of ``services`` or ``requests`` in the configured format (a query in ``url`` is kept)."""
        return endpoint_url(self.config.url, f"{name}.{self.options['format']}")

    def sync_services(self, ctx: PollContext) -> list[str]:
        """Record the endpoint's service list in the mapping table; returns notes (failures are not fatal)."""
        params = {"jurisdiction_id": self.options["jurisdiction_id"]} if self.options.get("jurisdiction_id") else None
        try:
            services, notes = parse_services(self.text_of(self.fetch(ctx, self.endpoint("services"), params)))
        except (FetchError, PageError) as exc:
            return [tr("services list not read: {reason}", reason=exc.message)]
        mappings.record_services(ctx.db, self.name, services)
        return notes

    def _since_value(self, since: str | None) -> str | None:
        """What to send as ``updated_after`` / ``start_date``: the stored position less the overlap window."""
        if since is None:
            start = self.options.get("start_date")
            return str(start) if start else None
        overlap = float(self.options.get("overlap_s", OVERLAP_S))
        when = datetime.fromisoformat(since.replace("Z", "+00:00")) - timedelta(seconds=overlap)
        return stamp(when)

    def sweep(
        self, ctx: PollContext, url: str, params: Mapping[str, Any], first_page: int = 1
    ) -> Iterator[tuple[int, Page | None, str, str | None]]:
        """Read pages from ``first_page`` until the server says there is no more (or max_pages).

        Yields ``(page number, page, text, None)`` for each page read, ``(n, None, text, reason)`` for a
        page that cannot be read (the sweep stops there), and finally ``(n, None, "", None)`` when the
        server said there is no more, n being the page that would come next. A sweep that stops at
        ``max_pages`` ends without that final marker.
        """
        size = self.options.get("page_size")
        learned: int | None = size
        seen = 0
        previous: list[str | None] | None = None
        next_url: str | None = None
        number = first_page
        for _ in range(self.config.max_pages):
            query = dict(params)
            query["page"] = number
            if size:
                query["page_size"] = size
            try:
                response = self.fetch(ctx, next_url, None) if next_url else self.fetch(ctx, url, query)
            except FetchError as exc:
                if exc.status == 404 and number > 1:  # "Invalid page.": past the last page
                    yield number, None, "", None
                    return
                raise
            text = response.body.decode("utf-8", "replace")
            try:
                text = self.text_of(response)
                page = self.parse_page(text)
            except PageError as exc:
                yield number, None, text, exc.message
                return
            keys = [i.key for i in page.items]
            if not page.items or keys == previous:  # an empty page, or a server that does not page at all
                yield number, None, "", None
                return
            yield number, page, text, None
            seen += len(page.items)
            previous = keys
            learned = learned or len(page.items)  # the server's own default page size
            number += 1
            total = response.header("X-Result-Count").strip()
            links = response.header("Link")
            next_url = _link_next(links, response.url) if links else None
            if (total.isdigit() and seen >= int(total)) or (links and next_url is None) or len(page.items) < learned:
                yield number, None, "", None
                return

    def poll(self, ctx: PollContext) -> RoundResult:
        """Read what changed since the stored position, every page of it, newest first or not.

        The position moves only once every page of a sweep was read, and only to the latest time
        read; a sweep cut short (max_pages, a failure) is resumed at its next page in the next round.
        """
        result = RoundResult(self.name, self.kind)
        if self.options.get("service_map"):
            mappings.seed_mappings(ctx.db, self.name, self.options["service_map"])
        if self.options.get("sync_services", True):
            result.notes.extend(self.sync_services(ctx))
        stored = ingest.read_cursor(ctx.db, self.name)
        result.cursor = stored
        state = Position.read(stored)
        now = ctx.now()
        if state.until is None:
            state.until = stamp(now)
        params: dict[str, Any] = {}
        if self.options.get("jurisdiction_id"):
            params["jurisdiction_id"] = self.options["jurisdiction_id"]
        since = self._since_value(state.since)
        field = self.options["since"]
        if since:
            params[field] = since
        if self.options.get("end_date"):
            params["end_date" if field == "start_date" else "updated_before"] = state.until
        ceiling = now + timedelta(seconds=self.config.limits.report_future_s)
        finished = False
        try:
            for number, page, text, problem in self.sweep(ctx, self.endpoint("requests"), params, state.page):
                if problem is not None:
                    ingest.quarantine_page(ctx.db, self.name, self.kind, text, problem, stored)
                    result.ok, result.error = False, tr("page quarantined: {reason}", reason=problem)
                    result.quarantined += 1
                    break
                if page is None:
                    finished = True
                    break
                batch = self.store(ctx.db, page.items)
                result.add(batch)
                result.pages += 1
                result.notes.extend(page.notes)
                for item, outcome in zip(page.items, batch.outcomes, strict=True):
                    if outcome.status == "quarantined" or not item.report:
                        continue
                    when = self.position_of(item)
                    if when is not None and when <= ceiling:
                        state.high = later(state.high, stamp(when))
                state.page = number + 1
        except FetchError as exc:
            result.ok, result.error = False, exc.message
        if finished:
            new = Position(since=later(state.since, state.high))
        else:
            new = state
            if result.ok:
                result.notes.append(tr("more pages remain: the next round goes on at page {n}", n=state.page))
        text_new = new.write()
        if text_new != stored:
            try:
                self.store(ctx.db, [], CursorMove(stored, text_new))
                result.cursor = text_new
            except ingest.CursorMovedError as exc:
                result.notes.append(exc.message)
        return result

    def position_of(self, item: Item) -> datetime | None:
        """The time by which this item moves the position: its update time where ``updated_after`` is used."""
        if self.options["since"] == "updated_after" and item.updated_at is not None:
            return item.updated_at
        assert item.report is not None
        return datetime.fromisoformat(item.report["received_at"]).astimezone(UTC)


OVERLAP_S = 300.0


def stamp(when: datetime) -> str:
    """A time as the cursor keeps it: UTC, ISO 8601 with ``Z``, microseconds kept when there are any."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Position:
    """Where an Open311 source stands.

    ``since``: everything the server changed up to this time was read. While a sweep is under way
    (cut short by max_pages or a failure), also ``page`` (the next page to read), ``until`` (the end
    of the sweep's window) and ``high`` (the latest time read so far in it). Stored as the bare time
    when no sweep is under way, else as a JSON object.
    """

    since: str | None = None
    page: int = 1
    until: str | None = None
    high: str | None = None

    @classmethod
    def read(cls, text: str | None) -> Position:
        """The position from the stored cursor (None: from the start)."""
        if not text:
            return cls()
        if text.startswith("{"):
            try:
                data = json.loads(text)
                return cls(data.get("since"), int(data.get("page", 1)), data.get("until"), data.get("high"))
            except (ValueError, TypeError, AttributeError):
                return cls()
        return cls(since=text)

    def write(self) -> str | None:
        """The cursor text."""
        if self.page == 1 and self.high is None:
            return self.since
        return json.dumps(
            {"since": self.since, "page": self.page, "until": self.until, "high": self.high}, separators=(",", ":")
        )


def later(a: str | None, b: str | None) -> str | None:
    """The later of two stamps (None counts as earliest)."""
    if a is None or b is None:
        return a or b

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return a if parse(a) >= parse(b) else b


def endpoint_url(base: str, name: str) -> str:
    """``{base}/{name}`` with a query string in ``base`` kept after the new path."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + "/" + name
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


_LINK = re.compile(r'<([^>]*)>\s*;[^,]*?rel="?([^",;]+)"?', re.I)


def _link_next(header: str, base: str) -> str | None:
    """The rel="next" URL of a Link header, if any."""
    for target, rel in _LINK.findall(header):
        if "next" in rel.lower().split():
            return urljoin(base, target)
    return None
