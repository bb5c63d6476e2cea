"""An installed copy (not only a checkout) carries everything the program reads at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_migrations_resources_and_every_module(tmp_path):
    source = tmp_path / "src"  # a clean copy: a build/ folder left in the checkout would hide omissions
    ignore = shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info", "__pycache__", ".*_cache", "dist")
    shutil.copytree(ROOT, source, ignore=ignore)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*command, str(source)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    versions = sorted(p.name for p in (ROOT / "workstation/storage/migrations/versions").glob("0*.py"))
    assert versions and all(f"workstation/storage/migrations/versions/{v}" in names for v in versions)
    assert "workstation/storage/migrations/env.py" in names
    assert "workstation/storage/migrations/script.py.mako" in names
    shipped = [p.relative_to(ROOT / "resources") for p in (ROOT / "resources").rglob("*.json")]
    assert shipped and all(f"workstation/resources/{p.as_posix()}" in names for p in shipped)
    modules = [p.relative_to(ROOT).as_posix() for p in (ROOT / "workstation").rglob("*.py")]
    missing = [m for m in modules if m not in names]
    assert not missing, missing
