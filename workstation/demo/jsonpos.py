"""Where each value of a JSON text is: the line it starts on, so errors can name the line of an item."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Node:
    """A value's line (for an object member: its key's line) and its members or items."""

    line: int
    kids: dict[str, Node] | list[Node] | None = None


def positions(raw: str) -> Node:
    """The line of every value of a JSON text that ``json.loads`` accepted (object members: their key)."""
    pos = 0
    line = 1

    def skip() -> None:
        nonlocal pos, line
        while pos < len(raw) and raw[pos] in " \t\r\n":
            if raw[pos] == "\n":
                line += 1
            pos += 1

    def string() -> str:
        nonlocal pos, line
        value, end = json.decoder.scanstring(raw, pos + 1)  # type: ignore[attr-defined]
        line += raw.count("\n", pos, end)
        pos = end
        return str(value)

    def value(at: int | None = None) -> Node:
        nonlocal pos
        skip()
        node = Node(at if at is not None else line)
        char = raw[pos]
        if char == "{":
            kids: dict[str, Node] = {}
            pos += 1
            skip()
            while raw[pos] != "}":
                skip()
                key_line = line
                key = string()
                skip()
                pos += 1  # ':'
                kids[key] = value(key_line)
                skip()
                if raw[pos] == ",":
                    pos += 1
                    skip()
            pos += 1
            node.kids = kids
        elif char == "[":
            items: list[Node] = []
            pos += 1
            skip()
            while raw[pos] != "]":
                items.append(value())
                skip()
                if raw[pos] == ",":
                    pos += 1
                    skip()
            pos += 1
            node.kids = items
        elif char == '"':
            string()
        else:
            while pos < len(raw) and raw[pos] not in ",]} \t\r\n":
                pos += 1
        return node

    return value()


def line_of(root: Node, *path: str | int) -> int:
    """The line of the value at ``path`` (keys and indexes), or of the deepest part of it that exists."""
    node = root
    for step in path:
        kids = node.kids
        found = (
            kids.get(step)
            if isinstance(kids, dict) and isinstance(step, str)
            else kids[step]
            if isinstance(kids, list) and isinstance(step, int) and 0 <= step < len(kids)
            else None
        )
        if found is None:
            break
        node = found
    return node.line
