"""Finding English left in Chinese output: one scanner for the command line and the window.

``english_words(text)`` returns the source-language words a user would read in ``text``. What may
stay in Latin letters is small and explicit: codes and ids (anything with a digit, e.g. ``0201``,
``GRID-S13C01G01``, ``op1``; all-capital codes and metavariables such as ``PDA``, ``CSV``, ``USER``),
URLs, file paths and file names, command-line options (``--db``), commands quoted in backticks, key
names, the few product and format names in ``ALLOWED``, and the ``codes`` a caller passes (the
command's own name in its usage line, the choices the user types). A number with letters glued to
it is a duration or a quantity (``55m43s``, ``4wh``): allowed only for the units in ``UNITS``.

``report(findings)`` formats what was found so a failure names every string and where it was seen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping

# Names that are the same in Chinese text: products, formats, protocols, key names, the time zone.
ALLOWED = frozenset(
    {
        "SQLAlchemy", "SQLite", "PostgreSQL", "Excel", "Open311", "JSON", "CSV", "XML", "ISO", "URL", "HTTP",
        "HTTPS", "Ctrl", "Shift", "Alt", "Meta", "Enter", "Return", "Esc", "Tab", "Space", "Backspace", "Del",
        "Delete", "Home", "End", "PgUp", "PgDown", "Up", "Down", "Left", "Right", "F1", "Asia", "Shanghai",
        "UTC", "GeoReport", "Argon2id", "PySide6", "Qt", "Python", "xlsx", "zh_CN",
    }
)  # fmt: skip
# Units that may follow a number.
UNITS = frozenset({"ms", "MB", "KB", "GB", "px"})

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+")
_PATH = re.compile(
    r"(?<![\w])(?:~|\.{1,2})?/[\w./+-]+|(?:\*|\b[\w-]+)\.(?:jsonl?|csv|xlsx|xml|sqlite|db|png|jpe?g|txt|py)\b", re.I
)
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
_ENV = re.compile(r"\$[A-Z_][A-Z0-9_]*")
_COMMAND = re.compile(r"`[^`]+`")  # a command to type, quoted in a message
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_'-]*")
_NUMBER_WITH_UNIT = re.compile(r"^[+-]?\d+(?:[.,]\d+)?([A-Za-z]+)(?:\d+([A-Za-z]+))*$")


def english_words(text: str, codes: Iterable[str] = ()) -> list[str]:
    """The source-language words in ``text`` (in order, repeated as often as they occur)."""
    allowed = set(ALLOWED) | set(codes)
    for pattern in (_COMMAND, _URL, _EMAIL, _PATH, _OPTION, _ENV):
        text = pattern.sub(" ", text)
    found = []
    for token in _TOKEN.findall(text):
        token = token.strip("'-_")
        if not token or token in allowed:
            continue
        unit = _NUMBER_WITH_UNIT.match(token)
        if unit:
            units = [u for u in unit.groups() if u]
            if all(u in UNITS for u in units):
                continue
            found.append(token)
            continue
        if any(c.isdigit() for c in token):
            continue  # an id or code: 0201, op1, GRID-S13C01G01, PDA-20200604-1019
        letters = token.replace("_", "").replace("-", "").replace("'", "")
        if len(letters) <= 1:
            continue  # a key (f, v, /), a marker
        if letters.isupper():
            continue  # a code or a metavariable: PDA, USER, ID, ISO_TIME
        found.append(token)
    return found


def _is_json(line: str) -> bool:
    text = line.strip()
    if not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def english_lines(text: str, codes: Iterable[str] = ()) -> list[str]:
    """The lines of ``text`` that hold English words, each followed by the words found.

    A line that is a JSON document is data the user supplied (a quarantined payload), not program text.
    """
    out = []
    for line in text.splitlines():
        if _is_json(line):
            continue
        words = english_words(line, codes)
        if words:
            out.append(f"{line.strip()!r}  <- {', '.join(dict.fromkeys(words))}")
    return out


REPORTED = 25  # lines shown per place; the rest are counted


def report(findings: Mapping[str, Iterable[str]]) -> str:
    """A failure message: every place with the English lines it printed or showed."""
    parts = []
    total = 0
    for where, lines in findings.items():
        lines = list(lines)
        if lines:
            total += len(lines)
            more = f"\n    … and {len(lines) - REPORTED} more like these" if len(lines) > REPORTED else ""
            parts.append(f"{where}:\n" + "\n".join(f"    {line}" for line in lines[:REPORTED]) + more)
    return f"{total} untranslated strings (translate with tr() and resources/i18n/zh_CN.json):\n" + "\n".join(parts)


# -- the window ---------------------------------------------------------------------------------------

ROWS_SCANNED = 30  # table cells: the first rows of every model (what the user sees first)


def _plain(text: str) -> str:
    """Rich text as the user reads it; mnemonics (``&File``) and HTML entities resolved."""
    from PySide6.QtGui import QTextDocument

    if "<" in text and ">" in text:
        doc = QTextDocument()
        doc.setHtml(text)
        text = doc.toPlainText()
    return re.sub(r"&(?=\S)", "", text.replace("&&", "&"))


def _model_texts(view: object, name: str, names_column: bool = True) -> Iterator[tuple[str, str]]:
    from PySide6.QtCore import Qt

    model = view.model()  # type: ignore[attr-defined]
    if model is None:
        return
    from PySide6.QtCore import QModelIndex

    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    root = QModelIndex()
    try:
        columns = model.columnCount(root)
    except TypeError:  # a list model (QAbstractListModel keeps columnCount private in PySide6)
        columns = 1
    for orientation in (Qt.Orientation.Horizontal,):
        for section in range(columns):
            for role in roles:
                value = model.headerData(section, orientation, role)
                if isinstance(value, str) and value:
                    yield f"{name} header", value
    for row in range(min(model.rowCount(root), ROWS_SCANNED)):
        for column in range(0 if names_column else 1, columns):
            index = model.index(row, column)
            for role in roles:
                value = model.data(index, role)
                if isinstance(value, str) and value:
                    yield f"{name} cell ({row}, {column})", value


def _ancestor(widget: object, kind: type) -> bool:
    parent = widget.parentWidget()  # type: ignore[attr-defined]
    while parent is not None:
        if isinstance(parent, kind):
            return True
        parent = parent.parentWidget()
    return False


def widget_texts(root: object) -> list[tuple[str, str]]:
    """Every text a user can read in a window or dialog: (where, text).

    Titles, labels, buttons, check boxes, group boxes, tabs, line edits (text and placeholder), text
    views, combo boxes, menus (every action, also of closed menus), tool tips, the status bar, and the
    headers and first rows of every item view. Hidden widgets are skipped; menu actions are not.
    """
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QFileDialog,
        QGroupBox,
        QLabel,
        QLineEdit,
        QMainWindow,
        QMenu,
        QPlainTextEdit,
        QProgressBar,
        QTabBar,
        QTextEdit,
        QWidget,
    )

    assert isinstance(root, QWidget)
    out: list[tuple[str, str]] = []

    def add(where: str, text: object) -> None:
        if isinstance(text, str) and text.strip():
            out.append((where, _plain(text)))

    add("window title", root.windowTitle())
    if isinstance(root, QMainWindow):
        add("status bar", root.statusBar().currentMessage())
        for menu in root.menuBar().findChildren(QMenu):
            add("menu", menu.title())
    for menu in root.findChildren(QMenu):
        add("menu", menu.title())
        for action in menu.actions():
            add(f"menu {menu.title()!r}", action.text())
            if action.toolTip() != action.text().replace("&", ""):
                add(f"menu {menu.title()!r} tool tip", action.toolTip())
            add(f"menu {menu.title()!r} status tip", action.statusTip())
    for w in [root, *root.findChildren(QWidget)]:
        if w is not root and not w.isVisibleTo(root):
            continue
        kind = type(w).__name__ + (f"#{w.objectName()}" if w.objectName() else "")
        add(f"{kind} tool tip", w.toolTip())
        add(f"{kind} placeholder", getattr(w, "placeholderText", lambda: "")())
        if isinstance(w, QLabel | QAbstractButton | QLineEdit):
            add(kind, w.text())
        elif isinstance(w, QGroupBox):
            add(kind, w.title())
        elif isinstance(w, QTextEdit | QPlainTextEdit):
            add(kind, w.toPlainText())
        elif isinstance(w, QComboBox):
            for i in range(w.count()):
                add(f"{kind} item", w.itemText(i))
        elif isinstance(w, QTabBar):
            for i in range(w.count()):
                add(f"{kind} tab", w.tabText(i))
                add(f"{kind} tab tool tip", w.tabToolTip(i))
        elif isinstance(w, QProgressBar) and w.isTextVisible():
            add(kind, w.text())
        if isinstance(w, QAbstractItemView):
            in_file_dialog = isinstance(root, QFileDialog) or _ancestor(w, QFileDialog)
            out.extend(_model_texts(w, kind, names_column=not in_file_dialog))  # file and folder names are paths
    return out


def untranslated_widgets(root: object, codes: Iterable[str] = ()) -> list[str]:
    """The texts of a window or dialog holding English words, each with where it is and the words."""
    seen: set[tuple[str, str]] = set()
    found = []
    for where, text in widget_texts(root):
        for line in text.splitlines():
            if (where, line) in seen or _is_json(line):
                continue
            seen.add((where, line))
            words = english_words(line, codes)
            if words:
                found.append(f"{where}: {line.strip()!r}  <- {', '.join(dict.fromkeys(words))}")
    return found
