"""The suggestion engine, measured: categories, calibration, places, duplicates, speed.

    python bench/assist.py [--skip-250k] [--speed | --history [--set assist_dev5.tsv]]

Prints one table:

- category top-1 / top-3 on the hand-written held-out set (``tests/data/assist_heldout.tsv``, never
  trained on), for the cold-start model and after learning from 10,000 and 100,000 filed cases of the
  demo world (reports written by ``workstation.demo.texts`` and filed under their answer);
- calibration on the held-out set: expected calibration error of the first suggestion's score (cold
  and learnt);
- training time for the cold start and for 10,000 / 100,000 / 250,000 past cases;
- time per suggestion: the model alone, and ``suggest_categories`` on a database (model, catalogue
  and history of similar filings);
- the gazetteer's grid accuracy on the held-out addresses (``tests/data/assist_addresses.tsv``);
- duplicates: recall and precision of the first merge candidate on every shipped scenario's answer
  key (reports played in order, the operator filing, merging and rejecting as the key says) and on
  the hand-labelled pairs of ``tests/data/assist_duplicates.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timedelta

from workstation.assist import model as category_model
from workstation.assist.categories import suggest_categories
from workstation.assist.duplicates import merge_candidates
from workstation.assist.places import locate
from workstation.demo.reference import Reference
from workstation.demo.scenarios import list_scenarios
from workstation.demo.texts import generate
from workstation.services import lifecycle as lc
from workstation.services.actors import Actor
from workstation.services.reports import add_report
from workstation.storage.bootstrap import open_database
from workstation.storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
OPERATOR = Actor("bench", "operator")


def heldout(name: str = "assist_heldout.tsv") -> list[tuple[str, str]]:
    """(code, text) of the held-out category set (or of a development set)."""
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line[:1].isdigit():
            code, text = line.split("\t")
            rows.append((code, text))
    return rows


def accuracy(model: category_model.CategoryModel, rows: list[tuple[str, str]]) -> tuple[float, float, float, float]:
    """Top-1, top-3, the expected calibration error (10 bins) and the mean score of the first suggestion."""
    top1 = top3 = 0
    firsts = []
    for code, text in rows:
        ranked = model.ranked(text, 3)
        codes = [c for c, _p in ranked]
        top1 += codes[0] == code
        top3 += code in codes
        firsts.append((ranked[0][1], codes[0] == code))
    ece = 0.0
    for b in range(10):
        inside = [(p, ok) for p, ok in firsts if b / 10 <= p < (b + 1) / 10 or (b == 9 and p == 1.0)]
        if inside:
            conf = statistics.fmean(p for p, _ok in inside)
            acc = statistics.fmean(1.0 if ok else 0.0 for _p, ok in inside)
            ece += len(inside) / len(firsts) * abs(conf - acc)
    return top1 / len(rows), top3 / len(rows), ece, statistics.fmean(p for p, _ok in firsts)


def calibration(ece: float, mean: float) -> str:
    """The calibration error with the first suggestion's mean score (below top-1: under-confident)."""
    return f"{ece:.3f} (mean score {mean:.2f})"


def demo_history(db: Database, count: int) -> list[tuple[str, str]]:
    """(text, category) of ``count`` demo-world reports, each filed under its answer."""
    reports = generate(Reference.from_db(db), 20260604, count)
    return [(r.text, r.answer.category) for r in reports if r.answer.category]


def model_ms(model: category_model.CategoryModel, rows: list[tuple[str, str]]) -> tuple[float, float]:
    """Milliseconds per text, wall and CPU, of the model alone."""
    texts = [text for _c, text in rows]
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        model.ranked(text, 3)
    return (time.perf_counter() - wall) / len(texts) * 1000, (time.process_time() - cpu) / len(texts) * 1000


def per_suggestion_ms(
    model: category_model.CategoryModel, db: Database, rows: list[tuple[str, str]]
) -> tuple[float, float, float, float]:
    """Milliseconds per text, wall and CPU: the model alone, and ``suggest_categories`` on a database."""
    texts = [text for _c, text in rows]
    alone = model_ms(model, rows)
    suggest_categories(db, texts[0])  # load the history index and the model once
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        suggest_categories(db, text)
    full = ((time.perf_counter() - wall) / len(texts) * 1000, (time.process_time() - cpu) / len(texts) * 1000)
    return alone[0], alone[1], full[0], full[1]


