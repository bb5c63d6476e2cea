"""A GeoReport server running in a thread of the test, on a free port, over the test's database."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workstation.serve.config import ServeSettings
from workstation.serve.run import Server
from workstation.storage.db import Database


@contextmanager
def running(db: Database, **settings: Any) -> Iterator[tuple[Server, str]]:
    """Serve ``db`` on 127.0.0.1 and a free port until the block ends; yields the server and its base URL."""
    config = dataclasses.replace(ServeSettings(port=0, threads=4, cache_s=0), **settings)
    server = Server(db, config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive(), "the server did not stop"
