"""The program's one message catalogue, free of Qt so the core and the window share it.

Source strings are English and are written as ``tr("...")`` literals; ``resources/i18n/zh_CN.json``
maps each to Chinese. The language is chosen once at start (Chinese by default, ``--lang en`` or
``WORKSTATION_LANG=en`` for English). A test scans the source for every ``tr()`` literal and fails
when one has no Chinese translation.
"""

from __future__ import annotations

import os
from typing import Any

from workstation.resources import load_json

DEFAULT_LANG = "zh_CN"
SUPPORTED = ("zh_CN", "en")

_lang = os.environ.get("WORKSTATION_LANG", DEFAULT_LANG)
_catalogue: dict[str, str] | None = None


def set_language(lang: str | None) -> str:
    """Choose the language of every message; returns the language in force."""
    global _lang, _catalogue
    if lang:
        normal = lang.replace("-", "_")
        if normal.lower().startswith("en"):
            normal = "en"
        elif normal.lower().startswith("zh"):
            normal = "zh_CN"
        if normal not in SUPPORTED:
            raise ValueError(f"unknown language {lang!r}: use one of {', '.join(SUPPORTED)}")
        _lang = normal
        _catalogue = None
    return _lang


def language() -> str:
    """The language in force."""
    return _lang


def catalogue(lang: str = "zh_CN") -> dict[str, str]:
    """The translations of one language (English source string -> translation)."""
    data = load_json("i18n", f"{lang}.json")
    return {str(k): str(v) for k, v in data.items()}


def tr(text: str, /, **params: Any) -> str:
    """Translate a source string into the language in force, then fill ``{name}`` fields."""
    global _catalogue
    if _lang != "en":
        if _catalogue is None:
            _catalogue = catalogue(_lang)
        text = _catalogue.get(text, text)
    return text.format(**params) if params else text


def state_label(state: str) -> str:
    """The state's name in the language in force."""
    from workstation.domain.lifecycle import STATE_NAMES, State

    return tr(STATE_NAMES[State(state)])


def action_label(action: str) -> str:
    """The action's name in the language in force."""
    from workstation.domain.lifecycle import ACTION_NAMES

    return tr(ACTION_NAMES.get(action, action))


def role_label(role: str) -> str:
    """The role's name in the language in force."""
    from workstation.domain.lifecycle import ROLE_NAMES

    return tr(ROLE_NAMES.get(role, role))


def channel_label(channel: str) -> str:
    """The channel's name in the language in force (the code itself when unknown)."""
    from workstation.domain.channels import CHANNELS

    return tr(CHANNELS[channel]) if channel in CHANNELS else channel
