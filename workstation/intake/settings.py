"""The integration settings file: inbound sources, outbound targets, retry and back-off.

A JSON file (``resources/intake.example.json`` shows every key)::

    {
      "timezone": "Asia/Shanghai",
      "defaults": {"timeout_s": 10, "attempts": 3, "backoff_s": 1, "backoff_max_s": 30, "page_limit": 100},
      "sources": [
        {"name": "district", "kind": "platform", "url": "https://.../feed", "poll_interval_s": 30,
         "credentials": {"token": "${PLATFORM_TOKEN}"}, "options": {}}
      ],
      "targets": [
        {"name": "cg", "kind": "webhook", "url": "https://.../orders", "units": ["CG"],
         "credentials": {"basic": {"username": "ws", "password": "${CG_PASSWORD}"}}}
      ],
      "outbox": {"attempts": 8, "backoff_s": 30, "backoff_max_s": 3600},
      "limits": {"max_response_bytes": 20971520, "deadline_s": 120, "max_items_per_page": 10000}
    }

``limits`` (every key optional; also per source) bounds what a source can make the workstation read:
see ``Limits``.

A credential written ``${NAME}`` is read from the environment variable NAME, so secrets need not
sit in the file. Credentials stay in the file: the database only names targets.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from workstation.i18n import tr
from workstation.services.errors import ValidationError
from workstation.storage.db import APP_NAME

ENV_SETTINGS = "WORKSTATION_INTAKE"
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_NAME = re.compile(r"^[\w.\-]{1,80}$")
TARGET_KINDS = ("webhook", "open311", "georeport")


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: a bearer token, a user name and password (basic), or an Open311 api_key."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    api_key: str | None = None

    def headers(self) -> dict[str, str]:
        """The Authorization header for a token."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def basic(self) -> tuple[str, str] | None:
        """The (user, password) pair for basic authentication."""
        return (self.username, self.password or "") if self.username else None


@dataclass(frozen=True)
class Retry:
    """Timeouts, attempts and exponential back-off of network calls."""

    timeout_s: float = 10.0
    attempts: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0


@dataclass(frozen=True)
class Limits:
    """Bounds on what one source may make the workstation read (the ``limits`` object of the settings).

    Attributes:
        max_response_bytes: a response body larger than this is refused unread (Content-Length) or
            abandoned once that much has arrived; the round fails with that reason.
        deadline_s: the most one request may take from connect to its last byte (the socket
            timeout bounds each read; this bounds the whole).
        max_items_per_page: a page listing more items than this is refused whole.
        max_xml_depth: elements nested deeper than this make an XML page unreadable.
        max_excel_rows, max_excel_columns: an Excel roster larger than this is refused.
        max_excel_unzipped_bytes: a workbook whose parts unpack to more than this is refused (zip bombs).
        report_past_days, report_future_s: an item's time must lie within this window around now
            (older or later items are quarantined: a year-1 date or one in 2098 never moves a cursor).
        territory_margin_m: a point farther than this outside the territory's grids is quarantined.
    """

    max_response_bytes: int = 20 * 1024 * 1024
    deadline_s: float = 120.0
    max_items_per_page: int = 10_000
    max_xml_depth: int = 32
    max_excel_rows: int = 100_000
    max_excel_columns: int = 200
    max_excel_unzipped_bytes: int = 200 * 1024 * 1024
    report_past_days: int = 3653
    report_future_s: float = 600.0
    territory_margin_m: float = 20_000.0


@dataclass(frozen=True)
class SourceConfig:
    """One inbound source."""

    name: str
    kind: str
    url: str
    credentials: Credentials = field(default_factory=Credentials)
    poll_interval_s: float = 60.0
    retry: Retry = field(default_factory=Retry)
    page_limit: int = 100
    max_pages: int = 50
    enabled: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class TargetConfig:
    """One outbound target: a unit system's webhook or an Open311 peer's update endpoint."""

    name: str
    kind: str
    url: str
    credentials: Credentials = field(default_factory=Credentials)
    units: tuple[str, ...] = ()
    source: str | None = None
    events: tuple[str, ...] = ()
    timeout_s: float = 10.0
    active: bool = True


@dataclass(frozen=True)
class Settings:
    """The whole settings file."""

    sources: tuple[SourceConfig, ...] = ()
    targets: tuple[TargetConfig, ...] = ()
    timezone: str = "Asia/Shanghai"
    outbox: Retry = field(
        default_factory=lambda: Retry(timeout_s=10.0, attempts=8, backoff_s=30.0, backoff_max_s=3600.0)
    )
    path: str | None = None
    limits: Limits = field(default_factory=Limits)

    def source(self, name: str) -> SourceConfig | None:
        """The source of that name."""
        return next((s for s in self.sources if s.name == name), None)

    def target(self, name: str) -> TargetConfig | None:
        """The target of that name."""
        return next((t for t in self.targets if t.name == name), None)


