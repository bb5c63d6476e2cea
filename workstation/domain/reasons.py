"""The reasons a seat picks from a list when it rejects a report or sends a result back for rework.

A picked reason is stored in the case history in the language the seat works in (it is read by
units and exported as it is). Histories written before the reasons were translated hold the English
source text; :func:`reason_text` shows those in the language in force, and any other (typed)
reason unchanged.
"""

from __future__ import annotations

from workstation.domain.lifecycle import N_
from workstation.i18n import tr

REJECT_REASONS = (
    N_("Insufficient information: the place or the problem cannot be determined"),
    N_("Out of scope: not a matter for the grid-governance platform"),
    N_("Not confirmed on site: the problem does not exist"),
    N_("Already solved before dispatch"),
    N_("Abusive or malicious report"),
    N_("Duplicate without a case to merge into"),
)
REWORK_REASONS = (
    N_("The closure standard is not met on site"),
    N_("The result report has no photos or they do not show the site"),
    N_("The problem came back"),
)
_PRESETS = frozenset(REJECT_REASONS + REWORK_REASONS)


def reason_text(reason: str | None) -> str:
    """A stored reason as it reads in the language in force: a preset is translated, typed text kept."""
    if not reason:
        return ""
    return tr(reason) if reason in _PRESETS else reason
