"""The PostgreSQL roles a centre should use: an owner that migrates, and seats that may not rewrite history.

The owner role owns the database, its schema and every table: it runs the program's migrations
(the first start after an upgrade, or ``workstation --db URL-as-owner``) and ``audit anchor``.
The seat role is what every seat's ``--db`` URL names. It may read, insert, update and delete what
the seats need, but it owns nothing, so it cannot ``ALTER``/``DROP`` a table or ``DISABLE TRIGGER``;
it is granted no ``TRUNCATE`` anywhere; and on the append-only tables it may only read and insert
(no ``UPDATE``/``DELETE`` privilege, on top of the triggers that refuse them to everybody).
"""

from __future__ import annotations

import re

from workstation.models.chain import CHAINED

APPEND_ONLY = tuple(CHAINED)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain PostgreSQL name: {name!r}")
    return name


def setup_sql(database: str, owner: str, seat: str) -> str:
    """Part 1, run once by a superuser: the two roles, and the database and its schema given to the owner."""
    db, own, st = _ident(database), _ident(owner), _ident(seat)
    return f"""\
CREATE ROLE {own} LOGIN;
CREATE ROLE {st} LOGIN NOINHERIT;
ALTER DATABASE {db} OWNER TO {own};
REVOKE ALL ON DATABASE {db} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {st};
\\connect {db}
ALTER SCHEMA public OWNER TO {own};
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {st};
"""


def grants_sql(owner: str, seat: str) -> str:
    """Part 2, run by the owner after the first start and after every upgrade (it is idempotent)."""
    own, st = _ident(owner), _ident(seat)
    history = ", ".join(APPEND_ONLY)
    return f"""\
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {st};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {st};
REVOKE UPDATE, DELETE ON {history} FROM {st};
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {st};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {st};
ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {st};
ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {st};
"""


def roles_sql(database: str, owner: str, seat: str, part: str = "all") -> str:
    """The script (``part``: ``setup``, ``grants`` or ``all``), with what each part is for and who runs it."""
    if part == "setup":
        return setup_sql(database, owner, seat)
    if part == "grants":
        return grants_sql(owner, seat)
    return f"""\
-- Roles for grid-workstation on PostgreSQL (see README, "Database roles").
-- Part 1: as a superuser (psql -U postgres -f thisfile), once. Then set passwords:
--   \\password {owner}    and    \\password {seat}
{setup_sql(database, owner, seat)}
-- Start the program once with the owner's URL so it creates the tables (migrations), e.g.
--   workstation --db postgresql://{owner}@HOST/{database} user list
-- Part 2: as the owner, then and after every upgrade
--   (workstation db roles --print-sql --part grants | psql -U {owner} {database}):
-- {grants_sql(owner, seat).rstrip().replace(chr(10), chr(10) + "-- ")}
-- Every seat's --db names the seat role: postgresql://{seat}@HOST/{database}
"""
