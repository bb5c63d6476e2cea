"""``hotline12345`` / ``hotline12319``: work orders (工单) of the citizen hotlines, read by cursor.

Protocol: the same cursor paging as the platform (``GET {url}?cursor=C&limit=N``), in the
envelope the hotline systems use::

    {
      "code": 0,
      "message": "ok",
      "data": {
        "orders": [
          {
            "order_no": "12345-20260604-0001",      // 工单编号, required, the idempotency key
            "content": "小区门口垃圾堆积三天无人清运",   // 诉求内容, required
            "address": "包河区塘西河路88号",          // 地址
            "caller": "李女士",                      // 来电人
            "phone": "13912345678",                 // 来电号码
            "accepted_at": "2026-06-04T09:12:00+08:00",  // 受理时间, ISO 8601 with offset, required
            "type": "投诉",                          // 诉求类型 (投诉/举报/求助/咨询/建议)
            "lon": 117.28, "lat": 31.74             // optional
          }
        ],
        "next_cursor": "…",
        "has_more": false
      }
    }

The Chinese field names (工单编号, 诉求内容, 地址, 来电人, 来电号码, 受理时间, 诉求类型) are read as well.
``code`` other than 0 means the hotline system refused the request: the page is quarantined with
its ``message``. Orders become reports of channel 12345 or 12319; the order type is kept as the
case's source service. A time without offset is quarantined, not assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workstation.i18n import tr
from workstation.intake.base import CursorSource, register
from workstation.intake.formats import dumps, loads_strict
from workstation.intake.items import Item, Page, PageError, clip
from workstation.intake.platform import identifier, read_page

FIELDS: dict[str, str] = {
    "order_no": "工单编号",
    "content": "诉求内容",
    "address": "地址",
    "caller": "来电人",
    "phone": "来电号码",
    "accepted_at": "受理时间",
    "type": "诉求类型",
    "lon": "经度",
    "lat": "纬度",
}
_KNOWN = frozenset(FIELDS) | frozenset(FIELDS.values())


def _get(raw: Mapping[str, Any], key: str) -> Any:
    value = raw.get(key)
    return raw.get(FIELDS[key]) if value is None else value


def hotline_item(raw: Any, channel: str) -> Item:
    """One work order as a report of the channel (or the reason it is not one)."""
    item = Item(payload=dumps(raw), original=raw)
    if not isinstance(raw, Mapping):
        item.reason = tr("a work order must be a JSON object")
        return item
    order_no = identifier(_get(raw, "order_no"))
    item.key = order_no
    if order_no is None:
        item.reason = "order_no (工单编号): " + tr("required (text or number)")
        return item
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        item.notes.append(tr("ignored field(s): {names}", names=", ".join(clip(n, 40) for n in unknown)))
    kind = _get(raw, "type")
    if kind is not None and not isinstance(kind, str):
        item.notes.append(tr("type (诉求类型) is not text: ignored"))
        kind = None
    item.service_name = kind.strip() if kind else None
    phone = _get(raw, "phone")
    item.report = {
        "channel": channel,
        "external_id": order_no,
        "text": _get(raw, "content"),
        "address": _get(raw, "address"),
        "lon": _get(raw, "lon"),
        "lat": _get(raw, "lat"),
        "reporter_name": _get(raw, "caller"),
        "reporter_phone": str(phone) if isinstance(phone, int) and not isinstance(phone, bool) else phone,
        "received_at": _get(raw, "accepted_at"),
    }
    return item


class _Hotline(CursorSource):
    """A hotline's work orders (see the module docstring)."""

    def parse_page(self, text: str) -> Page:
        """Read one page in its envelope; orders are judged one by one."""
        data = loads_strict(text)
        if not isinstance(data, Mapping):
            raise PageError(tr("the answer must be a JSON object with code, message and data"))
        code = data.get("code", 0)
        if code not in (0, "0"):
            raise PageError(
                tr(
                    "the hotline system answered code {code}: {message}",
                    code=clip(str(code), 20),
                    message=clip(str(data.get("message", "")), 200),
                )
            )
        orders, cursor, more = read_page(data.get("data"), "orders")
        assert self.channel is not None
        return Page([hotline_item(raw, self.channel) for raw in orders], cursor, more)

    def parse_item(self, payload: str) -> Item:
        """Read one kept work order again."""
        assert self.channel is not None
        try:
            return hotline_item(loads_strict(payload), self.channel)
        except PageError as exc:
            return Item(payload=payload, reason=exc.message)


@register
class Hotline12345Source(_Hotline):
    """The 12345 government service hotline."""

    kind = "hotline12345"
    channel = "12345"


@register
class Hotline12319Source(_Hotline):
    """The 12319 urban-management hotline."""

    kind = "hotline12319"
    channel = "12319"
