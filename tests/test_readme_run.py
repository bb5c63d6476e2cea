"""The README is executable: its marked shell blocks run as written, as a new user runs them.

A fenced ``sh`` block preceded by ``<!-- readme-run ... -->`` is a test (see the README's Testing
section). The blocks run in README order in a clean copy of the project tree (no ``.git``, no build
leftovers), through ``bash -e -o pipefail``, with ``.venv/bin`` first on ``PATH`` as if the virtual
environment were activated: the quick start's ``pip install .`` builds that environment from the copy
(a non-editable install), so every later command uses the installed program, never the checkout.
Each block has its own empty home folder, hence its own embedded database and settings.

Attributes of the marker: ``window`` (the block opens the window: it runs under
``QT_QPA_PLATFORM=offscreen`` with ``WORKSTATION_QUIT_AFTER``, and must report the window it showed),
``expect="TEXT"`` (the block's output must contain TEXT; may repeat).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.packaging_support import ROOT, clean_copy

MARKER = re.compile(r"<!--\s*readme-run\b(?P<attrs>[^>]*?)-->\s*\n```(?:sh|bash)\n(?P<body>.*?)\n```", re.S)
QUIT_AFTER_S = "12"


@dataclass(frozen=True)
class Block:
    """One marked shell block of the README."""

    name: str
    body: str
    window: bool
    expect: tuple[str, ...]


def readme_blocks(text: str) -> list[Block]:
    """The marked blocks, in README order, named after their section and position."""
    blocks = []
    for match in MARKER.finditer(text):
        words = shlex.split(match["attrs"])
        expect = tuple(w.split("=", 1)[1] for w in words if w.startswith("expect="))
        unknown = [w for w in words if w != "window" and not w.startswith("expect=")]
        assert not unknown, f"unknown readme-run attribute {unknown}"
        headings = re.findall(r"^#+ (.+)$", text[: match.start()], re.M)
        section = re.sub(r"\W+", "-", headings[-1] if headings else "top").strip("-").lower()
        blocks.append(Block(f"{len(blocks) + 1:02d}-{section}", match["body"], "window" in words, expect))
    return blocks


BLOCKS = readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_marks_the_quick_start_the_command_line_and_the_article_example():
    bodies = [b.body for b in BLOCKS]
    assert "pip install ." in bodies[0] and "workstation" in bodies[0], "the quick start comes first"
    assert any("--demo" in b.body and b.window for b in BLOCKS)
    assert any("report add -" in body for body in bodies)
    assert any("case dispatch 1" in body and "case show 1" in body for body in bodies), "the article's example"


def test_the_extractor_reads_attributes_and_ignores_unmarked_blocks():
    text = '# A\n\n```sh\nnot me\n```\n\n<!-- readme-run window expect="甲 乙" expect=x -->\n```sh\necho 1\n```\n'
    (block,) = readme_blocks(text)
    assert block == Block("01-a", "echo 1", True, ("甲 乙", "x"))


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """A clean copy of the project tree; the quick start block installs it into ``.venv``."""
    return clean_copy(tmp_path_factory.mktemp("readme") / "grid-workstation")


def block_env(project: Path, home: Path, window: bool) -> dict[str, str]:
    """A new user's environment: the venv activated, a fresh home, no test settings, no display."""
    keep = ("LANG", "LC_ALL", "TZ", "TMPDIR", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT", "PIP_CERT", "SSL_CERT_FILE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    venv = project / ".venv"
    env.update(
        HOME=str(home),
        PATH=f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        VIRTUAL_ENV=str(venv),
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    if window:
        env.update(QT_QPA_PLATFORM="offscreen", WORKSTATION_QUIT_AFTER=QUIT_AFTER_S)
    return env


@pytest.mark.readme_run
@pytest.mark.timeout(900)
@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_the_readme_block_runs_as_written(block, project, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    if block is not BLOCKS[0] and not (project / ".venv" / "bin" / "workstation").exists():
        pytest.fail("the quick start did not install the program (its block failed or did not run first)")
    out = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.body],
        cwd=project,
        env=block_env(project, home, block.window),
        capture_output=True,
        text=True,
        timeout=600,
    )
    shown = f"--- block:\n{block.body}\n--- stdout:\n{out.stdout[-3000:]}\n--- stderr:\n{out.stderr[-3000:]}"
    assert out.returncode == 0, shown
    for text in block.expect:
        assert text in out.stdout + out.stderr, shown
    if block.window:  # the window (or its first dialog) was shown, then closed by its own exit path
        (closing,) = [line for line in out.stderr.splitlines() if "WORKSTATION_QUIT_AFTER" in line]
        assert not closing.rstrip().endswith("-"), shown
