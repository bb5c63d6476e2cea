"""The live thread's hot statements, run on the driver's connection (PostgreSQL).

Every change costs every seat the same three small statements (the new events, the kept counts,
where the changed cases now sort). Through SQLAlchemy's execution each costs more Python than the
statement itself: a run of the three took about 0.8 ms of the thread's CPU through a Connection and
0.3 ms on the driver's cursor (1,000,000 cases, this project's machine). Forty seats run them five
times a second while their GUI threads wait for the same two processors and for the GIL.

A statement marked ``execution_options(driver=True)`` (built once, at module level or cached) is
compiled once for the dialect here and run on the psycopg cursor; anything else (a re-read of the
rows in view, the feed's gap read) goes through the SQLAlchemy connection as before. A marked
statement must need no result processing beyond what psycopg does: its rows are compared and
counted, never shown (an aware datetime compares equal in any zone).
"""

from __future__ import annotations

from typing import Any

_COMPILED: dict[tuple[int, str], tuple[Any, Any]] = {}  # (id(statement), dialect) -> (statement, compiled)


def marked(statement: Any) -> Any:
    """The statement, marked to run on the driver's connection in the live thread."""
    return statement.execution_options(driver=True)


class DriverReads:
    """A read connection for the live thread: marked statements on the driver's cursor, the rest as usual.

    ``conn`` is the thread's SQLAlchemy connection (PostgreSQL, autocommit); it stays the owner of the
    driver's connection under it (a broken one is dropped through it).
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.raw = conn.connection.driver_connection

    def execute(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        """Run a statement: a marked one on the driver's cursor (rows as tuples), else on ``conn``."""
        if not statement.get_execution_options().get("driver"):
            return self.conn.execute(statement, params or {})
        expanded = _compiled(statement, self.dialect).construct_expanded_state(params or {})
        values = expanded.parameters
        if expanded.processors:
            values = {k: expanded.processors[k](v) if k in expanded.processors else v for k, v in values.items()}
        with self.raw.cursor() as cursor:
            return _Rows(cursor.execute(expanded.statement, values).fetchall())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)  # scalar(), scalars(), …: the SQLAlchemy connection's


class _Rows(list[Any]):
    """Fetched rows, answering ``.all()`` as a SQLAlchemy result does."""

    def all(self) -> list[Any]:
        return list(self)


def _compiled(statement: Any, dialect: Any) -> Any:
    key = (id(statement), dialect.name)
    found = _COMPILED.get(key)
    if found is None or found[0] is not statement:
        if len(_COMPILED) > 256:  # marked statements are built once: this only guards a misuse
            _COMPILED.clear()
        found = _COMPILED[key] = (statement, statement.compile(dialect=dialect))
    return found[1]
