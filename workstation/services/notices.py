"""Change notices inside one process: services announce what they changed, views listen.

Changes made by other seats reach a view through the database change feed instead
(``services.feed``); both end in the same listeners.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Listener = Callable[[str, Sequence[int]], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener(kind, ids)`` after each change; returns the function that unsubscribes."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def notify(kind: str, ids: Sequence[int]) -> None:
    """Tell every listener that these rows of this kind changed (after the commit)."""
    for listener in list(_listeners):
        listener(kind, ids)
