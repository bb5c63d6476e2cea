"""Where reports come from: channel codes, their labels, and which need on-site confirmation."""

from __future__ import annotations

from workstation.domain.lifecycle import N_

# Channel code -> its name (an English source string: shown through ``i18n.channel_label``).
CHANNELS: dict[str, str] = {
    "PDA": N_("Grid member PDA"),
    "PATROL": N_("Information officer patrol"),
    "12345": N_("12345 hotline"),
    "12319": N_("12319 hotline"),
    "WECHAT": N_("WeChat official account"),
    "APP": N_("Gongzhi Baohe app"),
    "POLICE": N_("Police non-emergency"),
    "VISIT": N_("Found on a care visit"),
    "PHONE": N_("Call to the centre"),
    "OPEN311": N_("Open311"),
}

# Reports from grid members and information officers can be filed directly; the others usually
# need on-site confirmation first.
DIRECT = frozenset({"PDA", "PATROL", "VISIT"})


def normalise(code: str) -> str | None:
    """The canonical channel code for any spelling (case-insensitive), or None if unknown."""
    text = (code or "").strip().upper()
    return text if text in CHANNELS else None
