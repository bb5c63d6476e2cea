"""Print the keyboard table of the README from the command registry and the shipped keymap.

Run ``python scripts/keys_table.py`` and paste its output between the README's key-table markers;
a test fails when the README and the registry disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workstation.commands.keymap import Keymap
from workstation.commands.registry import MENUS, all_commands, mode_of
from workstation.i18n import set_language, tr


def table() -> str:
    """The markdown table: key, command, menu, id."""
    set_language("en")
    keymap = Keymap.load(None)
    lines = ["| key | command | menu | id |", "|---|---|---|---|"]
    for command in all_commands():
        keys = " / ".join(f"`{k}`" for k in keymap.keys_for(command.id, mode_of(command))) or "palette"
        menu = tr(MENUS[command.menu]).replace("&", "")
        lines.append(f"| {keys} | {tr(command.title)} | {menu} | `{command.id}` |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
