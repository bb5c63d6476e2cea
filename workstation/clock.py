"""The program's one notion of "now": the real clock, or a simulated one that demo mode installs.

Services never call ``datetime.now`` themselves: they ask ``models.base.utcnow()``, which asks
:func:`now` here. The training simulation installs its simulated clock with :func:`set_source` (or
:func:`using`), so deadlines, histories and overdue flags all follow simulated time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

Source = Callable[[], datetime]


def real_now() -> datetime:
    """The real current instant, in UTC."""
    return datetime.now(UTC)


_source: Source = real_now


def now() -> datetime:
    """The current instant from the clock in force, timezone-aware, in UTC.

    Raises:
        ValueError: the installed clock returned a naive datetime.
    """
    value = _source()
    if value.tzinfo is None:
        raise ValueError("the installed clock returned a naive datetime")
    return value.astimezone(UTC)


def set_source(source: Source | None) -> Source:
    """Install a clock (``None``: the real one again); returns the clock that was in force."""
    global _source
    previous = _source
    _source = source or real_now
    return previous


@contextmanager
def using(source: Source) -> Iterator[None]:
    """Run a block with ``source`` as the clock, then put the previous clock back."""
    previous = set_source(source)
    try:
        yield
    finally:
        set_source(previous)
