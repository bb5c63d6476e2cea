"""The look: a calm, dense style sheet with clear state colours (always paired with text or icons)."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

STYLE = """
QMainWindow, QDialog { background: #f6f7f9; }
QListWidget#queueList { font-size: 14px; border: none; background: #eceff3; }
QListWidget#queueList::item { padding: 8px 6px; }
QListWidget#queueList::item:selected { background: #1f5fa8; color: white; }
QTableView#queueTable { background: white; alternate-background-color: #f7f9fc; gridline-color: #e3e6ea;
    selection-background-color: #cfe3ff; selection-color: black; font-size: 13px; }
QLineEdit { padding: 5px; font-size: 14px; }
QLabel#countdown { font-size: 16px; padding: 6px; border-radius: 4px; }
QLabel#countdown[state="running"] { background: #e8f5e9; color: #1b5e20; }
QLabel#countdown[state="overdue"] { background: #ffebee; color: #b71c1c; font-weight: bold; }
QLabel#demoBanner { background: #ff6f00; color: white; font-weight: bold; font-size: 15px; padding: 4px; }
QLabel#message[error="true"] { color: #b71c1c; font-weight: bold; }
QLabel#auditMark { padding: 0 6px; color: #1b5e20; }
QLabel#auditMark[error="true"] { background: #b71c1c; color: white; font-weight: bold; }
QLabel#formError { color: #b71c1c; }
QLabel#connection[online="false"] { color: #b71c1c; font-weight: bold; }
QLabel#intake { padding: 0 6px; }
QLabel#intake[state="ok"] { color: #1b5e20; }
QLabel#intake[state="warn"] { color: #8a5a00; font-weight: bold; }
QLabel#intake[state="down"] { color: #b71c1c; font-weight: bold; }
QLabel#intake[state="off"] { color: #6b7280; }
QTableView#intakeTable { background: white; alternate-background-color: #f7f9fc; gridline-color: #e3e6ea;
    selection-background-color: #cfe3ff; selection-color: black; font-size: 13px; }
QLabel#keyHint { color: #4b5563; }
QLabel#dialogHeading { font-size: 15px; font-weight: bold; }
QPlainTextEdit#payload { background: white; font-family: monospace; font-size: 13px; }
QDialog#picker QListView { font-size: 14px; }
QDialog#picker QListView::item { padding: 4px; }
QDialog#picker QListView::item:selected { background: #1f5fa8; color: white; }
QLabel#photosState { padding: 0 6px; }
QLabel#photosState[state="warn"] { color: #8a5a00; }
QLabel#photosState[state="down"] { color: #b71c1c; font-weight: bold; }
QLabel#photoSideTitle { color: #4b5563; font-weight: bold; }
QLabel#photoThumb { background: #e5e7eb; border: 1px solid #cbd5e1; }
QLabel#photoThumb[state="failed"] { background: #ffebee; color: #b71c1c; border: 2px solid #c62828; font-weight: bold; }
QLabel#photoThumb[state="pending"] { background: #fff8e1; color: #8a5a00; border: 1px dashed #b7791f; }
QLabel#photoNone, QLabel#photoMore, QLabel#photoHint { color: #6b7280; }
QDialog#photoViewer QLabel#photoImage { background: #1f2933; color: #ffcdd2; font-size: 16px; }
QDialog#photoViewer QLabel#photoCaption { font-size: 14px; }
"""


def apply_style(app: QApplication) -> None:
    """Apply the style sheet and a CJK-friendly font."""
    font = QFont()
    font.setFamilies(["Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", "sans-serif"])
    font.setPointSize(10)
    app.setFont(font)
    app.setStyleSheet(STYLE)
