"""The station window's own style rules (on top of the program's style sheet): tables, hints, the page."""

from __future__ import annotations

STATION_STYLE = """
QTableView#worklistTable, QTableView#coverageTable { background: white; alternate-background-color: #f7f9fc;
    gridline-color: #e3e6ea; selection-background-color: #cfe3ff; selection-color: black; font-size: 13px; }
QTextBrowser#personBody { background: white; font-size: 13px; border: 1px solid #d9dde3; }
QLabel#hint { color: #4b5563; }
QLabel#dialogHeading { font-size: 15px; font-weight: bold; }
QLabel#community { font-weight: bold; padding: 0 8px; }
QLabel#user { padding: 0 4px; }
QDialog#visitDialog QCheckBox { padding: 2px 0; }
QPlainTextEdit#clearText { background: white; font-size: 15px; }
"""
