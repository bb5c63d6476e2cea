"""Verifying the hash chains of the append-only tables, and anchoring them (see ``models/chain.py``).

:func:`verify` walks every chain, recomputes each entry's hash from its content and the entry before,
and reports, per chain, the first entry that was changed, removed or inserted (and chains whose
head does not match their last entry, and cases left without a history). :func:`anchor` condenses
the current state into one line an administrator writes down or sends elsewhere;
``verify(anchor=…)`` then also proves that every entry that existed then is still there, unchanged
— which holds even against someone who recomputed every hash after changing an entry.

What it cannot prove: that an entry written by the program was true, and (without an anchor kept
outside the database) that nobody with write access to the database rewrote an entry and recomputed
the rest of its chain and its head. The chain tells when; the roles (``db roles``) keep seats from
doing it; an anchor kept elsewhere tells even when the database's owner did it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import AuditHead, Case
from workstation.models.chain import CHAINED, GENESIS, content, entry_hash
from workstation.services.actors import Actor
from workstation.services.errors import ValidationError
from workstation.storage.db import Database

ANCHOR_PREFIX = "WSA1"
SINGLE_CHAINS = ("care_visits", "care_reveals", "unit_responses")


@dataclass(frozen=True)
class Break:
    """One place where a chain does not hold."""

    table: str
    chain: str
    entry: str  # the entry's id (a response id for unit responses); "" when no entry is left to name
    kind: str  # changed | removed | inserted
    message: str


@dataclass
class Report:
    """What a verification found."""

    checked: dict[str, int] = field(default_factory=dict)
    breaks: list[Break] = field(default_factory=list)
    anchor_checked: bool = False

    @property
    def ok(self) -> bool:
        """Whether every chain (and the anchor, if one was given) holds."""
        return not self.breaks


def _key_column(table: Table) -> Any:
    return table.c.id if "id" in table.c else table.c.response_id


def _rows(s: Session, name: str) -> Iterator[dict[str, Any]]:
    model = CHAINED[name][0]
    table: Table = model.__table__  # type: ignore[assignment]
    key = _key_column(table)
    order = [table.c.case_id] if name == "case_events" else []
    query = select(table).order_by(*order, table.c.chain_seq, key).execution_options(yield_per=2000)
    for row in s.execute(query):
        yield dict(row._mapping)


def table_label(name: str) -> str:
    """The chained table's name as users read it."""
    return {
        "case_events": tr("case history"),
        "care_visits": tr("care visits"),
        "care_reveals": tr("reveals of personal data"),
        "unit_responses": tr("unit responses"),
        "account_events": tr("account changes"),
    }[name]


class _Walk:
    """The walk along one table's chains, collecting the first break of each."""

    def __init__(self, name: str, heads: dict[str, tuple[int, str]], report: Report) -> None:
        self.name = name
        model, self.chain_of, self.skip = CHAINED[name]
        self.table: Table = model.__table__  # type: ignore[assignment]
        self.key = _key_column(self.table).name
        self.heads = heads
        self.report = report
        self.chain: str | None = None
        self.seen: set[str] = set()
        self.expected, self.previous, self.broken = 1, GENESIS, False

    def _break(self, chain: str, entry: Any, kind: str, message: str) -> None:
        self.report.breaks.append(Break(self.name, chain, "" if entry is None else str(entry), kind, message))

    def row(self, row: dict[str, Any]) -> None:
        chain = self.chain_of(row)
        entry = row[self.key]
        where = tr("{table}, entry {entry}", table=table_label(self.name), entry=entry)
        if row["chain_seq"] is None or row["chain_hash"] is None:
            self._break(chain, entry, "inserted", tr("{where}: inserted outside the program (no seal).", where=where))
            return
        self.seen.add(chain)
        if chain != self.chain:
            self.finish()
            self.chain, self.expected, self.previous, self.broken = chain, 1, GENESIS, False
        if self.broken:
            return
        seq = row["chain_seq"]
        if seq < self.expected:
            self._break(
                chain, entry, "inserted", tr("{where}: inserted (a second entry at position {n}).", where=where, n=seq)
            )
        elif seq > self.expected:
            self._break(
                chain,
                entry,
                "removed",
                tr("{where}: {count} entries before it were removed.", where=where, count=seq - self.expected),
            )
        elif entry_hash(self.previous, seq, content(self.table, row, self.skip)) != row["chain_hash"]:
            self._break(chain, entry, "changed", tr("{where}: changed after it was written.", where=where))
        else:
            self.previous, self.expected = row["chain_hash"], seq + 1
            return
        self.broken = True

    def finish(self) -> None:
        """Compare the chain just walked with its head."""
        if self.chain is None:
            return
        chain, last = self.chain, self.expected - 1
        head = self.heads.pop(chain, None)
        self.chain = None
        if self.broken:
            return
        name = tr("{table} ({chain})", table=table_label(self.name), chain=chain)
        if head is None:
            self._break(
                chain, None, "inserted", tr("{name}: entries written outside the program (no head).", name=name)
            )
        elif head[0] > last:
            self._break(
                chain,
                None,
                "removed",
                tr("{name}: the last {count} entries were removed.", name=name, count=head[0] - last),
            )
        elif head[0] < last or head[1] != self.previous:
            self._break(
                chain, None, "changed", tr("{name}: the newest entry does not match the chain's head.", name=name)
            )

    def leftover(self) -> None:
        """Heads whose chain has no entry left at all."""
        for chain, (seq, _hash) in sorted(self.heads.items()):
            if seq > 0:
                name = tr("{table} ({chain})", table=table_label(self.name), chain=chain)
                self._break(
                    chain, None, "removed", tr("{name}: all {count} entries were removed.", name=name, count=seq)
                )


