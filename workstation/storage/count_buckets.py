"""The kept queue counts: which buckets a case counts in, and the triggers that keep them.

Every case counts once in a few buckets ``(status, dim, value)``:

- ``(status, "", "")``: the cases of a status (the queues new, returned, to verify, all);
- ``(status, dim, value)`` for the queue filters: channel, category, grid, community, street;
- ``("", "actor", last_actor)``: "my recent";
- ``("", "due_h", hour)`` and ``("", "due_m", minute)`` of the deadline of a running case (UTC,
  ``YYYY-MM-DD HH`` and ``YYYY-MM-DD HH:MI``): overdue is the sum of the past hours plus the past
  minutes of the current hour, exact to the minute.

Database triggers on ``cases`` keep them, on SQLite and PostgreSQL alike: every write path (the
guarded lifecycle update, a new report, the intake's and the demo's bulk inserts, a script's plain
SQL) changes the counts in its own transaction, and none can forget to. A trigger only appends
``+1``/``-1`` rows to ``case_count_deltas``; it never updates a shared row, so concurrent writers on
PostgreSQL never wait on each other for a counter. ``services.counts.compact`` folds the deltas into
``case_counts`` (one row per bucket) now and then.
"""

from __future__ import annotations

from workstation.domain.lifecycle import RUNNING

DIMS = {  # filter dimension -> cases column
    "channel": "channel",
    "category": "category_code",
    "grid": "grid_code",
    "community": "community_code",
    "street": "street_code",
}
_RUNNING_SQL = ", ".join(f"'{s}'" for s in sorted(s.value for s in RUNNING))


def _hour(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
    return f"substr({column}, 1, 13)"


def _minute(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
    return f"substr({column}, 1, 16)"


def _plain(ref: str) -> list[tuple[str, str, str]]:
    """(status, dim, value) SQL expressions of the buckets every case counts in."""
    out = [(f"{ref}status", "''", "''")]
    out += [(f"{ref}status", f"'{dim}'", f"coalesce({ref}{col}, '')") for dim, col in DIMS.items()]
    out.append(("''", "'actor'", f"coalesce({ref}last_actor, '')"))
    return out


def _due(dialect: str, ref: str) -> list[tuple[str, str, str]]:
    """The deadline buckets, for a running case with a deadline only."""
    column = f"{ref}deadline_at"
    return [("''", "'due_h'", _hour(dialect, column)), ("''", "'due_m'", _minute(dialect, column))]


def _running(ref: str) -> str:
    return f"{ref}status IN ({_RUNNING_SQL}) AND {ref}deadline_at IS NOT NULL"


def _insert(dialect: str, ref: str, sign: int) -> list[str]:
    values = ", ".join(f"({s}, {d}, {v}, {sign})" for s, d, v in _plain(ref))
    due = " UNION ALL ".join(f"SELECT {s}, {d}, {v}, {sign} WHERE {_running(ref)}" for s, d, v in _due(dialect, ref))
    head = "INSERT INTO case_count_deltas (status, dim, value, n) "
    return [head + f"VALUES {values}", head + due]


FOLD_LOCK = 0x1C0C0  # PostgreSQL advisory lock: one fold at a time
WATCHED = ["status", *DIMS.values(), "last_actor", "deadline_at"]


def trigger_sql(dialect: str) -> list[str]:
    """The statements that create the counting triggers (and, on PostgreSQL, the event notice)."""
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    if dialect == "sqlite":
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
        body_old = "; ".join(_insert(dialect, "OLD.", -1))
        body_new = "; ".join(_insert(dialect, "NEW.", 1))
        return [
            f"CREATE TRIGGER cases_count_insert AFTER INSERT ON cases BEGIN {body_new}; END",
            f"CREATE TRIGGER cases_count_delete AFTER DELETE ON cases BEGIN {body_old}; END",
            f"CREATE TRIGGER cases_count_update AFTER UPDATE OF {', '.join(WATCHED)} ON cases "
            f"WHEN {changed} BEGIN {body_old}; {body_new}; END",
        ]
    if dialect != "postgresql":
        return []
    body_old = "; ".join(_insert(dialect, "OLD.", -1))
    body_new = "; ".join(_insert(dialect, "NEW.", 1))
    return [
        # SECURITY DEFINER: the counts are written as the owner, so a seat role needs (and gets) only
        # SELECT on the count tables and cannot forge a count
        "CREATE FUNCTION cases_count_keep() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
        "SET search_path FROM CURRENT AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {body_old}; END IF; "
        f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {body_new}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER cases_count_insert_delete AFTER INSERT OR DELETE ON cases "
        "FOR EACH ROW EXECUTE FUNCTION cases_count_keep()",
        f"CREATE TRIGGER cases_count_update AFTER UPDATE OF {', '.join(WATCHED)} ON cases "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION cases_count_keep()",
        "CREATE FUNCTION case_counts_fold() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER "
        "SET search_path FROM CURRENT AS $$ DECLARE folded bigint; BEGIN "
        f"IF NOT pg_try_advisory_xact_lock({FOLD_LOCK}) THEN RETURN 0; END IF; "
        "WITH gone AS (DELETE FROM case_count_deltas RETURNING status, dim, value, n), "
        "kept AS (INSERT INTO case_counts (status, dim, value, n) "
        "SELECT status, dim, value, sum(n) FROM gone GROUP BY status, dim, value "
        "ON CONFLICT (dim, value, status) DO UPDATE SET n = case_counts.n + EXCLUDED.n RETURNING 1) "
        "SELECT count(*) INTO folded FROM gone; RETURN folded; END $$",
        # one notice per inserting statement, delivered at commit: seats listening wake up and read
        "CREATE FUNCTION case_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_notify('case_events', ''); RETURN NULL; END $$",
        "CREATE TRIGGER case_events_notify AFTER INSERT ON case_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION case_events_notify()",
    ]


def drop_sql(dialect: str) -> list[str]:
    """The statements that remove what :func:`trigger_sql` created."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS cases_count_{v}" for v in ("insert", "delete", "update")]
    if dialect != "postgresql":
        return []
    return [
        "DROP TRIGGER IF EXISTS case_events_notify ON case_events",
        "DROP FUNCTION IF EXISTS case_events_notify()",
        "DROP TRIGGER IF EXISTS cases_count_update ON cases",
        "DROP TRIGGER IF EXISTS cases_count_insert_delete ON cases",
        "DROP FUNCTION IF EXISTS cases_count_keep()",
        "DROP FUNCTION IF EXISTS case_counts_fold()",
    ]


def _group_by(*expressions: str) -> str:
    columns = [e for e in expressions if e != "''"]  # PostgreSQL refuses a constant in GROUP BY
    return f" GROUP BY {', '.join(columns)}" if columns else ""


def truth_sql(dialect: str) -> str:
    """One query giving the real count of every non-empty bucket, straight from ``cases``."""
    parts = [
        f"SELECT {s} AS status, {d} AS dim, {v} AS value, count(*) AS n FROM cases" + _group_by(s, v)
        for s, d, v in _plain("")
    ]
    parts += [
        f"SELECT {s} AS status, {d} AS dim, {v} AS value, count(*) AS n FROM cases WHERE {_running('')} GROUP BY {v}"
        for s, d, v in _due(dialect, "")
    ]
    return " UNION ALL ".join(parts)
