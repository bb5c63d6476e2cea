"""The one rule every export follows: no cell starts a formula."""

from __future__ import annotations

import io

from workstation.services.export_cells import SafeCsvWriter, csv_cell, is_risky
from workstation.ui.training_score import export_score


def test_what_counts_as_a_formula():
    for text in ("=1+1", "+1 333", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-2d14h", '=HYPERLINK("x")'):
        assert is_risky(text) and csv_cell(text) == "'" + text
    for value in ("-", "-3", "+8.5", "12", "普通文字", " =1", "", None, 5, -3):
        assert not is_risky(value) and csv_cell(value) == value


def test_the_csv_writer_neutralises_every_cell():
    out = io.StringIO()
    SafeCsvWriter(out).writerow(["=1+1", "ok", 3])
    assert out.getvalue() == "'=1+1,ok,3\r\n"


def test_the_training_score_csv_goes_through_the_same_rule(tmp_path, monkeypatch):
    import workstation.ui.training_score as ts

    monkeypatch.setattr(ts, "summary_rows", lambda score: [("=measure", "@1")])
    item = {"key": "=k", "expected": {}, "outcome": "+o", "category": "-c", "unit": "", "merged_into": ""}
    item |= {"correct": True, "dispatch_seconds": None, "keystrokes": 3}
    path = export_score({"per_item": [item]}, tmp_path / "s.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert "'=measure,'@1" in text and "'=k," in text and ",'+o,'-c," in text
