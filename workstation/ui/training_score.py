"""The score of a training run, as the trainee and the trainer read it, and its export to JSON or CSV.

The figures come from ``demo.scoring.score_run``: time from arrival to dispatch (median and 90th
percentile), category and unit accuracy, rejects and merges, deadlines missed, keystrokes per case;
below them, one line per report with what was expected and what the trainee did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation import formatting
from workstation.domain.lifecycle import N_
from workstation.i18n import tr
from workstation.services.export_cells import SafeCsvWriter
from workstation.ui.training_inject import REJECT_LABELS

OUTCOMES = {
    "rejected": N_("rejected"),
    "merged": N_("merged"),
    "dispatched": N_("dispatched"),
    "filed": N_("filed, not dispatched"),
    "open": N_("not handled"),
}


def duration_text(seconds: float | None) -> str:
    """Seconds as ``1 min 35 s`` / ``1分35秒`` (``—`` when there is nothing to show)."""
    return formatting.duration(seconds)


def _share(part: dict[str, Any]) -> str:
    if not part["expected"]:
        return tr("none expected")
    accuracy = part.get("accuracy")
    percent = f" ({round(accuracy * 100)} %)" if accuracy is not None else ""
    return tr("{correct} of {expected} right", correct=part["correct"], expected=part["expected"]) + percent


def summary_rows(score: dict[str, Any]) -> list[tuple[str, str]]:
    """The score's headline figures as (measure, value), in the language in force."""
    d, f, k = score["dispatch_seconds"], score["first_action_seconds"], score["keystrokes"]
    r, m = score["reject"], score["merge"]
    return [
        (
            tr("Reports"),
            tr(
                "{n} · acted on {acted} · handled right {correct}",
                n=score["items"],
                acted=score["acted_on"],
                correct=score["correct"],
            ),
        ),
        (
            tr("Arrival to dispatch"),
            tr(
                "median {median} · 90th percentile {p90} · {n} dispatched",
                median=duration_text(d["median"]),
                p90=duration_text(d["p90"]),
                n=d["count"],
            ),
        ),
        (
            tr("Arrival to first action"),
            tr(
                "median {median} · 90th percentile {p90}",
                median=duration_text(f["median"]),
                p90=duration_text(f["p90"]),
            ),
        ),
        (tr("Category"), _share(score["category"])),
        (tr("Unit"), _share(score["unit"])),
        (
            tr("Rejects"),
            tr(
                "{correct} of {expected} right · {wrong} rejected wrongly",
                correct=r["correct"],
                expected=r["expected"],
                wrong=r["wrong"],
            ),
        ),
        (tr("Merges"), tr("{correct} of {expected} right", correct=m["correct"], expected=m["expected"])),
        (tr("Deadlines missed"), str(score["deadlines_missed"])),
        (
            tr("Keystrokes per case"),
            tr(
                "{per_case} ({total} in all)",
                per_case=k["per_case"] if k["per_case"] is not None else "—",
                total=k["total"],
            ),
        ),
    ]


def expected_text(expected: dict[str, Any]) -> str:
    """An answer as a short line: ``file 0707 → CG``, ``reject (vague)``, ``merge into r1``."""
    if expected.get("reject"):
        why = expected["reject"]
        return tr("reject ({why})", why=tr(REJECT_LABELS[why]) if why in REJECT_LABELS else why)
    if expected.get("merge"):
        return tr("merge into {key}", key=expected["merge"])
    unit = f" → {expected['unit']}" if expected.get("unit") else ""
    return tr("file {code}", code=expected.get("category") or "?") + unit


ITEM_COLUMNS = (
    "key",
    "expected",
    "outcome",
    "category",
    "unit",
    "merged_into",
    "correct",
    "dispatch_seconds",
    "keystrokes",
)


def item_cells(item: dict[str, Any]) -> list[str]:
    """One report's line of the score table."""
    return [
        item["key"],
        expected_text(item["expected"]),
        tr(OUTCOMES.get(item["outcome"], item["outcome"])),
        item["category"] or "",
        item["unit"] or "",
        item["merged_into"] or "",
        "✓" if item["correct"] else "✗",
        duration_text(item["dispatch_seconds"]),
        str(item["keystrokes"]),
    ]


