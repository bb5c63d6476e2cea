"""Cells of every export made safe to open in a spreadsheet: no text ever runs as a formula.

A report's text is typed by the public; one that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some programs skip before reading one of those) is taken for a formula by
Excel, WPS and LibreOffice when the file is opened (``=HYPERLINK(...)`` becomes a live link, worse
ones run commands). Every CSV and xlsx export goes through this module:

* CSV: such a cell is written with a leading apostrophe (``'=HYPERLINK(...)``), the usual defence
  (OWASP "CSV injection"); the spreadsheet shows the text, and a reader of the file sees it is text.
* xlsx: such a cell is stored as a string with Excel's quote prefix (no apostrophe is added to the
  text; the cell is never a formula, not even after editing it).

Plain numbers (``-3``, ``+8.5``) and a lone ``-`` (our mark for "none") are left as they are: they
are not formulas in any of these programs.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import IO, Any

RISKY_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def is_risky(value: Any) -> bool:
    """Whether a spreadsheet could take this cell for a formula."""
    if not isinstance(value, str) or not value.startswith(RISKY_START):
        return False
    return value != "-" and not _PLAIN_NUMBER.fullmatch(value)


def csv_cell(value: Any) -> Any:
    """A cell for a CSV file: a risky text gets a leading apostrophe, anything else is unchanged."""
    return "'" + value if is_risky(value) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row of :func:`csv_cell` cells."""
    return [csv_cell(v) for v in values]


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through :func:`csv_cell`."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self._writer.writerow(csv_row(row))


class SafeCsvDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose every value goes through :func:`csv_cell`."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        """Write one row."""
        return super().writerow({k: csv_cell(v) for k, v in rowdict.items()})


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append`` of an openpyxl write-only sheet: risky texts stay text, never formulas.

    (openpyxl itself would store a text beginning with ``=`` as a formula.)
    """
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for value in values:
        if is_risky(value):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            out.append(cell)
        else:
            out.append(value)
    return out
