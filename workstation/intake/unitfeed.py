"""``unit_responses``: a unit system's feed of responses, read by cursor like the platform.

``GET {url}?cursor=C&limit=N`` answers ``{"items": [response, ...], "next_cursor": "…",
"has_more": false}`` where each response is the object ``intake.responses`` describes. Each one is
applied through the lifecycle services and remembered by its id, so a page read twice changes
nothing the second time; the cursor moves once the page's responses are applied. A response that
is not understood at all (not an object, no response_id) is quarantined.

A feed speaks only for the units its settings name (``"options": {"units": ["CG"]}``): a response
that names another unit (CG's system answering for a case of JJ) is quarantined with the reason and
never applied, and a feed that names no units applies nothing.
"""

from __future__ import annotations

from workstation.i18n import tr
from workstation.intake import ingest
from workstation.intake.base import CursorSource, register
from workstation.intake.formats import dumps, loads_strict
from workstation.intake.items import CursorMove, Item, Page, PageError
from workstation.intake.platform import read_page
from workstation.intake.responses import apply_unit_response
from workstation.models import utcnow
from workstation.services.errors import ValidationError
from workstation.services.notices import notify
from workstation.storage.db import Database


def response_item(raw: object) -> Item:
    """One response as an item (applied later; only its shape is checked here)."""
    item = Item(payload=dumps(raw), original=raw)
    if not isinstance(raw, dict):
        item.reason = tr("a unit response must be a JSON object")
    else:
        item.data = raw
        item.key = str(raw.get("response_id")) if raw.get("response_id") is not None else None
    return item


@register
class UnitResponseSource(CursorSource):
    """A unit system's responses (see the module docstring)."""

    kind = "unit_responses"

    def parse_page(self, text: str) -> Page:
        """Read one page of responses."""
        items, cursor, more = read_page(loads_strict(text))
        return Page([response_item(raw) for raw in items], cursor, more)

    def parse_item(self, payload: str) -> Item:
        """Read one kept response again."""
        try:
            return response_item(loads_strict(payload))
        except PageError as exc:
            return Item(payload=payload, reason=exc.message)

    def units(self) -> frozenset[str]:
        """The units this feed may answer for (its settings' ``options.units``)."""
        raw = self.config.options.get("units") or []
        return frozenset(str(u) for u in raw) if isinstance(raw, list | tuple) else frozenset()

    def foreign(self, data: dict[str, object]) -> str | None:
        """Why a response may not be applied from this feed (it names a unit the feed does not speak for)."""
        units = self.units()
        if not units:
            return tr("the feed {source} names no units it speaks for (options.units): not applied", source=self.name)
        unit = data.get("unit")
        if unit not in units:
            return tr(
                "the feed {source} speaks for {units}, not for unit {unit}: not applied",
                source=self.name,
                units=", ".join(sorted(units)),
                unit=unit,
            )
        return None

    def store(
        self, db: Database, items: list[Item], move: CursorMove | None = None, *, quarantine: bool = True
    ) -> ingest.Stored:
        """Apply each response, quarantine the unreadable ones, then move the cursor."""
        stored = ingest.Stored()
        bad: list[tuple[int, str, str, str | None]] = []
        for index, item in enumerate(items):
            stored.outcomes.append(ingest.Outcome("quarantined", None, item.reason))
            if not item.ok or item.data is None:
                bad.append((index, item.payload, item.reason or "", item.key))
                continue
            foreign = self.foreign(item.data) if item.data.get("unit") is not None else None  # none: refused below
            if foreign:
                bad.append((index, item.payload, foreign, item.key))
                continue
            try:
                result = apply_unit_response(db, item.data)
            except ValidationError as exc:
                bad.append((index, item.payload, exc.message, item.key))
                continue
            status = "existing" if result.duplicate else result.outcome
            stored.outcomes[index] = ingest.Outcome(status, result.case_id, result.reason or None)
        if bad and quarantine:
            with db.write() as s:
                ids = ingest.quarantine_rows(s, self.name, self.kind, [(p, r, k) for _, p, r, k in bad], utcnow())
            for (index, _, reason, _), qid in zip(bad, ids, strict=True):
                stored.outcomes[index] = ingest.Outcome("quarantined", qid, reason)
            notify("quarantine", sorted(set(ids)))
        if move is not None:
            ingest.ingest_items(db, self.name, self.kind, [], move)
        return stored
