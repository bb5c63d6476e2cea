"""The README documents what the program really offers: its key table comes from the registry."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_key_table_is_the_registry_and_keymap():
    spec = importlib.util.spec_from_file_location("keys_table", ROOT / "scripts" / "keys_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = readme.split("<!-- keys:start -->")[1].split("<!-- keys:end -->")[0].strip()
    assert documented == module.table(), "run python scripts/keys_table.py and paste it into the README"


def test_every_command_line_area_is_documented():
    from workstation.cli import AREAS, build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    areas = next(a for a in parser._actions if a.dest == "area").choices
    assert len(AREAS) >= 8
    for name in areas:
        assert f"workstation {name} " in readme, name
