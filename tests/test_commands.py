"""The command registry and the keymap: every binding resolves, none conflict, user changes are differences."""

from __future__ import annotations

import json

import pytest

from workstation.commands import keymap as km
from workstation.commands.registry import BY_ID, all_commands, mode_of
from workstation.resources import load_json


def test_every_shipped_binding_resolves_to_a_registered_command():
    keymap = km.Keymap.load(None)
    for mode in keymap.modes():
        for key, command in keymap.bindings(mode).items():
            assert command in BY_ID, (mode, key, command)


def test_no_shipped_key_is_bound_twice():
    assert km.conflicts(load_json("keymap.json")) == []
    keymap = km.Keymap.load(None)
    queue = keymap.bindings("queue")
    assert len(queue) == len(set(queue))


def test_every_command_has_a_key():
    keymap = km.Keymap.load(None)
    unbound = [c.id for c in all_commands() if not keymap.keys_for(c.id, mode_of(c))]
    # commands reached through the palette and the menu only
    assert set(unbound) <= {"help.about", "session.sign_out"}, unbound


def test_the_issue_defaults():
    keymap = km.Keymap.load(None)
    queue = keymap.bindings("queue")
    assert queue["f"] == "case.file" and queue["d"] == "case.dispatch" and queue["x"] == "case.reject"
    assert queue["m"] == "case.merge" and queue["j"] == "queue.next" and queue["k"] == "queue.previous"
    assert queue["Ctrl+K"] == "view.palette" and queue["?"] == "help.cheatsheet" and queue["/"] == "queue.search"
    assert queue["Ctrl+Z"] == "case.undo"


def test_user_changes_are_stored_as_differences(tmp_path):
    path = tmp_path / "keymap.json"
    keymap = km.Keymap.load(path)
    keymap.bind("queue", "F2", "case.file")
    keymap.bind("queue", "f", None)
    keymap.save(path)
    assert json.loads(path.read_text()) == {"queue": {"F2": "case.file", "f": None}}
    again = km.Keymap.load(path)
    assert again.keys_for("case.file", "queue") == ["F2"]


def test_a_conflicting_binding_is_refused(tmp_path):
    keymap = km.Keymap.load(None)
    with pytest.raises(km.KeymapError, match=r"already bound to case\.dispatch"):
        keymap.bind("queue", "d", "case.reject")
    with pytest.raises(km.KeymapError, match="unknown command"):
        keymap.bind("queue", "F3", "case.explode")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"queue": {"d": "case.reject"}}))
    with pytest.raises(km.KeymapError):
        km.Keymap.load(path)


@pytest.mark.parametrize(
    ("raw", "norm"), [("ctrl+k", "Ctrl+K"), ("Shift+Ctrl+s", "Ctrl+Shift+S"), ("x", "x"), ("f5", "F5")]
)
def test_key_spellings_are_normalised(raw, norm):
    assert km.normalise(raw) == norm