def places() -> tuple[int, int]:
    ok = total = 0
    for line in (DATA / "assist_addresses.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        text, grid = line.split("\t")
        found = locate(text)
        total += 1
        ok += found is not None and found.grid_name == grid
    return ok, total


def _first_earlier(db: Database, case_id: int) -> int | None:
    earlier = [c for c in merge_candidates(db, case_id) if c.case_id < case_id]
    return earlier[0].case_id if earlier else None


def duplicates_scenarios(db: Database) -> tuple[int, int, int]:
    """(true positives, offered, duplicates) of the first merge candidate over every scenario."""
    hit = offered = wanted = 0
    start = datetime.fromisoformat("2026-07-01T08:00:00+08:00")
    for k, scenario in enumerate(list_scenarios()):
        base = start + timedelta(days=30 * k)
        ids: dict[str, int] = {}
        for report in scenario.reports:
            case_id = add_report(db, report.to_report(base + timedelta(seconds=report.offset))).case_id
            ids[report.key] = case_id
            first = _first_earlier(db, case_id)
            target = ids.get(report.answer.merge) if report.answer.merge else None
            wanted += target is not None
            offered += first is not None
            hit += first is not None and first == target
            if report.answer.merge and target is not None:
                lc.merge(db, OPERATOR, case_id, target)
            elif report.answer.category:
                lc.file(db, OPERATOR, case_id, report.answer.category)
            elif report.answer.reject:
                lc.reject(db, OPERATOR, case_id, "bench: " + report.answer.reject)
    return hit, offered, wanted


def duplicates_labelled(db: Database) -> tuple[int, int, int]:
    pairs = json.loads((DATA / "assist_duplicates.json").read_text(encoding="utf-8"))["pairs"]
    hit = offered = wanted = 0
    start = datetime.fromisoformat("2024-01-01T08:00:00+08:00")  # every pair in the past, before the scenarios
    for k, pair in enumerate(pairs):
        at = start + timedelta(days=30 * k)
        a = add_report(db, {"channel": "PDA", **pair["a"], "received_at": at.isoformat()}).case_id
        later = at + timedelta(minutes=pair["minutes"])
        b = add_report(db, {"channel": "12345", **pair["b"], "received_at": later.isoformat()}).case_id
        first = _first_earlier(db, b)
        wanted += pair["duplicate"]
        offered += first is not None
        hit += pair["duplicate"] and first == a
    return hit, offered, wanted


def pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def row(name: str, value: str, target: str = "") -> None:
    """Print one row of the table at once (a long run keeps what it measured)."""
    print(f"| {name} | {value} | {target} |", flush=True)


def speed(model: category_model.CategoryModel, db: Database, rows: list[tuple[str, str]]) -> None:
    """The two rows of time per suggestion."""
    wall, cpu, full_wall, full_cpu = per_suggestion_ms(model, db, rows)
    row("time per suggestion, model alone (wall / CPU)", f"{wall:.1f} / {cpu:.1f} ms", "≤ 20 ms")
    row(
        "time per suggestion, suggest_categories on a database (wall / CPU)",
        f"{full_wall:.1f} / {full_cpu:.1f} ms",
        "≤ 20 ms",
    )


def timed_train(history: list[tuple[str, str]]) -> tuple[category_model.CategoryModel, float]:
    """Train; the model (with its wall-clock seconds) and the process CPU seconds."""
    cpu = time.process_time()
    trained = category_model.train(history)
    return trained, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-250k", action="store_true", help="do not time training on 250,000 cases")
    parser.add_argument("--speed", action="store_true", help="only the time per suggestion (cached cold model)")
    parser.add_argument("--history", action="store_true", help="only learning from the demo world's filed cases")
    parser.add_argument(
        "--set", default="assist_heldout.tsv", help="with --history: measure on this set of tests/data instead"
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-assist-")
    db = open_database(f"sqlite:///{folder}/assist.db")
    rows = heldout(args.set)
    print("| measure | value | target |")
    print("|---|---|---|")
    if args.speed:
        speed(category_model.cold_model(), db, rows)
        return
    if args.history:
        t1, t3, ece, mean = accuracy(category_model.cold_model(), rows)
        row(f"categories, {args.set} {len(rows)} texts, cold start: top-1 / top-3", f"{pct(t1)} / {pct(t3)}")
        row("calibration error of the first suggestion (cold)", calibration(ece, mean))
        learning_rows(db, rows, args.skip_250k)
        return
    ok, total = places()
    row(f"gazetteer grid accuracy, {total} held-out addresses", pct(ok / total))
    cold, cpu = timed_train([])
    t1, t3, ece, mean = accuracy(cold, rows)
    row(f"categories, held-out {len(rows)} texts, cold start: top-1 / top-3", f"{pct(t1)} / {pct(t3)}", "≥ 85% / ≥ 97%")
    row("calibration error of the first suggestion (cold, held-out)", calibration(ece, mean))
    row("training time, cold start (wall / CPU)", f"{cold.seconds:.1f} s / {cpu:.1f} s")
    category_model._cold = cold
    speed(cold, db, rows)
    hit, offered, wanted = duplicates_scenarios(db)
    row(
        "duplicates, all scenario answer keys: recall / precision",
        f"{pct(hit / wanted)} / {pct(hit / max(offered, 1))}",
    )
    hit, offered, wanted = duplicates_labelled(db)
    row("duplicates, labelled pairs: recall / precision", f"{pct(hit / wanted)} / {pct(hit / max(offered, 1))}")
    learning_rows(db, rows, args.skip_250k)


def learning_rows(db: Database, rows: list[tuple[str, str]], skip_250k: bool) -> None:
    """Accuracy after learning from 10,000 and 100,000 filed demo cases; training times."""
    biggest = 100_000 if skip_250k else 250_000
    history = demo_history(db, biggest)
    for n in (10_000, 100_000):
        learnt, cpu = timed_train(history[: int(n * len(history) / biggest)])
        t1, t3, ece, mean = accuracy(learnt, rows)
        row(f"after {n:,} filed demo cases: top-1 / top-3", f"{pct(t1)} / {pct(t3)}", "≥ 85% / ≥ 97%")
        row(f"calibration error of the first suggestion after {n:,} cases", calibration(ece, mean))
        row(f"training time, {n:,} past cases (wall / CPU)", f"{learnt.seconds:.1f} s / {cpu:.1f} s", "< 60 s")
        if n == 10_000:
            wall, cpu = model_ms(learnt, rows)
            row("time per suggestion, learnt model with the cold (wall / CPU)", f"{wall:.1f} / {cpu:.1f} ms", "≤ 20 ms")
    if not skip_250k:
        learnt, cpu = timed_train(history)
        row("training time, 250,000 past cases (wall / CPU)", f"{learnt.seconds:.1f} s / {cpu:.1f} s", "< 60 s")


if __name__ == "__main__":
    main()
