"""Which category a report belongs to, and which unit that category means at the case's place.

A category's score (0..1) is the learnt model's calibrated probability (``assist.model``: how
people talk, learnt from the shipped lexicon and retrained in the background from the filed cases,
see ``assist.learning``), mixed with the vote of the most similar recent filings so that an
operator's decision counts from the next report on::

    score = (1 - w) * model + w * history share,   w = HISTORY_WEIGHT * (1 - exp(-1.2 * similar mass))

Until the model is ready (the window never waits for it) the score joins the catalogue and the
history as independent chances, ``1 - (1 - catalogue) * (1 - history)``. The reasons name the
words that decided the model, the catalogue's names and keywords found, and the similar filings:

- catalogue: the category's name and keywords found in the text. Longer matches weigh more; a
  match that lies inside a longer match of another category counts little (机动车 inside
  非机动车 is no evidence for 机动车乱停放); a name half-present by its bigrams counts a little.
- history: what operators filed before. The most recent filed cases (``HISTORY_SIZE``) are held in
  memory per process and database, indexed by character bigram, and refreshed on each call by
  indexed queries only (cases with a higher id, cases acted on since the last look), so the cost
  does not grow with the size of the case table. The nearest cases by idf-weighted bigram Jaccard
  vote for their category, cases of the same grid a little more.

Inactive categories are never suggested. Ties are ordered by code.
"""

from __future__ import annotations

import heapq
import math
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from workstation.assist import learning
from workstation.assist.model import CategoryModel
from workstation.assist.places import locate
from workstation.assist.text import bigrams, normalise
from workstation.i18n import tr
from workstation.models import Case, Category, Unit
from workstation.services.territory import place_of, resolve_unit
from workstation.storage.db import Database

HISTORY_SIZE = 5_000
NEIGHBOURS = 12
MIN_SIMILARITY = 0.2
SAME_GRID_WEIGHT = 1.5
CLOCK_MARGIN = timedelta(minutes=2)
_CANDIDATES = 300  # cases scored exactly, from the best partial overlaps
_SHADOWED = 0.1  # weight of a match lying inside a longer match of another category
_NAME_BONUS = 2.0
_CATALOGUE_SCALE = 8.0
HISTORY_WEIGHT = 0.6


@dataclass(frozen=True)
class Suggestion:
    """A proposed category: its code and name, a score in 0..1 and the reasons, best first."""

    code: str
    name: str
    score: float
    reasons: list[str]


@dataclass(frozen=True)
class UnitSuggestion:
    """The concrete unit a category names at the case's place, and why."""

    code: str
    name: str
    reason: str


# -- the catalogue ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cat:
    code: str
    name: str
    keywords: tuple[str, ...]


def _catalogue(s: Session) -> dict[str, _Cat]:
    rows = s.execute(select(Category.code, Category.name, Category.keywords).where(Category.active)).all()
    return {code: _Cat(code, name, tuple(k for k in (keywords or []) if k)) for code, name, keywords in rows}


def _occurrences(text: str, term: str) -> list[int]:
    found, start = [], text.find(term)
    while start >= 0:
        found.append(start)
        start = text.find(term, start + 1)
    return found


def _catalogue_evidence(text: str, cats: dict[str, _Cat]) -> dict[str, tuple[float, list[str]]]:
    """Per category: the raw weight of its matches in the text and the reasons."""
    norm = normalise(text)
    owners: dict[str, set[str]] = {}
    for cat in cats.values():
        for term in (cat.name, *cat.keywords):
            if term.lower() in norm:
                owners.setdefault(term.lower(), set()).add(cat.code)
    spans = [(pos, pos + len(term), term) for term in owners for pos in _occurrences(norm, term)]

    def strength(term: str, code: str) -> float:
        best = 0.0
        for start, end, t in spans:
            if t != term:
                continue
            covered = any(
                len(u) > len(term) and s0 <= start and end <= e0 and code not in owners[u] for s0, e0, u in spans
            )
            best = max(best, _SHADOWED if covered else 1.0)
        return best

    out: dict[str, tuple[float, list[str]]] = {}
    text_grams = bigrams(text)
    for cat in cats.values():
        weight, reasons = 0.0, []
        name = cat.name.lower()
        if name in owners:
            weight += len(name) ** 1.5 * _NAME_BONUS * strength(name, cat.code)
            reasons.append(tr("name {name}", name=cat.name))
        else:
            grams = bigrams(cat.name)
            part = len(grams & text_grams) / len(grams) if grams else 0.0
            if part >= 0.5:
                weight += 3.0 * part
                reasons.append(tr("close to the name {name}", name=cat.name))
        for kw in dict.fromkeys(cat.keywords):
            low = kw.lower()
            if low in owners and low != name:
                weight += len(low) ** 1.5 * strength(low, cat.code)
                reasons.append(tr("keyword {kw}", kw=kw))
        if weight > 0:
            out[cat.code] = (weight, reasons)
    return out


