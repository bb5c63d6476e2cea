"""``platform``: the district platform's feed of new reports, read by cursor.

Protocol
--------
The workstation asks for one page at a time::

    GET {url}?limit=N              (first request: from the start of the feed)
    GET {url}?cursor=C&limit=N     (every later request: C is the next_cursor last stored)
    Authorization: Bearer <token>  (or HTTP basic, as configured)

and the platform answers ``200`` with ``application/json``::

    {
      "items": [
        {
          "id": "BH-20260604-000123",
          "channel": "APP",
          "text": "洞庭湖路与嵩山路交口向西10米，路南侧有非机动车乱停放",
          "address": "洞庭湖路与嵩山路交口",
          "lon": 117.2871, "lat": 31.7425,
          "grid": "S13C01G01",
          "reporter": {"name": "张三", "phone": "13812345678"},
          "received_at": "2026-06-04T10:19:00+08:00",
          "photos": ["https://platform.example/media/123.jpg"]
        }
      ],
      "next_cursor": "opaque-position-after-this-page",
      "has_more": false
    }

Item fields: ``id`` (text or integer, at most 100 characters, unique per channel: the idempotency
key), ``channel`` (a channel code: PDA, PATROL, 12345, 12319, WECHAT, APP, POLICE, VISIT, PHONE,
OPEN311), ``text`` (required), ``address``, ``lon``/``lat`` (numbers, both or neither), ``grid``
(grid code or exact grid name; otherwise the grid is found from the point), ``reporter`` (object
with ``name`` and ``phone``), ``received_at`` (ISO 8601 **with** offset; a time without one is
quarantined, never assumed to be +08:00), ``photos`` (list of references), and optionally
``urgency`` (urgent, normal, low). Other fields are ignored and named in the case's first event.

Paging: ``next_cursor`` is an opaque text the platform gives back; it is required whenever
``items`` is not empty, and ``has_more: true`` means "ask again now with next_cursor". The cursor
is stored in the same transaction as the page's items, so after a crash the workstation asks again
from the last committed page; the platform may therefore deliver an item more than once, and the
workstation recognises it by (channel, id) and never creates it twice. A page that is not such a
JSON object is quarantined whole and the cursor stays where it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workstation.i18n import tr
from workstation.intake.base import CursorSource, register
from workstation.intake.formats import dumps, loads_strict
from workstation.intake.items import Item, Page, PageError, clip
from workstation.services.reports import unstorable

ITEM_FIELDS = frozenset(
    {"id", "channel", "text", "address", "lon", "lat", "grid", "reporter", "received_at", "photos", "urgency"}
)


def identifier(value: Any) -> str | None:
    """An item identifier as text: text or a whole number; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | str):
        text = str(value).strip()
        return text or None
    return None


def read_page(data: Any, items_key: str = "items") -> tuple[list[Any], str | None, bool]:
    """The items, next cursor and has_more of a cursor page already parsed from JSON.

    Raises:
        PageError: not the shape of a page.
    """
    if not isinstance(data, Mapping):
        raise PageError(tr("a page must be a JSON object with {key}, next_cursor and has_more", key=items_key))
    items = data.get(items_key)
    if not isinstance(items, list):
        raise PageError(tr("{key} must be a list", key=items_key))
    more = data.get("has_more", False)
    if not isinstance(more, bool):
        raise PageError(tr("has_more must be true or false"))
    raw_cursor = data.get("next_cursor")
    cursor = identifier(raw_cursor)
    if raw_cursor is not None and cursor is None:
        raise PageError(tr("next_cursor must be text"))
    if items and cursor is None:
        raise PageError(tr("next_cursor is missing: the feed could not resume after this page"))
    if cursor is not None and len(cursor) > 1000:
        raise PageError(tr("next_cursor is longer than 1000 characters"))
    if cursor is not None and unstorable(cursor, True):
        raise PageError("next_cursor: " + (unstorable(cursor, True) or ""))
    return items, cursor, more


def platform_item(raw: Any) -> Item:
    """One platform item as a report (or the reason it is not one)."""
    item = Item(payload=dumps(raw), original=raw)
    if not isinstance(raw, Mapping):
        item.reason = tr("an item must be a JSON object")
        return item
    ext = identifier(raw.get("id"))
    item.key = ext
    if ext is None:
        item.reason = "id: " + tr("required (text or number)")
        return item
    reporter = raw.get("reporter") or {}
    if not isinstance(reporter, Mapping):
        item.reason = "reporter: " + tr("an object with name and phone")
        return item
    unknown = sorted(set(raw) - ITEM_FIELDS)
    if unknown:
        item.notes.append(tr("ignored field(s): {names}", names=", ".join(clip(n, 40) for n in unknown)))
    unknown_rep = sorted(set(reporter) - {"name", "phone"})
    if unknown_rep:
        item.notes.append(tr("ignored reporter field(s): {names}", names=", ".join(clip(n, 40) for n in unknown_rep)))
    item.report = {
        "channel": raw.get("channel"),
        "external_id": ext,
        "text": raw.get("text"),
        "address": raw.get("address"),
        "lon": raw.get("lon"),
        "lat": raw.get("lat"),
        "grid": raw.get("grid"),
        "reporter_name": reporter.get("name"),
        "reporter_phone": reporter.get("phone"),
        "received_at": raw.get("received_at"),
        "photos": raw.get("photos"),
        "urgency": raw.get("urgency"),
    }
    if not isinstance(item.report["channel"], str):
        item.reason = "channel: " + tr("required: a channel code")
    elif item.report["grid"] is not None and not isinstance(item.report["grid"], str | int):
        item.reason = "grid: " + tr("a grid code or name")
    elif item.report["urgency"] is not None and not isinstance(item.report["urgency"], str):
        item.reason = "urgency: " + tr("one of: urgent, normal, low")
    return item


@register
class PlatformSource(CursorSource):
    """The district platform's feed (see the module docstring for the protocol)."""

    kind = "platform"

    def parse_page(self, text: str) -> Page:
        """Read one page; items are judged one by one."""
        items, cursor, more = read_page(loads_strict(text))
        return Page([platform_item(raw) for raw in items], cursor, more)

    def parse_item(self, payload: str) -> Item:
        """Read one kept item again."""
        try:
            return platform_item(loads_strict(payload))
        except PageError as exc:
            return Item(payload=payload, reason=exc.message)