def _heads(s: Session, name: str) -> dict[str, tuple[int, str]]:
    query = select(AuditHead.chain, AuditHead.seq, AuditHead.hash)
    if name == "case_events":
        query = query.where(AuditHead.chain.like("case:%"))
    else:
        query = query.where(AuditHead.chain == name)
    return {chain: (seq, value) for chain, seq, value in s.execute(query)}


def _sort_key(b: Break) -> tuple[int, int, str]:
    order = [*CHAINED, "anchor"]
    number = int(b.entry) if b.entry.isdigit() else (int(b.chain[5:]) if b.chain.startswith("case:") else 0)
    return (order.index(b.table), number, b.entry)


def _may_audit(by: Actor) -> None:
    by.require((Role.ADMIN,), tr("verify or anchor the audit trail"))


def verify(db: Database, by: Actor, anchor_line: str | None = None) -> Report:
    """Walk every chain (see the module docstring); the first break of each chain is reported.

    Raises:
        PermissionDeniedError: only administrators audit.
        ValidationError: the anchor is not one ``audit anchor`` printed.
    """
    _may_audit(by)
    wanted = _parse_anchor(anchor_line) if anchor_line else None
    report = Report()
    with db.read() as s:
        for name in CHAINED:
            walk = _Walk(name, _heads(s, name), report)
            count = 0
            for row in _rows(s, name):
                count += 1
                walk.row(row)
            walk.finish()
            walk.leftover()
            if name == "case_events":
                _cases_without_history(s, report, walk.seen)
            report.checked[name] = count
        if wanted is not None:
            positions, digest = wanted
            report.anchor_checked = True
            if _digest(s, positions) != digest:
                report.breaks.append(
                    Break(
                        "anchor",
                        "",
                        "",
                        "changed",
                        tr(
                            "Entries that existed when the anchor was taken were changed or removed since "
                            "(possibly with every hash recomputed)."
                        ),
                    )
                )
    report.breaks.sort(key=_sort_key)
    return report


def _cases_without_history(s: Session, report: Report, seen: set[str]) -> None:
    known = seen | {c for (c,) in s.execute(select(AuditHead.chain).where(AuditHead.chain.like("case:%")))}
    for (case_id,) in s.execute(select(Case.id).order_by(Case.id)):
        if f"case:{case_id}" not in known:
            report.breaks.append(
                Break(
                    "case_events",
                    f"case:{case_id}",
                    "",
                    "removed",
                    tr("Case {id} has no history at all: it was removed.", id=case_id),
                )
            )


# -- anchors --------------------------------------------------------------------------------------------


def _positions(s: Session) -> tuple[int, ...]:
    events = s.scalar(select(text("max(id)")).select_from(CHAINED["case_events"][0].__table__)) or 0
    seqs = [s.scalar(select(AuditHead.seq).where(AuditHead.chain == name)) or 0 for name in SINGLE_CHAINS]
    return (int(events), *seqs)


def _digest(s: Session, positions: tuple[int, ...]) -> str:
    digest = hashlib.sha256()
    events = CHAINED["case_events"][0].__table__
    query = (
        select(events.c.id, events.c.chain_hash)
        .where(events.c.id <= positions[0])
        .order_by(events.c.id)
        .execution_options(yield_per=5000)
    )
    for entry_id, value in s.execute(query):
        digest.update(f"{entry_id}:{value}\n".encode())
    for name, seq in zip(SINGLE_CHAINS, positions[1:], strict=True):
        table = CHAINED[name][0].__table__
        value = s.scalar(select(table.c.chain_hash).where(table.c.chain_seq == seq)) if seq else GENESIS
        digest.update(f"{name}:{seq}:{value}\n".encode())
    return digest.hexdigest()


def anchor(db: Database, by: Actor) -> str:
    """One line that pins every entry written so far; keep it outside the database.

    On PostgreSQL the history tables are locked against writers (SHARE mode) for the moment it takes,
    so no entry with a smaller id can still commit after the line was printed.

    Raises:
        PermissionDeniedError: only administrators audit.
    """
    _may_audit(by)
    with db.write() as s:
        if db.dialect == "postgresql":
            s.execute(text(f"LOCK TABLE {', '.join(CHAINED)} IN SHARE MODE"))
        positions = _positions(s)
        digest = _digest(s, positions)
    return f"{ANCHOR_PREFIX}-" + "-".join(str(p) for p in positions) + f"-{digest}"


def _parse_anchor(line: str) -> tuple[tuple[int, ...], str]:
    parts = line.strip().split("-")
    if len(parts) != 6 or parts[0] != ANCHOR_PREFIX or not all(p.isdigit() for p in parts[1:5]) or len(parts[5]) != 64:
        raise ValidationError(
            tr("{anchor} is not an anchor printed by 'audit anchor'.", anchor=line.strip()[:80]),
            {"anchor": tr("not an anchor")},
        )
    return tuple(int(p) for p in parts[1:5]), parts[5]
