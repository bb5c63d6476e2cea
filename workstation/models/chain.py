"""The hash chain sealed onto every append-only entry: history, visits, unit responses, reveals and accounts.

Each entry of a chained table carries its position in its chain (``chain_seq``, from 1) and
``chain_hash = sha256(previous hash | position | the entry's content)``. The content is every column
but the surrogate id and the hash itself, written as canonical JSON (sorted keys, UTC instants,
absent NULLs, so a column added later as NULL does not change old hashes). ``audit_heads`` keeps the
newest position and hash of every chain, so an entry removed from the end shows too.

Chains: the history is one chain per case (``case:<id>``); its writers already hold the case's row
lock (the lifecycle's guarded update), so a per-case chain costs no extra serialisation. Visits,
unit responses, reveals and account changes are one chain per table; a writer locks the head row (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite's immediate write transaction already serialises).

Every ORM insert is sealed by a ``before_insert`` hook; bulk inserts (``insert(Table)`` with many
rows) call :func:`seal_rows` first; :func:`insert_sealed` writes one entry without the ORM (on
PostgreSQL the head moves and the entry is inserted in one statement). :mod:`workstation.services.audit` verifies.

Changing a chained table: a new column must be nullable with no server default (old rows read it as
NULL, which the content leaves out, so their hashes still hold); renaming or retyping a column, or
filling it in old rows, changes their content and needs a migration that re-seals them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, LargeBinary, String, Table, bindparam, event, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from workstation.models.account import AccountEvent
from workstation.models.base import Base
from workstation.models.care import CareReveal, CareVisit
from workstation.models.case import CaseEvent
from workstation.models.intake import UnitResponse

GENESIS = "0" * 64
HASH_COLUMNS = ("chain_seq", "chain_hash")


class AuditHead(Base):
    """The newest entry of one chain: its position and hash."""

    __tablename__ = "audit_heads"
    chain: Mapped[str] = mapped_column(String(60), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


def _case_chain(values: Mapping[str, Any]) -> str:
    return f"case:{values['case_id']}"


# table name -> (model, the chain an entry belongs to, columns that are not content)
CHAINED: dict[str, tuple[type[Base], Callable[[Mapping[str, Any]], str], tuple[str, ...]]] = {
    "case_events": (CaseEvent, _case_chain, ("id",)),
    "care_visits": (CareVisit, lambda _values: "care_visits", ("id",)),
    "care_reveals": (CareReveal, lambda _values: "care_reveals", ("id",)),
    "unit_responses": (UnitResponse, lambda _values: "unit_responses", ()),
    "account_events": (AccountEvent, lambda _values: "account_events", ("id",)),
}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def content(table: Table, values: Mapping[str, Any], skip: Iterable[str]) -> bytes:
    """The canonical bytes of an entry: every non-NULL column but the skipped ones and the hash."""
    left_out = {*skip, "chain_hash", "chain_seq"}
    data = {c.name: _plain(values.get(c.name)) for c in table.columns if c.name not in left_out}
    data = {k: v for k, v in data.items() if v is not None}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(previous: str, seq: int, body: bytes) -> str:
    """The hash of the entry at position ``seq`` after the entry whose hash is ``previous``."""
    return hashlib.sha256(f"{previous}|{seq}|".encode() + body).hexdigest()


def _with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """Fill the client-side column defaults the insert would apply, so the hash sees them."""
    for column in table.columns:
        if values.get(column.name) is not None or column.default is None or column.primary_key:
            continue
        default: Any = column.default
        if default.is_scalar:
            values[column.name] = default.arg
        elif default.is_callable:
            values[column.name] = default.arg(None)
    return values


def _heads(conn: Connection, chains: list[str], start: bool = True) -> dict[str, tuple[int, str]]:
    """The heads of these chains, locked; with ``start``, a chain without one gets its start (position 0) first.

    Without ``start`` a chain that has no head is left out (its head is written with its first entries).
    """
    heads: Table = AuditHead.__table__  # type: ignore[assignment]
    found: dict[str, tuple[int, str]] = {}
    for first in range(0, len(chains), 500):
        part = chains[first : first + 500]
        query = select(AuditHead.chain, AuditHead.seq, AuditHead.hash).where(AuditHead.chain.in_(part))
        query = query.order_by(AuditHead.chain).with_for_update()
        have = {chain: (seq, value) for chain, seq, value in conn.execute(query)}
        missing = [c for c in part if c not in have]
        if missing and start:
            starts = [{"chain": c, "seq": 0, "hash": GENESIS} for c in missing]
            dialect = conn.dialect.name
            if dialect in ("postgresql", "sqlite"):
                insert = pg_insert if dialect == "postgresql" else sqlite_insert
                conn.execute(insert(heads).on_conflict_do_nothing(index_elements=["chain"]), starts)
            else:
                conn.execute(heads.insert(), starts)
            have.update({chain: (seq, value) for chain, seq, value in conn.execute(query)})
        found.update(have)
    return found


def seal_rows(conn: Connection, table_name: str, rows: list[dict[str, Any]]) -> None:
    """Give each row (dicts about to be inserted, in this order) its chain position and hash.

    Fills the rows' column defaults and moves the heads of their chains, in the caller's transaction.
    """
    model, chain_of, skip = CHAINED[table_name]
    table: Table = model.__table__  # type: ignore[assignment]
    chains = [chain_of(_with_defaults(table, row)) for row in rows]
    if len(rows) == 1 and conn.dialect.name == "postgresql":
        _advance(conn, chains[0], rows[0], table, skip)
        return
    # SQLite has one writer at a time: a chain without a head gets none from anyone else before this
    # transaction ends, so its head is written once with its entries (no start row to insert, read and update)
    alone = conn.dialect.name == "sqlite"
    known = _heads(conn, sorted(set(chains)), start=not alone)
    heads = dict(known)
    for row, chain in zip(rows, chains, strict=True):
        seq, previous = heads.get(chain, (0, GENESIS))
        row["chain_seq"] = seq + 1
        row["chain_hash"] = entry_hash(previous, seq + 1, content(table, row, skip))
        heads[chain] = (seq + 1, row["chain_hash"])
    moved = [{"c": c, "seq": s, "hash": h} for c, (s, h) in heads.items() if c in known and known[c] != (s, h)]
    if moved:
        conn.execute(
            update(AuditHead)
            .where(AuditHead.chain == bindparam("c"))
            .values(seq=bindparam("seq"), hash=bindparam("hash")),
            moved,
        )
    started = [{"chain": c, "seq": s, "hash": h} for c, (s, h) in heads.items() if c not in known]
    if started:
        conn.execute(AuditHead.__table__.insert(), started)  # type: ignore[attr-defined]


# One entry on PostgreSQL: the chain's head is moved (or started at position 1) and hashed in one
# round trip, the same hash as entry_hash: sha256 of "previous|position|" followed by the content. The
# upsert locks the head row until commit, as _heads does.
_MOVE_HEAD_PG = (
    "INSERT INTO audit_heads AS a (chain, seq, hash) "
    "VALUES (:chain, 1, encode(sha256(convert_to(:start, 'UTF8') || :body), 'hex')) "
    "ON CONFLICT (chain) DO UPDATE SET seq = a.seq + 1, "
    "hash = encode(sha256(convert_to(a.hash || '|' || (a.seq + 1)::text || '|', 'UTF8') || :body), 'hex') "
    "RETURNING seq, hash"
)
_ADVANCE = text(_MOVE_HEAD_PG).bindparams(bindparam("body", type_=LargeBinary))


def _advance(conn: Connection, chain: str, row: dict[str, Any], table: Table, skip: Iterable[str]) -> None:
    """Seal one row by moving (or starting) its chain's head in the database."""
    params = {"chain": chain, "start": f"{GENESIS}|1|", "body": content(table, row, skip)}
    row["chain_seq"], row["chain_hash"] = conn.execute(_ADVANCE, params).one()


