"""What a typed search text matches, safely: the same rules for the window's ``/`` and ``case list --search``.

The text is matched literally: ``%`` and ``_`` are ordinary characters (LIKE wildcards escaped), a
number is a case id only when it is plain ASCII digits within the id range (``²`` or twenty nines
are text, never an error), and a text holding a NUL byte, which no stored text can contain, matches
nothing instead of making the database refuse the query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.sql.elements import ColumnElement

from workstation.models import Case, Grid

ESCAPE = "\\"
MAX_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


def like_literal(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally (use with ``escape=ESCAPE``)."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` (a text column or expression) contains ``text`` literally."""
    condition: ColumnElement[bool] = column.like(f"%{like_literal(text)}%", escape=ESCAPE)
    return condition


def starts_with(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` (a text column or expression) starts with ``text`` literally."""
    condition: ColumnElement[bool] = column.like(f"{like_literal(text)}%", escape=ESCAPE)
    return condition


def case_search(text: str) -> ColumnElement[bool] | None:
    """The condition a search text puts on cases (None for an empty text).

    Digits: the case id, the source's id, or part of the reporter's phone. Any other text: part of
    the report text or address, the source's id, or part of the grid's name.
    """
    text = text.strip()
    if not text:
        return None
    if "\x00" in text:
        return false()
    if text.isascii() and text.isdigit():
        matches = [Case.external_id == text, contains(Case.reporter_phone, text)]
        if int(text) <= MAX_ID:
            matches.insert(0, Case.id == int(text))
        return or_(*matches)
    return or_(
        contains(Case.text, text),
        contains(Case.address, text),
        Case.external_id == text,
        Case.grid_code.in_(select(Grid.code).where(contains(Grid.name, text)).scalar_subquery()),
    )
