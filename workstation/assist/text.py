"""Text features shared by the suggesters: normalised character bigrams and their overlap."""

from __future__ import annotations

import re
from functools import lru_cache

_DIGITS = re.compile(r"\d+")
_SPLIT = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


def normalise(text: str) -> str:
    """Lowercase, full-width letters and digits made half-width, every run of digits made ``0``."""
    folded = "".join(chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in text).lower()
    return _DIGITS.sub("0", folded)


@lru_cache(maxsize=20_000)
def bigrams(text: str) -> frozenset[str]:
    """The character bigrams of the text's runs of letters, digits and Chinese characters.

    Punctuation and spaces separate runs; a run of one character counts as itself.
    """
    grams: set[str] = set()
    for run in _SPLIT.split(normalise(text)):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(grams)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared bigrams over all bigrams of the two texts (0 when both are empty)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)
