"""Where the shipped reference files live, in a checkout and in an installed copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def resource_dir() -> Path:
    """The folder of shipped resources: ``resources/`` beside the package, or its installed copy."""
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "resources"


def resource_path(*parts: str) -> Path:
    """The path of one shipped resource file."""
    return resource_dir().joinpath(*parts)


def load_json(*parts: str) -> Any:
    """Read a shipped JSON resource."""
    with resource_path(*parts).open(encoding="utf-8") as f:
        return json.load(f)
