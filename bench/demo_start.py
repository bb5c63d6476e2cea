"""Time to first window of ``python main.py --demo``: on the very first run (no template) and with the template cached.

One command::

    python bench/demo_start.py [--cache DIR] [--runs N]

Each measurement runs the real program in a child process (``QT_QPA_PLATFORM=offscreen``, its cache
directory pointed at DIR through ``XDG_CACHE_HOME``, its settings kept apart) and times, from the
moment the child is started, when the main window is shown, when the first reports are in its
queue, and (first run) when the full world's template has been built in the background. The child
leaves once it has printed its times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 3.0

CHILD = r"""
import json, sys, time
T0 = float(sys.argv[1])
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from workstation.ui import main_window

shown = {}
original = main_window.MainWindow.show

def show(self):
    original(self)
    QApplication.processEvents()
    shown["window"] = time.time() - T0
    shown["rows"] = self.model.rowCount()
    ext = next(e for e in self.extensions if e.scope == "demo")
    shown["opened_seconds"] = round(ext.session.opened_seconds, 3)
    shown["full_world"] = ext.session.on_full_world

    def wait_for_build():
        if "queue_live" not in shown and self.model.rowCount() > 0:
            shown["queue_live"] = time.time() - T0
            shown["rows"] = self.model.rowCount()
        if ext.building or not ext.session.full_ready or "queue_live" not in shown:
            return
        timer.stop()
        if "window" in shown and not shown["full_world"]:
            shown["template_built"] = time.time() - T0
        print("RESULT " + json.dumps(shown), flush=True)
        self.close()

    timer = QTimer(self)
    timer.timeout.connect(wait_for_build)
    timer.start(20)

main_window.MainWindow.show = show
from workstation.app import main
sys.exit(main(["--demo", "--lang", "en"]))
"""


def measure(cache: Path) -> dict[str, float]:
    config = cache / "config"  # the window's layout, saved on close, stays out of the user's settings
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(cache), XDG_CONFIG_HOME=str(config))
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(start)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"the child printed no result:\n{out.stdout}\n{out.stderr}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, help="cache directory to use (default: a new temporary one)")
    p.add_argument("--runs", type=int, default=3, help="cached runs to time (default 3)")
    args = p.parse_args()
    cache = args.cache or Path(tempfile.mkdtemp(prefix="demo-bench-"))
    try:
        first = measure(cache)
        cached = [measure(cache) for _ in range(args.runs)]
    finally:
        if args.cache is None:
            shutil.rmtree(cache, ignore_errors=True)
    print("| run | window shown (s) | reports in the queue (s) | database ready (s) | world | full world built (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = [("first run, no template", first)] + [(f"cached #{n + 1}", r) for n, r in enumerate(cached)]
    for name, r in rows:
        world = "full" if r["full_world"] else "small"
        built = f"{r['template_built']:.1f}" if "template_built" in r else "—"
        live = f"{r['queue_live']:.2f} ({r['rows']} rows)"
        print(f"| {name} | {r['window']:.2f} | {live} | {r['opened_seconds']:.2f} | {world} | {built} |")
    worst = max(r["queue_live"] for _, r in rows)
    verdict = "met" if worst <= TARGET else "MISSED"
    print(f"\ntarget: a live queue within {TARGET:.0f} s of the start — {verdict} (worst {worst:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
