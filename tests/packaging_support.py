"""A clean copy of the project tree and its wheel, as a new user or a package index gets them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info", "__pycache__", ".*_cache", "dist")


def clean_copy(dest: Path) -> Path:
    """Copy the project's own files to ``dest`` (a build/ folder left in the checkout would hide omissions)."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """Build the project's wheel from ``source`` into ``out`` and return it."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    subprocess.run([*command, str(source)], check=True, capture_output=True)
    (wheel,) = out.glob("*.whl")
    return wheel
