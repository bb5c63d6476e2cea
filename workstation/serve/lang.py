"""The language of one answer: Chinese unless the client's ``Accept-Language`` prefers English.

``tr()`` speaks the process's language; a server answers many clients at once, so each answer
carries its own ``Lang`` whose ``tr`` method translates the same source strings.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from workstation.i18n import catalogue


@lru_cache(maxsize=4)
def _catalogue(lang: str) -> dict[str, str]:
    return catalogue(lang)


class Lang:
    """One answer's language."""

    def __init__(self, code: str = "zh_CN") -> None:
        self.code = code

    @classmethod
    def from_header(cls, header: str | None) -> Lang:
        """The first supported language the header names (by weight), else Chinese."""
        best, weight = "zh_CN", -1.0
        for part in (header or "").split(","):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            tag = tag.strip().lower()
            code = "en" if tag.startswith("en") else "zh_CN" if tag.startswith("zh") else None
            if code and q > weight:
                best, weight = code, q
        return cls(best)

    def tr(self, text: str, /, **params: Any) -> str:
        """Translate a source string into this answer's language, then fill ``{name}`` fields."""
        if self.code != "en":
            text = _catalogue(self.code).get(text, text)
        return text.format(**params) if params else text
