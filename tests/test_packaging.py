"""An installed copy (not only a checkout) carries everything the program reads at run time."""

from __future__ import annotations

import zipfile

from tests.packaging_support import ROOT, build_wheel, clean_copy


def test_the_wheel_carries_migrations_resources_and_every_module(tmp_path):
    wheel = build_wheel(clean_copy(tmp_path / "src"), tmp_path)
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
