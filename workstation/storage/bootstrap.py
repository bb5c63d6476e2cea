"""Opening a database the way the program and the command line both need it."""

from __future__ import annotations

from workstation.storage import migrate, refdata
from workstation.storage.db import Database, make_engine, resolve_db_url


def open_database(url: str | None = None, *, upgrade: bool = True, sync: bool = True) -> Database:
    """Resolve the URL, bring the schema up to date, and load changed reference data.

    Raises:
        migrate.SchemaTooNewError: the database belongs to a newer version of the program.
    """
    resolved = resolve_db_url(url)
    engine = make_engine(resolved)
    if upgrade:
        migrate.upgrade(engine)
    db = Database(resolved, engine)
    if sync:
        with db.write() as s:
            refdata.sync(s)
    return db
