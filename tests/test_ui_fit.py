"""The queue fits the common office screens: every column whole, the report text elided, status marks as icons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from tests.key_harness import DEMO_WORLD, key_demo_cache  # noqa: F401  (the demo's data)
from workstation import clock
from workstation.commands.keymap import Keymap
from workstation.demo import launch
from workstation.i18n import set_language
from workstation.ui.main_window import MainWindow
from workstation.ui.queue_model import COLUMNS, DEADLINE_COLUMN, TEXT_COLUMN

RARE_GLYPHS = "⏳⚠●⌛⏰"


@pytest.fixture
def demo_window(qtbot, tmp_path, key_demo_cache):  # noqa: F811
    session = launch.open_session(cache=key_demo_cache, **DEMO_WORLD)
    settings = QSettings(str(tmp_path / "seat.ini"), QSettings.Format.IniFormat)
    window = MainWindow(session.db, session.actor, Keymap.load(None), settings, seat="fit", demo=True)
    qtbot.addWidget(window)
    yield window
    window.close()
    session.close()
    clock.set_source(None)


@pytest.fixture
def chinese():
    set_language("zh_CN")
    yield
    set_language("en")


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_column_but_the_text_shows_whole_without_a_horizontal_scroll_bar(qtbot, request, size, lang):
    if lang == "zh_CN":
        request.getfixturevalue("chinese")
    window = request.getfixturevalue("demo_window")
    window.show_queue("all")
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    table, header = window.table, window.table.horizontalHeader()
    model = window.model
    assert model.rowCount() > 10
    shown = range(table.rowAt(0), table.rowAt(table.viewport().height() - 1) + 1)
    assert any(model.index(r, DEADLINE_COLUMN).data(Qt.ItemDataRole.DecorationRole) for r in shown)  # marks shown
    for column in range(len(COLUMNS)):
        if column == TEXT_COLUMN:
            continue
        needed = max(table.sizeHintForColumn(column), header.sectionSizeHint(column))
        assert table.columnWidth(column) >= needed, (COLUMNS[column][0], table.columnWidth(column), needed)
        rect = table.visualRect(model.index(table.rowAt(0), column))
        assert rect.right() <= table.viewport().width(), COLUMNS[column][0]  # on screen, not scrolled off
    assert table.columnWidth(TEXT_COLUMN) >= 120  # the report still reads
    assert not table.horizontalScrollBar().isVisible()
    assert table.textElideMode() == Qt.TextElideMode.ElideRight


def test_urgency_and_deadline_marks_are_icons_not_rare_glyphs(demo_window):
    model = demo_window.model
    demo_window.show_queue("all")
    marked = 0
    for row in range(min(model.rowCount(), 60)):
        for column in (0, DEADLINE_COLUMN):
            index = model.index(row, column)
            text = index.data()
            assert not any(g in text for g in RARE_GLYPHS), text
            icon = index.data(Qt.ItemDataRole.DecorationRole)
            if icon is not None:
                assert not icon.isNull() and not icon.pixmap(16, 16).isNull()
                marked += 1
    assert marked  # the demo world has urgent, overdue or near-deadline cases
