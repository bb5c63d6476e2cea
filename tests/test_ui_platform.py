"""The Qt binding the window runs on keeps Python's reference counts right.

PySide6 6.12.0 on Python 3.11 drops one reference to ``None`` on every call of a method that returns
nothing; after some tens of thousands of calls (a few hours of a live window ticking every second)
the interpreter aborts with "deallocating None". pyproject.toml excludes that release; this test
fails on any installed binding with the same fault.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer


def test_void_calls_keep_the_reference_count_of_none(qapp):
    obj, timer = QObject(), QTimer()
    before = sys.getrefcount(None)
    for _ in range(5000):
        obj.setObjectName("x")
        timer.start(1000)
    timer.stop()
    assert sys.getrefcount(None) >= before - 100