def default_path() -> Path:
    """``$WORKSTATION_INTAKE``, else ``intake.json`` in the user's configuration folder."""
    given = os.environ.get(ENV_SETTINGS)
    return Path(given) if given else Path(user_config_dir(APP_NAME, appauthor=False)) / "intake.json"


def configured_limits() -> Limits:
    """The ``limits`` of the settings file where there is a usable one, else the defaults."""
    if not default_path().is_file():
        return Limits()
    try:
        return load_settings().limits
    except ValidationError:
        return Limits()


def read_file(file: Path) -> Any:
    """The settings file's JSON (the intake's and the server's parts share one file).

    Raises:
        ValidationError: the file cannot be read, or is not JSON (the line named).
    """
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(
            tr("Cannot read the settings file {path}: {reason}", path=file, reason=exc.strerror or exc),
            {"file": str(file)},
        ) from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            tr(
                "The settings file {path} is not valid JSON: {reason} (line {line})",
                path=file,
                reason=exc.msg,
                line=exc.lineno,
            ),
            {"file": str(file)},
        ) from None
    return data


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and check a settings file.

    Raises:
        ValidationError: unreadable file, or each bad key named (``sources[1].url``: reason).
    """
    file = Path(path) if path else default_path()
    return parse_settings(read_file(file), str(file))


class _Checker:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def text(self, obj: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
        value = obj.get(key)
        if value in (None, "") and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.errors[f"{where}.{key}"] = tr("required: text")
            return ""
        return value.strip()

    def number(self, obj: Mapping[str, Any], key: str, where: str, default: float, minimum: float = 0) -> float:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            self.errors[f"{where}.{key}"] = tr("a number of at least {n}", n=minimum)
            return default
        return float(value)

    def secret(self, value: Any, where: str) -> str | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            self.errors[where] = tr("must be text")
            return None
        ref = _ENV_REF.match(value)
        if not ref:
            return value
        found = os.environ.get(ref.group(1))
        if found is None:
            self.errors[where] = tr("the environment variable {name} is not set", name=ref.group(1))
        return found

    def credentials(self, obj: Any, where: str) -> Credentials:
        if obj in (None, {}):
            return Credentials()
        if not isinstance(obj, Mapping):
            self.errors[where] = tr("an object: token, basic {username, password}, or api_key")
            return Credentials()
        basic = obj.get("basic") or {}
        if not isinstance(basic, Mapping):
            self.errors[f"{where}.basic"] = tr("an object with username and password")
            basic = {}
        unknown = sorted(set(obj) - {"token", "basic", "username", "password", "api_key"})
        if unknown:
            self.errors[where] = tr("unknown key(s): {names}", names=", ".join(unknown))
        return Credentials(
            token=self.secret(obj.get("token"), f"{where}.token"),
            username=self.secret(basic.get("username", obj.get("username")), f"{where}.username"),
            password=self.secret(basic.get("password", obj.get("password")), f"{where}.password"),
            api_key=self.secret(obj.get("api_key"), f"{where}.api_key"),
        )

    def limits(self, obj: Any, where: str, base: Limits) -> Limits:
        if obj in (None, {}):
            return base
        if not isinstance(obj, Mapping):
            self.errors[where] = tr("must be a JSON object")
            return base
        known = set(Limits.__dataclass_fields__)
        unknown = sorted(set(obj) - known)
        if unknown:
            self.errors[where] = tr("unknown key(s): {names}", names=", ".join(unknown))
        values: dict[str, Any] = {}
        for key in known:
            default = getattr(base, key)
            number = self.number(obj, key, where, default, 1)
            values[key] = int(number) if isinstance(default, int) else number
        return Limits(**values)

    def retry(self, obj: Mapping[str, Any], where: str, base: Retry) -> Retry:
        return Retry(
            timeout_s=self.number(obj, "timeout_s", where, base.timeout_s, 0.01),
            attempts=int(self.number(obj, "attempts", where, base.attempts, 1)),
            backoff_s=self.number(obj, "backoff_s", where, base.backoff_s, 0),
            backoff_max_s=self.number(obj, "backoff_max_s", where, base.backoff_max_s, 0),
        )


def parse_settings(data: Any, path: str | None = None) -> Settings:
    """Check settings already read from JSON.

    Raises:
        ValidationError: each bad key named with its reason.
    """
    from workstation.intake.base import REGISTRY  # the kinds known once every source module is loaded

    check = _Checker()
    if not isinstance(data, Mapping):
        raise ValidationError(tr("The settings must be a JSON object."), {"settings": tr("must be a JSON object")})
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        check.errors["defaults"] = tr("must be a JSON object")
        defaults = {}
    base = check.retry(defaults, "defaults", Retry())
    page_limit = int(check.number(defaults, "page_limit", "defaults", 100, 1))
    limits = check.limits(data.get("limits"), "limits", Limits())
    sources: list[SourceConfig] = []
    raw_sources = data.get("sources") or []
    if not isinstance(raw_sources, list):
        check.errors["sources"] = tr("a list of sources")
        raw_sources = []
    for i, raw in enumerate(raw_sources):
        where = f"sources[{i}]"
        if not isinstance(raw, Mapping):
            check.errors[where] = tr("must be a JSON object")
            continue
        name = check.text(raw, "name", where)
        if name and not _NAME.match(name):
            check.errors[f"{where}.name"] = tr("letters, digits, '.', '-' and '_' only (at most 80)")
        if name and any(s.name == name for s in sources):
            check.errors[f"{where}.name"] = tr("another source has this name")
        kind = check.text(raw, "kind", where)
        if kind and kind not in REGISTRY:
            check.errors[f"{where}.kind"] = tr("one of: {kinds}", kinds=", ".join(sorted(REGISTRY)))
        options = raw.get("options") or {}
        if not isinstance(options, Mapping):
            check.errors[f"{where}.options"] = tr("must be a JSON object")
            options = {}
        sources.append(
            SourceConfig(
                name=name,
                kind=kind,
                url=check.text(raw, "url", where),
                credentials=check.credentials(raw.get("credentials"), f"{where}.credentials"),
                poll_interval_s=check.number(raw, "poll_interval_s", where, 60.0, 1),
                retry=check.retry(raw, where, base),
                page_limit=int(check.number(raw, "page_limit", where, page_limit, 1)),
                max_pages=int(check.number(raw, "max_pages", where, 50, 1)),
                enabled=bool(raw.get("enabled", True)),
                options=dict(options),
                limits=check.limits(raw.get("limits"), f"{where}.limits", limits),
            )
        )
    targets: list[TargetConfig] = []
    raw_targets = data.get("targets") or []
    if not isinstance(raw_targets, list):
        check.errors["targets"] = tr("a list of targets")
        raw_targets = []
    for i, raw in enumerate(raw_targets):
        where = f"targets[{i}]"
        if not isinstance(raw, Mapping):
            check.errors[where] = tr("must be a JSON object")
            continue
        name = check.text(raw, "name", where)
        if name and not _NAME.match(name):
            check.errors[f"{where}.name"] = tr("letters, digits, '.', '-' and '_' only (at most 80)")
        kind = check.text(raw, "kind", where)
        if kind and kind not in TARGET_KINDS:
            check.errors[f"{where}.kind"] = tr("one of: {kinds}", kinds=", ".join(TARGET_KINDS))
        units = raw.get("units") or []
        events = raw.get("events") or []
        for key, value in (("units", units), ("events", events)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                check.errors[f"{where}.{key}"] = tr("a list of text")
        if kind in ("webhook", "georeport") and not units:
            check.errors[f"{where}.units"] = tr("required: the unit codes this webhook serves")
        if kind == "open311" and not raw.get("source"):
            check.errors[f"{where}.source"] = tr("required: the Open311 source whose requests are updated")
        targets.append(
            TargetConfig(
                name=name,
                kind=kind,
                url=check.text(raw, "url", where),
                credentials=check.credentials(raw.get("credentials"), f"{where}.credentials"),
                units=tuple(units) if isinstance(units, list) else (),
                source=str(raw["source"]) if raw.get("source") else None,
                events=tuple(events) if isinstance(events, list) else (),
                timeout_s=check.number(raw, "timeout_s", where, base.timeout_s, 0.01),
                active=bool(raw.get("active", True)),
            )
        )
    outbox_raw = data.get("outbox") or {}
    if not isinstance(outbox_raw, Mapping):
        check.errors["outbox"] = tr("must be a JSON object")
        outbox_raw = {}
    outbox = check.retry(outbox_raw, "outbox", Settings().outbox)
    timezone_name = data.get("timezone") or "Asia/Shanghai"
    if not isinstance(timezone_name, str):
        check.errors["timezone"] = tr("must be text")
        timezone_name = "Asia/Shanghai"
    if check.errors:
        raise ValidationError(
            tr(
                "The settings are not usable: {problems}",
                problems="; ".join(f"{k}: {v}" for k, v in check.errors.items()),
            ),
            check.errors,
        )
    return Settings(tuple(sources), tuple(targets), timezone_name, outbox, path, limits)