def export_score(score: dict[str, Any], path: str | Path) -> Path:
    """Write the score to ``path``: the whole score as JSON (``.json``), else CSV (figures, then reports)."""
    target = Path(path)
    if target.suffix.lower() == ".json":
        target.write_text(json.dumps(score, ensure_ascii=False, indent=1), encoding="utf-8")
        return target
    with target.open("w", encoding="utf-8-sig", newline="") as out:
        writer = SafeCsvWriter(out)
        writer.writerow([tr("measure"), tr("value")])
        for measure, value in summary_rows(score):
            writer.writerow([measure, value])
        writer.writerow([])
        writer.writerow(ITEM_COLUMNS)
        for item in score["per_item"]:
            writer.writerow(
                [
                    item["key"],
                    json.dumps(item["expected"], ensure_ascii=False),
                    item["outcome"],
                    item["category"] or "",
                    item["unit"] or "",
                    item["merged_into"] or "",
                    int(bool(item["correct"])),
                    "" if item["dispatch_seconds"] is None else item["dispatch_seconds"],
                    item["keystrokes"],
                ]
            )
    return target


class ScoreDialog(QDialog):
    """The score of a run: headline figures, one line per report, and Save as JSON / CSV (Alt+J, Alt+C)."""

    def __init__(self, score: dict[str, Any], title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoreDialog")
        self.setWindowTitle(tr("Score of this run"))
        self.resize(820, 620)
        self.score = score
        self.saved: list[Path] = []
        heading = QLabel(title)
        heading.setObjectName("scoreTitle")
        heading.setWordWrap(True)
        self.summary = QTableWidget(0, 2)
        self.summary.setObjectName("scoreSummary")
        self.items = QTableWidget(0, len(ITEM_COLUMNS))
        self.items.setObjectName("scoreItems")
        self.items.setHorizontalHeaderLabels(
            [
                tr("Report"),
                tr("Expected"),
                tr("Outcome"),
                tr("Category"),
                tr("Unit"),
                tr("Merged into"),
                tr("Right"),
                tr("To dispatch"),
                tr("Keys"),
            ]
        )
        for table in (self.summary, self.items):
            table.verticalHeader().setVisible(False)
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            table.horizontalHeader().setStretchLastSection(True)
        self.summary.horizontalHeader().setVisible(False)
        self._fill()
        self.json_button = QPushButton(tr("Save as &JSON…"))
        self.csv_button = QPushButton(tr("Save as &CSV…"))
        close = QPushButton(tr("Close (Esc)"))
        self.json_button.clicked.connect(lambda: self.save("json"))
        self.csv_button.clicked.connect(lambda: self.save("csv"))
        close.clicked.connect(self.accept)
        QShortcut(QKeySequence("Ctrl+S"), self, lambda: self.save("json"))
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(tr("Alt+J or Ctrl+S saves JSON · Alt+C saves CSV")))
        buttons.addStretch(1)
        for button in (self.json_button, self.csv_button, close):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel(tr("Report by report")))
        layout.addWidget(self.items, 1)
        layout.addLayout(buttons)
        self.summary.setFocus()

    def _fill(self) -> None:
        rows = summary_rows(self.score)
        self.summary.setRowCount(len(rows))
        for row, (measure, value) in enumerate(rows):
            self.summary.setItem(row, 0, QTableWidgetItem(measure))
            self.summary.setItem(row, 1, QTableWidgetItem(value))
        self.summary.resizeColumnToContents(0)
        self.summary.setFixedHeight(self.summary.verticalHeader().length() + 6)
        items = self.score["per_item"]
        self.items.setRowCount(len(items))
        for row, item in enumerate(items):
            for column, text in enumerate(item_cells(item)):
                cell = QTableWidgetItem(text)
                if column == 6:
                    cell.setForeground(Qt.GlobalColor.darkGreen if item["correct"] else Qt.GlobalColor.red)
                self.items.setItem(row, column, cell)
        self.items.resizeColumnsToContents()
        self.items.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)

    def summary_text(self) -> str:
        """The headline figures as plain text (what the dialog shows)."""
        return "\n".join(f"{m}: {v}" for m, v in summary_rows(self.score))

    def save(self, kind: str, path: str | Path | None = None) -> Path | None:
        """Save the score as ``json`` or ``csv``; asks where unless ``path`` is given."""
        if path is None:
            name = f"score-run-{self.score['run']['id']}.{kind}"
            path, _ = QFileDialog.getSaveFileName(self, tr("Save the score"), name, f"{kind.upper()} (*.{kind})")
            if not path:
                return None
        target = Path(path)
        if target.suffix.lower() != f".{kind}":
            target = target.with_name(target.name + f".{kind}")
        export_score(self.score, target)
        self.saved.append(target)
        self.setWindowTitle(tr("Score of this run — saved to {path}", path=target))
        return target
