"""Where reports come from: channel codes, their labels, and which need on-site confirmation."""

from __future__ import annotations

CHANNELS: dict[str, str] = {
    "PDA": "网格员PDA",
    "PATROL": "信息员巡查",
    "12345": "12345热线",
    "12319": "12319热线",
    "WECHAT": "微信公众号",
    "APP": "共治包河APP",
    "POLICE": "公安非警务",
    "VISIT": "走访发现",
    "PHONE": "坐席来电",
    "OPEN311": "Open311",
}

# Reports from grid members and information officers can be filed directly; the others usually
# need on-site confirmation first.
DIRECT = frozenset({"PDA", "PATROL", "VISIT"})


def normalise(code: str) -> str | None:
    """The canonical channel code for any spelling (case-insensitive), or None if unknown."""
    text = (code or "").strip().upper()
    return text if text in CHANNELS else None
