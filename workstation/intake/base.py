"""Inbound sources, pluggable by kind: the registry, the base class, and the cursor-polling loop.

A source kind is a class registered under its name in ``REGISTRY``; the settings file names the kind
of each source. A kind knows how to read one page and one item of its feed (``parse_page``,
``parse_item``) and how to poll (``poll``); storing goes through ``intake.ingest`` for every kind.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import requests

from workstation.i18n import tr
from workstation.intake import ingest
from workstation.intake.formats import decode
from workstation.intake.http import FetchError, Response, Sleep, request
from workstation.intake.items import CursorMove, Item, Page, PageError
from workstation.intake.settings import SourceConfig
from workstation.models import utcnow
from workstation.services.errors import ValidationError
from workstation.storage.db import Database

REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make a source kind known by its ``kind``."""
    REGISTRY[cls.kind] = cls
    return cls


@dataclass
class PollContext:
    """What a poll needs from outside: the database, an HTTP session, and injectable time."""

    db: Database
    session: requests.Session
    sleep: Sleep = time.sleep
    now: Callable[[], datetime] = utcnow


@dataclass
class RoundResult:
    """What one polling round of one source did."""

    source: str
    kind: str
    ok: bool = True
    pages: int = 0
    created: int = 0
    existing: int = 0
    updated: int = 0
    quarantined: int = 0
    applied: int = 0
    ignored: int = 0
    cursor: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        """Items seen in the round."""
        return self.created + self.existing + self.updated + self.quarantined + self.applied + self.ignored

    def add(self, stored: ingest.Stored) -> None:
        """Count one stored batch."""
        self.created += stored.count("created")
        self.existing += stored.count("existing")
        self.updated += stored.count("updated")
        self.quarantined += stored.count("quarantined")
        self.applied += stored.count("applied")
        self.ignored += stored.count("ignored") + stored.count("refused")

    def line(self) -> str:
        """One status line for a terminal or a status bar."""
        counts = tr(
            "{pages} page(s), {created} new, {existing} already present, {held} quarantined",
            pages=self.pages,
            created=self.created,
            existing=self.existing,
            held=self.quarantined,
        )
        if self.updated:
            counts += tr(", {n} updated", n=self.updated)
        if self.applied or self.ignored:
            counts += tr(", {n} response(s) applied, {m} ignored or refused", n=self.applied, m=self.ignored)
        state = tr("ok") if self.ok else tr("FAILED: {error}", error=self.error or "")
        extra = "".join(f"; {n}" for n in self.notes)
        return f"{self.source} ({self.kind}): {state} — {counts}{extra}"


class Source(ABC):
    """One configured inbound source of some kind."""

    kind: ClassVar[str]
    channel: ClassVar[str | None] = None

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.options = self.check_options(config.options)

    @property
    def name(self) -> str:
        """The source's name (unique among sources)."""
        return self.config.name

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """The kind's mapping options, checked.

        Raises:
            ValidationError: a bad option, named.
        """
        return dict(options)

    @abstractmethod
    def parse_page(self, text: str) -> Page:
        """Read one page of the feed.

        Raises:
            PageError: the page as a whole cannot be read.
        """

    @abstractmethod
    def parse_item(self, payload: str) -> Item:
        """Read one item again from its kept payload (quarantine reprocessing)."""

    def store(
        self, db: Database, items: list[Item], move: CursorMove | None = None, *, quarantine: bool = True
    ) -> ingest.Stored:
        """Import parsed items (and move the cursor) in one transaction; bad items go to quarantine."""
        return ingest.ingest_items(db, self.name, self.kind, items, move, quarantine=quarantine)

    @abstractmethod
    def poll(self, ctx: PollContext) -> RoundResult:
        """One polling round: fetch what is new, store it, and say what happened."""

    def fetch(self, ctx: PollContext, url: str, params: Mapping[str, Any] | None = None) -> Response:
        """GET with this source's credentials, timeout and retries."""
        return request(
            ctx.session,
            "GET",
            url,
            retry=self.config.retry,
            params=params,
            credentials=self.config.credentials,
            headers={"Accept": "application/json, application/xml;q=0.9, */*;q=0.1"},
            sleep=ctx.sleep,
            limits=self.config.limits,
        )

    def text_of(self, response: Response) -> str:
        """The decoded body.

        Raises:
            PageError: the body is not in its character set.
        """
        text, problem = decode(response.body, response.content_type)
        if problem:
            raise PageError(problem)
        return text


class CursorSource(Source):
    """A feed read by cursor: ``GET url?cursor=C&limit=N`` answers a page and the cursor after it.

    The cursor is stored in the transaction of the page's items; a page that cannot be read is
    quarantined whole and the cursor stays where it was, so the next round asks for it again.
    """

    def request_params(self, cursor: str | None) -> dict[str, Any]:
        """The query of one page request."""
        params: dict[str, Any] = {"limit": self.config.page_limit}
        if cursor is not None:
            params["cursor"] = cursor
        return params

    def poll(self, ctx: PollContext) -> RoundResult:
        """Read pages from the stored cursor until the feed says there is no more (or max_pages)."""
        result = RoundResult(self.name, self.kind)
        cursor = ingest.read_cursor(ctx.db, self.name)
        result.cursor = cursor
        for _ in range(self.config.max_pages):
            try:
                response = self.fetch(ctx, self.config.url, self.request_params(cursor))
            except FetchError as exc:
                result.ok, result.error = False, exc.message
                return result
            text = response.body.decode("utf-8", "replace")
            try:
                text = self.text_of(response)
                page = self.parse_page(text)
                limit = self.config.limits.max_items_per_page
                if len(page.items) > limit:
                    raise PageError(
                        tr(
                            "the page lists {n} entries, more than the limit of {limit} (limits.max_items_per_page)",
                            n=len(page.items),
                            limit=limit,
                        )
                    )
                if page.has_more and (page.next_cursor is None or page.next_cursor == cursor):
                    raise PageError(tr("has_more is true but next_cursor does not move on: the feed would loop"))
            except PageError as exc:
                ingest.quarantine_page(ctx.db, self.name, self.kind, text, exc.message, cursor)
                result.ok, result.error = False, tr("page quarantined: {reason}", reason=exc.message)
                result.quarantined += 1
                return result
            new = page.next_cursor if page.next_cursor is not None else cursor
            try:
                stored = self.store(ctx.db, page.items, CursorMove(cursor, new))
            except ingest.CursorMovedError as exc:
                result.notes.append(exc.message)
                return result
            result.pages += 1
            result.add(stored)
            result.notes.extend(page.notes)
            cursor = result.cursor = new
            if not page.has_more:
                break
        return result


def build_source(config: SourceConfig) -> Source:
    """The source object of a configured source.

    Raises:
        ValidationError: unknown kind or bad options.
    """
    cls = REGISTRY.get(config.kind)
    if cls is None:
        raise ValidationError(
            tr("Unknown source kind {kind}: use one of {kinds}.", kind=config.kind, kinds=", ".join(sorted(REGISTRY))),
            {"kind": config.kind},
        )
    return cls(config)
