"""The server's settings: the ``serve`` object of the integration settings file.

::

    "serve": {
      "host": "127.0.0.1", "port": 8311, "threads": 8, "workers": 1,
      "base_url": "https://311.example.gov.cn/georeport/v2",
      "clients": ["wechat-app"],
      "max_body_bytes": 65536, "page_size": 100, "max_page_size": 1000,
      "rate_per_key": 120, "rate_per_address": 600, "rate_window_s": 60,
      "timeout_s": 30, "query_timeout_s": 5, "cache_s": 5, "jurisdiction_id": ""
    }

The API keys themselves are never in the file: a client's key is an API token of its account
(``workstation user token add``), kept hashed in the database and revoked there. ``clients`` names
the accounts whose keys may post (empty: any active account with a token). ``cache_s``: how long a
public answer (services, requests) is served again to any client before it is read anew (0: never
kept); a post through the server clears it at once. ``workers``: server processes on the one port
(``serve.workers``; the rate limits and the cache's clearing hold across them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.i18n import tr
from workstation.intake.settings import default_path, read_file
from workstation.services.errors import ValidationError


@dataclass(frozen=True)
class ServeSettings:
    """Address, clients and limits of the GeoReport server."""

    host: str = "127.0.0.1"
    port: int = 8311
    threads: int = 8
    workers: int = 1
    base_url: str = ""
    clients: tuple[str, ...] = ()
    max_body_bytes: int = 64 * 1024
    page_size: int = 100
    max_page_size: int = 1000
    rate_per_key: int = 120
    rate_per_address: int = 600
    rate_window_s: float = 60.0
    timeout_s: float = 30.0
    query_timeout_s: float = 5.0
    cache_s: float = 5.0
    jurisdiction_id: str = ""


_NUMBERS: dict[str, tuple[type, float]] = {
    "port": (int, 0),
    "threads": (int, 1),
    "workers": (int, 1),
    "max_body_bytes": (int, 256),
    "page_size": (int, 1),
    "max_page_size": (int, 1),
    "rate_per_key": (int, 1),
    "rate_per_address": (int, 1),
    "rate_window_s": (float, 0.1),
    "timeout_s": (float, 0.1),
    "query_timeout_s": (float, 0.001),
    "cache_s": (float, 0),
}


def parse_serve(data: Any) -> ServeSettings:
    """Check the ``serve`` object.

    Raises:
        ValidationError: each bad key named with its reason.
    """
    if data in (None, {}):
        return ServeSettings()
    if not isinstance(data, Mapping):
        raise ValidationError(
            tr("The settings are not usable: {problems}", problems="serve: " + tr("must be a JSON object"))
        )
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, (kind, minimum) in _NUMBERS.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            errors[f"serve.{key}"] = tr("a number of at least {n}", n=minimum)
        elif kind is int and not float(value).is_integer():
            errors[f"serve.{key}"] = tr("a whole number of at least {n}", n=minimum)
        else:
            values[key] = kind(value)
    for key in ("host", "base_url", "jurisdiction_id"):
        if key in data:
            if not isinstance(data[key], str):
                errors[f"serve.{key}"] = tr("must be text")
            else:
                values[key] = data[key].strip().rstrip("/") if key == "base_url" else data[key].strip()
    clients = data.get("clients", [])
    if not isinstance(clients, list) or not all(isinstance(c, str) and c.strip() for c in clients):
        errors["serve.clients"] = tr("a list of text")
    else:
        values["clients"] = tuple(c.strip() for c in clients)
    known = set(_NUMBERS) | {"host", "base_url", "jurisdiction_id", "clients"}
    unknown = sorted(set(data) - known)
    if unknown:
        errors["serve"] = tr("unknown key(s): {names}", names=", ".join(unknown))
    if values.get("page_size", 100) > values.get("max_page_size", ServeSettings.max_page_size):
        errors["serve.page_size"] = tr("at most max_page_size")
    if errors:
        raise ValidationError(
            tr(
                "The settings are not usable: {problems}",
                problems="; ".join(f"{k}: {v}" for k, v in errors.items()),
            ),
            errors,
        )
    return ServeSettings(**values)


def load_serve(path: str | Path | None = None, *, required: bool = False) -> ServeSettings:
    """The ``serve`` object of the settings file (defaults when the file does not exist and is not required).

    Raises:
        ValidationError: the file cannot be read, or its ``serve`` object is bad.
    """
    file = Path(path) if path else default_path()
    if not file.exists() and not required and path is None:
        return ServeSettings()
    data = read_file(file)
    return parse_serve(data.get("serve") if isinstance(data, Mapping) else None)
