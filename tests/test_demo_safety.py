"""Demo mode never writes to the configured production database."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workstation.cli import main
from workstation.demo.safety import DemoSafetyError, assert_demo_url, demo_database_url, open_demo
from workstation.storage.bootstrap import open_database

NOW = datetime(2026, 6, 4, 2, 0, tzinfo=UTC)


def _remove(url: str) -> None:
    shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)


@pytest.fixture
def production(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "production" / "workstation.sqlite"
    monkeypatch.setenv("WORKSTATION_DB", str(path))
    return path


def test_demo_url_is_a_throwaway_sqlite_file():
    url = demo_database_url(3)
    path = Path(url.removeprefix("sqlite:///"))
    assert url.startswith("sqlite:///") and path.name == "demo-3.sqlite"
    assert path.parent.is_dir() and path.is_relative_to(Path(tempfile.gettempdir()).resolve())
    other = demo_database_url(3)
    assert other != url  # a new directory each time
    assert assert_demo_url(url) == url
    assert assert_demo_url("sqlite:///:memory:") == "sqlite:///:memory:"
    _remove(url)
    _remove(other)


def test_production_and_lasting_databases_are_refused(production):
    roundabout = f"sqlite:///{production.parent}/../production/{production.name}"
    for spelling in (str(production), f"sqlite:///{production}", roundabout):
        with pytest.raises(DemoSafetyError, match="production database"):
            assert_demo_url(spelling)
    with pytest.raises(DemoSafetyError, match="production database"):
        assert_demo_url("postgresql://ws@db.example/grid", "postgresql+psycopg://ws:secret@db.example/grid")
    for lasting in ("sqlite:////var/lib/workstation/demo.sqlite", "postgresql+psycopg://ws@db.example/demo"):
        with pytest.raises(DemoSafetyError, match="throwaway"):
            assert_demo_url(lasting)
    assert not production.exists() and not production.parent.exists()


def test_demo_entry_point_never_touches_production(production):
    demo = open_demo(seed=1, cases=40, people=0, now=NOW)
    try:
        assert demo.world is not None and demo.world.cases == 40
        assert not production.exists() and not production.parent.exists()  # not even created
        with pytest.raises(DemoSafetyError):
            open_demo(seed=1, cases=40, people=0, now=NOW, url=f"sqlite:///{production}")
        assert not production.exists()
    finally:
        demo.db.dispose()
    again = open_demo(seed=1, cases=40, people=0, now=NOW, url=demo.url)  # the same demo file: not seeded twice
    assert again.world is None
    again.db.dispose()
    _remove(demo.url)


def test_an_existing_production_file_stays_byte_for_byte(production):
    production.parent.mkdir()
    open_database(f"sqlite:///{production}").dispose()
    before = hashlib.sha256(production.read_bytes()).hexdigest(), production.stat().st_mtime_ns
    with pytest.raises(DemoSafetyError):
        open_demo(seed=1, cases=10, people=0, now=NOW, url=str(production))
    assert main(["--lang", "en", "demo", "seed", "--db", str(production), "--cases", "5", "--people", "0"]) == 1
    demo = open_demo(seed=2, cases=10, people=0, now=NOW)
    demo.db.dispose()
    _remove(demo.url)
    assert (hashlib.sha256(production.read_bytes()).hexdigest(), production.stat().st_mtime_ns) == before


def test_cli_seeds_another_database(production, tmp_path, capsys):
    target = tmp_path / "training.sqlite"
    args = ["--lang", "en", "demo", "seed", "--db", str(target), "--cases", "30", "--people", "0"]
    assert main([*args, "--now", "2026-06-04T10:00:00+08:00"]) == 0
    assert "seeded 30 cases" in capsys.readouterr().err
    assert main([*args, "--now", "2026-06-04T10:00:00"]) == 1  # no timezone
    assert main(["--lang", "en", "demo", "seed", "--cases", "3"]) == 1  # --db is required
    assert not production.exists()
