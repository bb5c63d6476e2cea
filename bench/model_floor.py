"""The floor of any Python item model: how long PySide6 takes just to ask a Python model for cells.

    python bench/model_floor.py

Shows 40 rows × 9 columns (one screen of the queue) read from: a Python QAbstractTableModel whose
data() returns a constant (no database at all), and Qt's C++ QSqlQueryModel over an in-memory SQLite
table (query included). It explains why bench/queue.py's first page cannot be faster than
QSqlQueryModel while the model is written in Python: the calls alone cost more than its whole page.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtSql import QSqlDatabase, QSqlQuery, QSqlQueryModel
from PySide6.QtWidgets import QApplication

ROWS, COLUMNS, REPEAT = 40, 9, 30


class Constant(QAbstractTableModel):
    """A model with a million rows whose every cell is the same string."""

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 1_000_000

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return "x" if role == Qt.ItemDataRole.DisplayRole else None


def read(model: QAbstractTableModel) -> None:
    for r in range(ROWS):
        for c in range(COLUMNS):
            model.index(r, c).data()


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    app = QApplication([])
    db = QSqlDatabase.addDatabase("QSQLITE", "floor")
    db.setDatabaseName(":memory:")
    db.open()
    q = QSqlQuery(db)
    q.exec(f"CREATE TABLE t ({', '.join(f'c{i} TEXT' for i in range(COLUMNS))})")
    db.transaction()
    for n in range(5000):
        q.exec(f"INSERT INTO t VALUES ({', '.join(repr(f'v{n}') for _ in range(COLUMNS))})")
    db.commit()
    constant = Constant()
    sql = QSqlQueryModel()

    def sql_page() -> None:
        sql.setQuery(QSqlQuery("SELECT * FROM t ORDER BY rowid DESC", db))
        read(sql)

    python_ms = timed(lambda: read(constant))
    sql_ms = timed(sql_page)
    print("| one screen (40 rows × 9 columns) | ms, median |")
    print("|---|---|")
    print(f"| Python model returning a constant (no database) | {python_ms:.2f} |")
    print(f"| QSqlQueryModel: query + the same cells | {sql_ms:.2f} |")
    print(f"Python calls alone ÷ QSqlQueryModel's whole page: {python_ms / sql_ms:.1f}×")
    db.close()
    app.quit()


if __name__ == "__main__":
    main()