def _seal_one(_mapper: Mapper[Any], conn: Connection, target: Any) -> None:
    table: Table = target.__table__
    values = {c.name: getattr(target, c.key, None) for c in table.columns}
    seal_rows(conn, table.name, [values])
    for column in table.columns:
        keep = column.name not in HASH_COLUMNS and getattr(target, column.key, None) is not None
        if not keep and values.get(column.name) is not None:
            setattr(target, column.key, values[column.name])


for _model, _chain, _skip in CHAINED.values():
    event.listen(_model, "before_insert", _seal_one)


# One entry on PostgreSQL, in one statement: the chain's head is moved as in _MOVE_HEAD_PG and the entry
# inserted with the position and hash the head now holds.
_INSERT_SEALED_PG = (
    "WITH h AS (" + _MOVE_HEAD_PG + ") "
    "INSERT INTO {table} ({columns}, chain_seq, chain_hash) "
    "VALUES ({values}, (SELECT seq FROM h), (SELECT hash FROM h)) RETURNING id, chain_seq, chain_hash"
)
_inserts: dict[tuple[str, str], Any] = {}


def _insert_statement(dialect: str, table: Table) -> Any:
    key = (dialect, table.name)
    if key not in _inserts:
        columns = [c for c in table.columns if c.name not in ("id", *HASH_COLUMNS)]
        if dialect == "postgresql":
            sql = _INSERT_SEALED_PG.format(
                table=table.name,
                columns=", ".join(c.name for c in columns),
                values=", ".join(f":{c.name}" for c in columns),
            )
            binds = [bindparam(c.name, type_=c.type) for c in columns]
            _inserts[key] = text(sql).bindparams(*binds, bindparam("body", type_=LargeBinary))
        else:
            _inserts[key] = table.insert()
    return _inserts[key]


def insert_sealed(conn: Connection, table_name: str, row: dict[str, Any]) -> int:
    """Insert one entry of a chained table with an ``id`` key, sealed as the ORM hook would; its id.

    ``row`` (column name -> value) gets the column defaults, ``chain_seq`` and ``chain_hash``.
    """
    model, chain_of, skip = CHAINED[table_name]
    table: Table = model.__table__  # type: ignore[assignment]
    chain = chain_of(_with_defaults(table, row))
    statement = _insert_statement(conn.dialect.name, table)
    if conn.dialect.name == "postgresql":
        params = {c.name: row.get(c.name) for c in table.columns if c.name not in ("id", *HASH_COLUMNS)}
        params.update(chain=chain, start=f"{GENESIS}|1|", body=content(table, row, skip))
        new_id, row["chain_seq"], row["chain_hash"] = conn.execute(statement, params).one()
        return int(new_id)
    seal_rows(conn, table_name, [row])
    key = conn.execute(statement, row).inserted_primary_key
    assert key is not None  # an insert of one row always has its key
    return int(key[0])