# -- the history ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    category: str
    grid: str | None
    grams: frozenset[str]


class HistoryIndex:
    """The most recent filed cases of one database, by character bigram; safe across threads."""

    def __init__(self, capacity: int = HISTORY_SIZE) -> None:
        self.capacity = capacity
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.entries: OrderedDict[int, _Entry] = OrderedDict()
        self.postings: dict[str, set[int]] = {}
        self.loaded = False
        self.max_id = 0
        self.seen_at: datetime | None = None
        self.changes = 0  # filings and corrections seen since the index started
        self.anchor: tuple[int, datetime, str] | None = None  # the newest case seen, to notice a reset

    def __len__(self) -> int:
        return len(self.entries)

    def _remove(self, case_id: int) -> None:
        entry = self.entries.pop(case_id, None)
        if entry is None:
            return
        for g in entry.grams:
            ids = self.postings.get(g)
            if ids is not None:
                ids.discard(case_id)
                if not ids:
                    del self.postings[g]

    def _put(self, case_id: int, category: str | None, grid: str | None, text: str) -> None:
        before = self.entries.get(case_id)
        self._remove(case_id)
        if not category:
            return
        if before is None or before.category != category:
            self.changes += 1
        entry = _Entry(category, grid, bigrams(text))
        self.entries[case_id] = entry
        for g in entry.grams:
            self.postings.setdefault(g, set()).add(case_id)
        while len(self.entries) > self.capacity:
            self._remove(next(iter(self.entries)))

    def _take(self, rows: list[tuple[int, str | None, str | None, str, datetime, datetime]]) -> None:
        for case_id, category, grid, text, last_action_at, created_at in rows:
            self._put(case_id, category, grid, text)
            if case_id >= self.max_id:
                self.max_id, self.anchor = case_id, (case_id, created_at, text)
            if self.seen_at is None or last_action_at > self.seen_at:
                self.seen_at = last_action_at

    def refresh(self, s: Session) -> None:
        """Bring the index up to date with indexed queries only; start over if the table was emptied."""
        cols = (Case.id, Case.category_code, Case.grid_code, Case.text, Case.last_action_at, Case.created_at)
        if self.anchor is not None:
            row = s.execute(select(Case.created_at, Case.text).where(Case.id == self.anchor[0])).first()
            if row is None or (row[0], row[1]) != self.anchor[1:]:
                self._clear()
        if not self.loaded:
            recent = s.execute(
                select(*cols).where(Case.category_code.is_not(None)).order_by(Case.id.desc()).limit(self.capacity)
            ).all()
            self._take([tuple(r) for r in reversed(recent)])  # type: ignore[misc]
            top = s.execute(select(*cols).order_by(Case.id.desc()).limit(1)).first()
            if top is not None:
                self._take([tuple(top)])  # type: ignore[list-item]
            self.seen_at = s.scalar(select(func.max(Case.last_action_at)))
            self.loaded = True
            return
        new = s.execute(select(*cols).where(Case.id > self.max_id).order_by(Case.id).limit(self.capacity * 2)).all()
        self._take([tuple(r) for r in new])  # type: ignore[misc]
        if self.seen_at is not None:
            changed = s.execute(
                select(*cols).where(Case.last_action_at >= self.seen_at - CLOCK_MARGIN).order_by(Case.last_action_at)
            ).all()
            self._take([tuple(r) for r in changed])  # type: ignore[misc]
        else:
            self.seen_at = s.scalar(select(func.max(Case.last_action_at)))

    def _weight(self, gram: str) -> float:
        n = len(self.entries)
        df = len(self.postings.get(gram, ()))
        if n >= 200 and df * 5 > n:
            return 0.0  # as common as a stop word
        return math.log(1.0 + n / max(df, 1))

    def nearest(
        self, grams: frozenset[str], k: int = NEIGHBOURS, exclude: int | None = None
    ) -> list[tuple[float, int, _Entry]]:
        """The ``k`` filed cases most similar to the bigrams: (similarity, case id, entry), best first."""
        if not grams or not self.entries:
            return []
        weights = {g: self._weight(g) for g in grams}
        overlap: dict[int, float] = {}
        for g, w in weights.items():
            if w <= 0.0:
                continue
            for case_id in self.postings.get(g, ()):
                overlap[case_id] = overlap.get(case_id, 0.0) + w
        if exclude is not None:
            overlap.pop(exclude, None)
        total = sum(weights.values())
        scored = []
        for case_id, inter in heapq.nlargest(_CANDIDATES, overlap.items(), key=lambda item: (item[1], item[0])):
            entry = self.entries[case_id]
            other = sum(self._weight(g) for g in entry.grams)
            union = total + other - inter
            sim = inter / union if union > 0 else 0.0
            if sim >= MIN_SIMILARITY:
                scored.append((sim, case_id, entry))
        scored.sort(key=lambda item: (-item[0], -item[1]))
        return scored[:k]


