"""Key bindings as data: shipped defaults per mode, user changes stored as differences, conflicts refused.

Defaults live in ``resources/keymap.json`` as ``{mode: {key: command_id}}``. A user's changes are a
small JSON file of ``{mode: {key: command_id or null}}`` (null unbinds a default). Two commands on
the same key in the same mode is a conflict and is refused, naming both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from workstation.commands.registry import BY_ID
from workstation.i18n import tr
from workstation.resources import load_json

GLOBAL = "global"


class KeymapError(ValueError):
    """A binding that cannot be: unknown command, or a key already taken."""


def normalise(key: str) -> str:
    """One spelling per key: modifiers first in a fixed order, e.g. ``Ctrl+Shift+K``."""
    parts = [p.strip() for p in key.replace(" ", "").split("+") if p.strip()]
    if not parts:
        raise KeymapError(tr("empty key"))
    order = {"ctrl": 0, "alt": 1, "shift": 2, "meta": 3}
    mods = sorted((p for p in parts[:-1]), key=lambda m: order.get(m.lower(), 9))
    last = parts[-1]
    last = last.upper() if len(last) > 1 and last.lower().startswith("f") and last[1:].isdigit() else last
    if len(last) > 1 and not last[1:].isdigit():
        last = last[0].upper() + last[1:].lower()
    if mods and len(last) == 1:
        last = last.upper()  # Ctrl+k and Ctrl+K are the same key
    return "+".join([m.capitalize() for m in mods] + [last])


class Keymap:
    """The bindings in force for each mode."""

    def __init__(
        self, defaults: Mapping[str, Mapping[str, str]], overrides: Mapping[str, Mapping[str, str | None]] | None = None
    ) -> None:
        self.defaults = {m: {normalise(k): v for k, v in b.items()} for m, b in defaults.items()}
        self.overrides: dict[str, dict[str, str | None]] = {}
        for mode, bindings in (overrides or {}).items():
            for key, command in bindings.items():
                self.bind(mode, key, command)
        self.check()

    @classmethod
    def load(cls, user_file: Path | None = None) -> Keymap:
        """The shipped defaults plus the user's differences (if the file exists)."""
        overrides = {}
        if user_file is not None and user_file.exists():
            overrides = json.loads(user_file.read_text(encoding="utf-8"))
        return cls(load_json("keymap.json"), overrides)

    def save(self, user_file: Path) -> None:
        """Store only the differences from the defaults."""
        user_file.parent.mkdir(parents=True, exist_ok=True)
        user_file.write_text(json.dumps(self.overrides, ensure_ascii=False, indent=1), encoding="utf-8")

    def bindings(self, mode: str = GLOBAL) -> dict[str, str]:
        """Key -> command id in force in a mode (global bindings included)."""
        merged: dict[str, str] = {}
        for m in dict.fromkeys([GLOBAL, mode]):
            for key, command in self.defaults.get(m, {}).items():
                merged[key] = command
            for key, override in self.overrides.get(m, {}).items():
                if override is None:
                    merged.pop(key, None)
                else:
                    merged[key] = override
        return merged

    def keys_for(self, command_id: str, mode: str = GLOBAL) -> list[str]:
        """Every key bound to a command."""
        return sorted(k for k, c in self.bindings(mode).items() if c == command_id)

    def bind(self, mode: str, key: str, command_id: str | None) -> None:
        """Bind (or with None, unbind) a key; refuses an unknown command or a key already taken."""
        key = normalise(key)
        if command_id is not None and command_id not in BY_ID:
            raise KeymapError(tr("unknown command {id}", id=command_id))
        taken = self.bindings(mode).get(key)
        if command_id is not None and taken is not None and taken != command_id:
            raise KeymapError(tr("{key} is already bound to {other}; unbind it first", key=key, other=taken))
        self.overrides.setdefault(mode, {})[key] = command_id

    def check(self) -> None:
        """Refuse unknown commands and conflicts in the shipped defaults and overrides."""
        for mode in self.modes():
            for key, command in self.bindings(mode).items():
                if command not in BY_ID:
                    raise KeymapError(tr("{key} in {mode} names unknown command {id}", key=key, mode=mode, id=command))

    def modes(self) -> Iterable[str]:
        """Every mode with bindings."""
        return sorted(set(self.defaults) | set(self.overrides) | {GLOBAL})


def conflicts(defaults: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Keys that two spellings bind twice within one mode (a JSON object cannot hold the same key twice)."""
    found = []
    for mode, bindings in defaults.items():
        seen: dict[str, str] = {}
        for key, command in bindings.items():
            k = normalise(key)
            if k in seen and seen[k] != command:
                found.append(f"{mode}: {k} -> {seen[k]} / {command}")
            seen[k] = command
    return found
