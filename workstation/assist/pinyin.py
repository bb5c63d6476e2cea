"""Type-to-filter matching for pickers: codes, names, keywords and their pinyin.

A picker calls ``matches(query, *fields)`` for every item on every keystroke, so the
pinyin of each string is computed once and cached. ``matches`` returns a rank (lower is better) or
None; a picker sorts the matching items by (rank, its own order).
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

RANK_CODE_EXACT = 0
RANK_CODE_PREFIX = 1
RANK_NAME_PREFIX = 2
RANK_NAME_SUBSTRING = 3
RANK_KEYWORD = 4
RANK_INITIALS_PREFIX = 5
RANK_INITIALS_SUBSTRING = 6
RANK_FULL_PREFIX = 7
RANK_KEYWORD_PINYIN = 8

_CACHE = 65_536


def _clean(text: str) -> str:
    return "".join(text.split()).lower()


@lru_cache(maxsize=_CACHE)
def initials(text: str) -> str:
    """The pinyin initials of the text, lowercase; other characters kept, lowercased, spaces dropped.

    ``initials("非机动车乱停放") == "fjdcltf"``; ``initials("A1 路") == "a1l"``.
    """
    return _clean("".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")))


@lru_cache(maxsize=_CACHE)
def full(text: str) -> str:
    """The full pinyin of the text without tones or spaces (``ü`` as ``v``), lowercase.

    ``full("非机动车") == "feijidongche"``.
    """
    return _clean("".join(lazy_pinyin(text, style=Style.NORMAL, errors="default")))


def _is_latin(query: str) -> bool:
    return query.isascii() and query.isalnum()


@lru_cache(maxsize=_CACHE)
def _item(fields: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """An item's codes (ASCII words of any field), name (the first field with other words) and keywords."""
    codes: list[str] = []
    name: list[str] = []
    keywords: list[str] = []
    for value in fields:
        words = [w.lower() for w in str(value or "").split()]
        codes += [w for w in words if w.isascii()]
        texts = [w for w in words if not w.isascii()]
        if texts and not name:
            name = texts
        else:
            keywords += texts
    return tuple(codes), tuple(name), tuple(keywords)


@lru_cache(maxsize=_CACHE)
def matches(query: str, *fields: str) -> int | None:
    """How well a picker item matches what was typed: a rank (lower is better), or None.

    Args:
        query: what the operator typed (case and spaces around it do not matter). An empty query
            matches every item with rank 0.
        fields: the item's texts, split into words at spaces. Words of plain ASCII are codes
            (``0201``, ``JJ``, ``GRID-S13C01G01``); the Chinese words of the first field that has
            any are the name; Chinese words of later fields are keywords. So
            ``matches(q, "0201", "非机动车乱停放", "电动车")`` and
            ``matches(q, "0201 非机动车乱停放", "0201", "街面秩序", "电动车")`` mean the same item.

    Returns:
        ``RANK_CODE_EXACT`` (0) a code is the query; ``RANK_CODE_PREFIX`` (1) a code starts with
        it; ``RANK_NAME_PREFIX`` (2) / ``RANK_NAME_SUBSTRING`` (3) the name starts with / contains
        it; ``RANK_KEYWORD`` (4) a keyword contains it; ``RANK_INITIALS_PREFIX`` (5) /
        ``RANK_INITIALS_SUBSTRING`` (6) the name's pinyin initials start with / contain it;
        ``RANK_FULL_PREFIX`` (7) the name's full pinyin starts with it; ``RANK_KEYWORD_PINYIN`` (8)
        a keyword's pinyin initials or full pinyin start with it; None otherwise.
    """
    q = "".join(query.split()).lower()
    if not q:
        return RANK_CODE_EXACT
    codes, names, keywords = _item(fields)
    if q in codes:
        return RANK_CODE_EXACT
    if any(c.startswith(q) for c in codes):
        return RANK_CODE_PREFIX
    if any(n.startswith(q) for n in names):
        return RANK_NAME_PREFIX
    if any(q in n for n in names):
        return RANK_NAME_SUBSTRING
    if any(q in k for k in keywords):
        return RANK_KEYWORD
    if not _is_latin(q):
        return None
    abbrs = [initials(n) for n in names]
    if any(a.startswith(q) for a in abbrs):
        return RANK_INITIALS_PREFIX
    if any(q in a for a in abbrs):
        return RANK_INITIALS_SUBSTRING
    if any(full(n).startswith(q) for n in names):
        return RANK_FULL_PREFIX
    if any(initials(k).startswith(q) or full(k).startswith(q) for k in keywords):
        return RANK_KEYWORD_PINYIN
    return None