_indexes: weakref.WeakKeyDictionary[Pool, HistoryIndex] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def _index_for(s: Session) -> HistoryIndex:
    """The index of the session's database: one per connection pool, so per open ``Database``."""
    bind = s.get_bind()
    pool = bind.engine.pool if isinstance(bind, Connection) else bind.pool
    with _indexes_lock:
        index = _indexes.get(pool)
        if index is None:
            index = _indexes[pool] = HistoryIndex()
        return index


def forget_history() -> None:
    """Drop every in-memory history index (they rebuild on the next suggestion)."""
    with _indexes_lock:
        _indexes.clear()


def _history_evidence(
    s: Session, text: str, grid_code: str | None, exclude: int | None
) -> dict[str, tuple[float, int, float]]:
    """Per category: its share of the similar cases' weight times the confidence, their count, their weight."""
    index = _index_for(s)
    with index.lock:
        index.refresh(s)
        near = index.nearest(bigrams(text), exclude=exclude)
    mass: dict[str, float] = {}
    count: dict[str, int] = {}
    for sim, _case_id, entry in near:
        w = sim * (SAME_GRID_WEIGHT if grid_code and entry.grid == grid_code else 1.0)
        mass[entry.category] = mass.get(entry.category, 0.0) + w
        count[entry.category] = count.get(entry.category, 0) + 1
    total = sum(mass.values())
    return {code: (m / total * (1.0 - math.exp(-1.2 * m)), count[code], m) for code, m in mass.items()}


# -- the suggestions --------------------------------------------------------------------------------------


def _suggest(
    s: Session, text: str, grid_code: str | None, limit: int, exclude: int | None, wait: bool
) -> list[Suggestion]:
    if not text or not text.strip() or limit <= 0:
        return []
    cats = _catalogue(s)
    catalogue = _catalogue_evidence(text, cats)
    history = _history_evidence(s, text, grid_code, exclude)
    index = _index_for(s)
    model = learning.store_for(s).current(index.changes, len(index), wait=wait)
    if model is not None:
        return _with_model(model, text, cats, catalogue, history, limit)
    ranked = []
    for code in set(catalogue) | set(history):
        cat = cats.get(code)
        if cat is None:
            continue  # inactive, or no longer in the catalogue
        weight, reasons = catalogue.get(code, (0.0, []))
        from_catalogue = 1.0 - math.exp(-weight / _CATALOGUE_SCALE)
        from_history, n, _m = history.get(code, (0.0, 0, 0.0))
        score = round(1.0 - (1.0 - from_catalogue) * (1.0 - from_history), 3)
        if score <= 0.0:
            continue
        why = list(reasons)
        if n:
            why.append(tr("{n} similar cases filed as {code}", n=n, code=code))
            if from_history > from_catalogue:
                why = why[-1:] + why[:-1]
        ranked.append(Suggestion(code, cat.name, score, why))
    ranked.sort(key=lambda sg: (-sg.score, sg.code))
    return ranked[:limit]


