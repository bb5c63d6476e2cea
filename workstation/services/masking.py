"""Reporters' phone numbers masked wherever cases leave the program, revealed only on record.

The window shows a reporter's phone masked (``138****5678``); the command line, the exports and the
outbox listing do the same. A shift lead or an administrator may ask for clear numbers with a reason:
:func:`reveal_cases` checks the role and appends one row to the reveal audit (``care_reveals``, the
same append-only table as the care roster's reveals, with the cases in ``details``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

from workstation.domain.privacy import mask_phone
from workstation.services.actors import Actor
from workstation.services.care_privacy import audit, require_reveal
from workstation.storage.db import Database

FIELD: Final = "reporter_phone"
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")  # a mainland mobile number


def masked_case(case: dict[str, Any]) -> dict[str, Any]:
    """A case (as ``queries.get_case`` returns it) with the reporter's phone masked."""
    if not case.get(FIELD):
        return case
    return {**case, FIELD: mask_phone(str(case[FIELD]))}


def masked_message(row: dict[str, Any]) -> dict[str, Any]:
    """An outbound message (as ``outbox.as_dict`` returns it) with the reporter's phone in its body masked."""
    body = row.get("body")
    case = body.get("case") if isinstance(body, dict) else None
    reporter = case.get("reporter") if isinstance(case, dict) else None
    if not isinstance(body, dict) or not isinstance(case, dict) or not isinstance(reporter, dict):
        return row
    if not reporter.get("phone"):
        return row
    case = {**case, "reporter": {**reporter, "phone": mask_phone(str(reporter["phone"]))}}
    return {**row, "body": {**body, "case": case}}


def masked_input(raw: str) -> str:
    """A refused input line as it may be echoed: its reporter's phone (and any mobile number) masked."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, a number of thousands of digits, nested too deeply
        data = None
    if isinstance(data, dict) and data.get(FIELD):
        data = {**data, FIELD: mask_phone(str(data[FIELD]))}
        raw = json.dumps(data, ensure_ascii=False)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), raw)


def reveal_cases(db: Database, by: Actor, case_ids: Iterable[int] | None, reason: str, what: str) -> None:
    """Allow clear phone numbers of these cases (None: every case of a listing) and record it.

    Args:
        db: the database.
        by: who asks (a shift lead or an administrator).
        case_ids: the cases shown in clear, or None for a whole listing or export.
        reason: why (required).
        what: the command that shows them (kept in the audit's details).

    Raises:
        PermissionDeniedError: the actor may not see personal information in clear.
        ValidationError: no reason.
    """
    reason = require_reveal(by, None, reason)
    details: dict[str, Any] = {"command": what}
    if case_ids is not None:
        details["cases"] = sorted(set(case_ids))
    with db.write() as s:
        audit(s, by, None, FIELD, reason, details)
