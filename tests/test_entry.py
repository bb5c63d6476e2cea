"""Every entry point is one program: the window's options work in each, and no display is said in words."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from workstation.display import XCB_LIBRARIES, display_problem
from workstation.i18n import catalogue

ROOT = Path(__file__).resolve().parent.parent
NO_DISPLAY = (
    "No display: the window needs a graphical desktop (neither DISPLAY nor WAYLAND_DISPLAY is set). "
    "Start it from a desktop session, or set QT_QPA_PLATFORM=offscreen to run without a screen "
    "(nothing is shown), or use the command line: workstation --help."
)


def console_script() -> list[str]:
    """The installed ``workstation`` command, as pyproject declares it (module:function)."""
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["workstation"]
    module, function = target.split(":")
    return [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]


ENTRY_POINTS = {
    "main.py": [sys.executable, "main.py"],
    "python -m workstation": [sys.executable, "-m", "workstation"],
    "workstation": console_script(),
}


def headless_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(WORKSTATION_LANG="zh_CN", XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    return env


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_each_entry_point_offers_the_window_options(entry):
    out = subprocess.run([*ENTRY_POINTS[entry], "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for option in ("--demo", "--user", "--station", "--db", "--lang"):
        assert option in out.stdout, (entry, option)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_each_entry_point_takes_the_window_options_to_the_window(entry, tmp_path):
    """``--demo --station … --user …`` are parsed and reach the window, which says there is no display."""
    args = ["--demo", "--station", "塘西河社区", "--user", "trainer", "--db", str(tmp_path / "x.sqlite")]
    out = subprocess.run(
        [*ENTRY_POINTS[entry], *args], cwd=ROOT, env=headless_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert "unrecognized arguments" not in out.stderr
    assert out.returncode == 2, (out.returncode, out.stderr)  # not Qt's abort (134)
    assert catalogue("zh_CN")[NO_DISPLAY] in out.stderr


def test_a_command_still_runs_from_every_entry_point(tmp_path):
    for entry, command in ENTRY_POINTS.items():
        out = subprocess.run(
            [*command, "--db", str(tmp_path / "c.sqlite"), "db", "upgrade"],
            cwd=ROOT,
            env=headless_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, (entry, out.stderr)


def test_no_display_is_named_on_linux_only():
    assert display_problem({}, "linux", lambda _: True) is not None
    assert display_problem({}, "win32", lambda _: False) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", lambda _: False) is None
    assert display_problem({"WAYLAND_DISPLAY": "w", "DISPLAY": ":0"}, "linux", lambda _: False) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", lambda _: False) is None
    assert display_problem({"DISPLAY": ":0"}, "linux", lambda _: True) is None


def test_a_missing_xcb_library_names_the_package_to_install():
    def without_cursor(soname: str) -> bool:
        return soname != "libxcb-cursor.so.0"

    message = display_problem({"DISPLAY": ":0"}, "linux", without_cursor)
    assert message is not None and "libxcb-cursor0" in message
    assert "libxcb-shape0" not in message
    message = display_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", lambda _: False)
    assert message is not None and all(package in message for _, package in XCB_LIBRARIES)


def test_the_readme_lists_every_package_the_window_needs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for _, package in XCB_LIBRARIES:
        assert package in readme, package