def _with_model(
    model: CategoryModel,
    text: str,
    cats: dict[str, _Cat],
    catalogue: dict[str, tuple[float, list[str]]],
    history: dict[str, tuple[float, int, float]],
    limit: int,
) -> list[Suggestion]:
    probs = {code: p for code, p in model.probabilities(text).items() if code in cats}
    total = sum(probs.values())
    mass = sum(m for _share, _n, m in history.values())
    w = HISTORY_WEIGHT * (1.0 - math.exp(-1.2 * mass)) if mass > 0 else 0.0
    scored = {}
    for code in set(probs) | {c for c in history if c in cats}:
        p_model = probs.get(code, 0.0) / total if total > 0 else 0.0
        share = history[code][2] / mass if code in history else 0.0
        scored[code] = ((1.0 - w) * p_model + w * share, (1.0 - w) * p_model, w * share)
    ranked = sorted(scored.items(), key=lambda item: (-round(item[1][0], 3), item[0]))[:limit]
    out = []
    for code, (score, from_model, from_history) in ranked:
        if round(score, 3) <= 0.0:
            continue
        why = []
        evidence = model.evidence(text, code)
        if evidence:
            why.append(tr("words {words}", words="、".join(evidence)))
        why += catalogue.get(code, (0.0, []))[1]
        n = history[code][1] if code in history else 0
        if n:
            similar = tr("{n} similar cases filed as {code}", n=n, code=code)
            why = [similar, *why] if from_history > from_model else [*why, similar]
        out.append(Suggestion(code, cats[code].name, round(score, 3), why))
    return out


def suggest_categories(
    session_or_db: Session | Database,
    text: str,
    grid_code: str | None = None,
    limit: int = 3,
    *,
    exclude_case: int | None = None,
    wait: bool = True,
) -> list[Suggestion]:
    """The categories a report's text most likely belongs to, best first.

    Args:
        session_or_db: an open session, or the database (a read session is opened).
        text: the report's text.
        grid_code: the case's grid, if known: similar cases of the same grid count more.
        limit: how many suggestions at most.
        exclude_case: a case that must not vote for its own category (the one being re-filed).
        wait: load (or first train) the cold-start model if it is not ready; the window passes
            False and gets the catalogue's keywords meanwhile, never waiting.

    Returns:
        Up to ``limit`` suggestions with a score above 0, by score then code.
    """
    if isinstance(session_or_db, Database):
        with session_or_db.read() as s:
            return _suggest(s, text, grid_code, limit, exclude_case, wait)
    return _suggest(session_or_db, text, grid_code, limit, exclude_case, wait)


def suggest_unit(session: Session, case: Case | int, category_code: str | None = None) -> UnitSuggestion | None:
    """The unit to dispatch to: the category's unit resolved at the case's grid.

    Args:
        session: an open session.
        case: the case (or its id).
        category_code: the category to use instead of the case's own (one not filed yet).

    Returns:
        None when there is no (active) category, or when a territorial unit (GRID, STREET,
        COMMUNITY) cannot be resolved because the case has no grid and its address and text name no
        place of the gazetteer, or the unit is inactive. A case without a grid whose words name a
        place gets that place's unit, with the address in the reason.
    """
    row = session.get(Case, case) if isinstance(case, int) else case
    if row is None:
        return None
    code = category_code or row.category_code
    cat = session.get(Category, code) if code else None
    if cat is None or not cat.active:
        return None
    grid_code, from_words = row.grid_code, None
    if grid_code is None and cat.unit in ("GRID", "STREET", "COMMUNITY"):
        from_words = locate(" ".join(part for part in (row.address, row.text) if part))
        grid_code = from_words.grid_code if from_words else None
    place = place_of(session, grid_code)
    unit: Unit | None = resolve_unit(session, cat.unit, place)
    if unit is None or not unit.active:
        return None
    if cat.unit in ("GRID", "STREET", "COMMUNITY") and place is not None:
        role, where = {
            "GRID": (tr("grid team"), place.grid_name),
            "STREET": (tr("street office"), place.street_name),
            "COMMUNITY": (tr("community station"), place.community_name),
        }[cat.unit]
        reason = tr("category {code} → {role} of {grid}", code=cat.code, role=role, grid=where)
        if from_words is not None:
            reason += "; " + from_words.reason
    else:
        reason = tr("category {code} → {unit}", code=cat.code, unit=unit.name)
    return UnitSuggestion(unit.code, unit.name, reason)
