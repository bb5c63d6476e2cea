"""``intake`` and ``outbox``: import from other systems, poll without a window, mind quarantine and the outbox."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

from workstation.cli import common
from workstation.domain.calendar import DEFAULT_TZ
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.intake import ingest, mappings, outbox, quarantine, status
from workstation.intake.base import PollContext
from workstation.intake.formats import decode
from workstation.intake.items import Page, PageError
from workstation.intake.open311 import Open311Source
from workstation.intake.poller import Poller
from workstation.intake.settings import Retry, Settings, SourceConfig, load_settings
from workstation.intake.settings import default_path as default_settings_path
from workstation.services.errors import ValidationError
from workstation.services.masking import masked_message
from workstation.storage.db import Database

OUTBOX_READERS = (Role.OPERATOR, Role.LEAD, Role.ADMIN)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    intake = sub.add_parser("intake", help="reports from other systems: import, poll, quarantine", parents=opts)
    isub = intake.add_subparsers(dest="cmd", metavar="CMD")

    o311 = isub.add_parser("open311", help="import Open311 service requests once (URL or saved file)", parents=opts)
    o311.add_argument("target", metavar="URL|FILE")
    o311.add_argument("--service-map", metavar="FILE", help="JSON: service code -> category code")
    o311.add_argument("--source", default="open311", metavar="NAME", help="the source name (default: open311)")
    o311.add_argument(
        "--assume-tz",
        metavar="TZ",
        help="read times without offset in this zone (e.g. Asia/Shanghai, --assume-tz=+08:00)",
    )
    o311.add_argument("--timeout", type=float, default=10.0, metavar="S")
    o311.set_defaults(handler=intake_open311)

    run = isub.add_parser("run", help="poll every configured source (and send the outbox)", parents=opts)
    run.add_argument("--config", metavar="FILE", help="settings file (default: $WORKSTATION_INTAKE)")
    run.add_argument("--once", action="store_true", help="one round of every source, then stop")
    run.set_defaults(handler=intake_run)

    st = isub.add_parser("status", help="connection state of every source and target", parents=opts)
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=intake_status)

    mp = isub.add_parser("mapping", help="service codes and the categories they map to", parents=opts)
    msub = mp.add_subparsers(dest="mapping_cmd", metavar="CMD")
    mp.set_defaults(handler=_usage(mp))
    ml = msub.add_parser("list", help="list the mappings", parents=opts)
    ml.add_argument("--source", metavar="NAME")
    ml.add_argument("--json", action="store_true")
    ml.set_defaults(handler=mapping_list)
    ms = msub.add_parser("set", help="map a service code to a category (- : none)", parents=opts)
    ms.add_argument("source", metavar="SOURCE")
    ms.add_argument("code", metavar="SERVICE_CODE")
    ms.add_argument("category", metavar="CATEGORY|-")
    ms.set_defaults(handler=mapping_set)

    q = isub.add_parser("quarantine", help="items that could not be imported", parents=opts)
    qsub = q.add_subparsers(dest="quarantine_cmd", metavar="CMD")
    q.set_defaults(handler=_usage(q))
    ql = qsub.add_parser("list", help="list quarantined items", parents=opts)
    ql.add_argument("--status", choices=[*quarantine.STATUSES, "all"], default="open")
    ql.add_argument("--source", metavar="NAME")
    ql.add_argument("--json", action="store_true")
    ql.set_defaults(handler=quarantine_list)
    qs = qsub.add_parser("show", help="one item with its payload", parents=opts)
    qs.add_argument("id", type=int)
    qs.add_argument("--json", action="store_true")
    qs.set_defaults(handler=quarantine_show)
    qr = qsub.add_parser("reprocess", help="import an item again (optionally from an edited payload)", parents=opts)
    qr.add_argument("id", type=int)
    qr.add_argument("--payload-file", metavar="FILE", help="the edited payload")
    qr.add_argument("--config", metavar="FILE", help="settings file, for the source's options")
    qr.set_defaults(handler=quarantine_reprocess)
    qd = qsub.add_parser("discard", help="set an item aside for good", parents=opts)
    qd.add_argument("id", type=int)
    qd.add_argument("--note", default="")
    qd.set_defaults(handler=quarantine_discard)

    box = sub.add_parser("outbox", help="outbound messages to the units' systems", parents=opts)
    bsub = box.add_subparsers(dest="cmd", metavar="CMD")
    bl = bsub.add_parser("list", help="list outbound messages", parents=opts)
    bl.add_argument("--status", choices=outbox.STATUSES)
    bl.add_argument("--case", type=int, metavar="ID")
    bl.add_argument("--json", action="store_true")
    bl.set_defaults(handler=outbox_list)
    br = bsub.add_parser("retry", help="send a message again now", parents=opts)
    which = br.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", metavar="ID")
    which.add_argument("--all-failed", action="store_true", help="every failed message")
    br.set_defaults(handler=outbox_retry)
    bs = bsub.add_parser("send", help="send what is due now", parents=opts)
    bs.add_argument("--config", metavar="FILE", help="settings file, for the targets' credentials")
    bs.set_defaults(handler=outbox_send)


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def _name(names: dict[str, str], code: str) -> str:
    return tr(names[code]) if code in names else code


def _print_quarantined(held: list[tuple[str, int | None, str]]) -> None:
    for key, qid, reason in held:
        print(tr("quarantined #{id} ({key}): {reason}", id=qid, key=key, reason=reason), file=sys.stderr)


ONE_SHOT_PAGES = 10_000  # ``intake open311 URL`` reads every page up to this many


def intake_open311(args: argparse.Namespace) -> int:
    """Import a requests document (URL or file) once; exit 1 if anything was quarantined."""
    db = common.database(args)
    by = common.actor(db, args)
    if args.service_map:
        mappings.apply_map(db, by, args.source, mappings.load_map_file(args.service_map))
    options: dict[str, Any] = {"sync_services": True}
    if args.assume_tz:
        options["assume_tz"] = args.assume_tz
    target: str = args.target
    is_url = target.startswith(("http://", "https://"))
    retry = Retry(timeout_s=args.timeout, attempts=3, backoff_s=1.0, backoff_max_s=10.0)
    source = Open311Source(
        SourceConfig(
            name=args.source,
            kind="open311",
            url=target if is_url else "",
            retry=retry,
            options=options,
            max_pages=ONE_SHOT_PAGES,
        )
    )
    notes: list[str] = []
    pages: list[Page] = []
    if is_url:
        ctx = PollContext(db, requests.Session())
        url = target
        if not urlsplit(target).path.rstrip("/").endswith((".json", ".xml")):
            notes.extend(source.sync_services(ctx))
            url = source.endpoint("requests")
        ended = False
        for _, page, text, problem in source.sweep(ctx, url, {}):
            if problem is not None:
                qid = ingest.quarantine_page(db, source.name, source.kind, text, problem)
                _print_quarantined([(tr("whole document"), qid, problem)])
                return 1
            if page is None:
                ended = True
            else:
                pages.append(page)
        if not ended:
            notes.append(
                tr(
                    "stopped after {n} pages, the server has more: read them with intake run",
                    n=ONE_SHOT_PAGES,
                )
            )
    else:
        try:
            raw = Path(target).read_bytes()
        except OSError as exc:
            raise ValidationError(
                tr("Cannot read {path}: {reason}", path=target, reason=exc.strerror or exc), {"file": target}
            ) from None
        text, problem = decode(raw)
        try:
            if problem:
                raise PageError(problem)
            pages.append(source.parse_page(text))
        except PageError as exc:
            qid = ingest.quarantine_page(db, source.name, source.kind, text, exc.message)
            _print_quarantined([(tr("whole document"), qid, exc.message)])
            return 1
    page = Page([i for p in pages for i in p.items], None, False, [n for p in pages for n in p.notes])
    stored = source.store(db, page.items)
    held = []
    for item, outcome in zip(page.items, stored.outcomes, strict=True):
        key = item.key or "?"
        if outcome.status == "quarantined":
            held.append((key, outcome.id, outcome.reason or ""))
        else:
            word = {"created": tr("new case"), "updated": tr("updated case")}.get(
                outcome.status, tr("already present as case")
            )
            extra = f"  ({'; '.join(item.notes)})" if item.notes else ""
            print(f"{key}: {word} {outcome.id}{extra}")
    for note in notes + page.notes:
        print(note, file=sys.stderr)
    _print_quarantined(held)
    print(
        tr(
            "{created} new, {existing} already present, {held} quarantined",
            created=stored.count("created"),
            existing=stored.count("existing"),
            held=stored.count("quarantined"),
        ),
        file=sys.stderr,
    )
    return 1 if held else 0


def _settings(path: str | None) -> Settings:
    return load_settings(path)


def intake_run(args: argparse.Namespace) -> int:
    """Poll every configured source; with --once, one round (exit 1 if any round failed)."""
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN], tr("run the intake service"))
    poller = Poller(db, _settings(args.config))
    if not poller.sources:
        print(tr("No enabled sources in the settings."), file=sys.stderr)
    results = poller.run(once=args.once, report=lambda line: print(line, flush=True))
    return 1 if args.once and any(not r.ok for r in results) else 0


@common.no_identity
def intake_status(args: argparse.Namespace) -> int:
    """Print each connection's state."""
    db = common.database(args)
    found = status.read_status(db)
    for st in found:
        if args.json:
            common.emit_json(st.__dict__)
            continue
        state = tr("ok") if st.ok else tr("failing ({n}×): {error}", n=st.failures, error=st.last_error or "")
        last = st.last_success_at.isoformat() if st.last_success_at else "-"
        kind, sep, target = st.name.partition(":")
        name = tr("outbox to {target}", target=target) if sep and kind == "outbox" else st.name
        print(f"{name:<30} {state}  " + tr("last success: {at}", at=last))
    if not found and not args.json:
        path = default_settings_path()
        if path.exists():
            print(
                tr(
                    "No source or target has been contacted yet: run `workstation intake run` (settings: {path}).",
                    path=path,
                )
            )
        else:
            print(
                tr(
                    "No intake is configured: {path} does not exist. Copy resources/intake.example.json there "
                    "(or name a file with WORKSTATION_INTAKE), then run `workstation intake run`.",
                    path=path,
                )
            )
    return 0


@common.no_identity
def mapping_list(args: argparse.Namespace) -> int:
    """Print the service mappings."""
    db = common.database(args)
    rows = mappings.list_mappings(db, args.source)
    for row in rows:
        if args.json:
            common.emit_json(row)
        else:
            print(
                f"{row['source']:<16} {row['service_code']:<12} {row['category_code'] or '-':<6} {row['service_name']}"
            )
    if not rows and not args.json:
        print(tr("No service codes yet: they are recorded when an Open311 source is read."))
    return 0


def mapping_set(args: argparse.Namespace) -> int:
    """Set one mapping."""
    db = common.database(args)
    by = common.actor(db, args)
    mappings.set_mapping(db, by, args.source, args.code, None if args.category == "-" else args.category)
    print(tr("{source} {code} -> {category}", source=args.source, code=args.code, category=args.category))
    return 0


def quarantine_list(args: argparse.Namespace) -> int:
    """Print quarantined items."""
    db = common.database(args)
    common.actor(db, args, quarantine.ROLES, tr("read quarantined items"))
    rows = quarantine.list_items(db, None if args.status == "all" else args.status, args.source)
    if not rows and not args.json:
        print(tr("Nothing in quarantine."))
    for row in rows:
        if args.json:
            common.emit_json(row)
        else:
            reported = quarantine.report_time_text(row, ZoneInfo(DEFAULT_TZ))
            print(
                f"{row['id']:>6}  {_name(quarantine.STATUS_NAMES, row['status']):<11} {row['source']:<14} "
                f"{_name(quarantine.KIND_NAMES, row['kind']):<4} "
                f"{row['external_id'] or '-':<20} {reported}  ×{row['times_seen']}  {row['reason']}"
            )
    return 0


def quarantine_show(args: argparse.Namespace) -> int:
    """Print one item with its payload."""
    db = common.database(args)
    common.actor(db, args, quarantine.ROLES, tr("read quarantined items"))
    row = quarantine.get_item(db, args.id)
    if args.json:
        common.emit_json(row)
        return 0
    fields = [
        (tr("Number"), row["id"]),
        (tr("Status"), _name(quarantine.STATUS_NAMES, row["status"])),
        (tr("Source"), f"{row['source']} ({row['source_kind']})"),
        (tr("Type"), _name(quarantine.KIND_NAMES, row["kind"])),
        (tr("Source number"), row["external_id"] or "-"),
        (tr("Reason"), row["reason"]),
        (tr("Received"), row["received_at"]),
        (tr("Times seen"), row["times_seen"]),
    ]
    if row["note"]:
        fields.append((tr("Note"), row["note"]))
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key:<{width}}  {value}")
    print(tr("payload:"))
    print(row["payload"])
    return 0


def _db_actor(args: argparse.Namespace) -> tuple[Database, Any]:
    db = common.database(args)
    return db, common.actor(db, args)


def quarantine_reprocess(args: argparse.Namespace) -> int:
    """Import one item again; exit 1 if it still fails."""
    db, by = _db_actor(args)
    payload = None
    if args.payload_file:
        try:
            payload = Path(args.payload_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(
                tr("Cannot read {path}: {reason}", path=args.payload_file, reason=exc), {"file": args.payload_file}
            ) from None
    settings = _settings(args.config) if args.config else None
    result = quarantine.reprocess(db, by, args.id, payload, settings)
    if not result.ok:
        print(tr("still not importable: {reason}", reason=result.reason), file=sys.stderr)
        return 1
    cases = ", ".join(str(c) for c in result.case_ids) or "-"
    print(tr("reprocessed: case(s) {cases}", cases=cases))
    if result.quarantined:
        print(tr("quarantined again: {ids}", ids=", ".join(map(str, result.quarantined))), file=sys.stderr)
    return 0


def quarantine_discard(args: argparse.Namespace) -> int:
    """Discard one item."""
    db, by = _db_actor(args)
    quarantine.discard(db, by, args.id, args.note)
    print(tr("discarded #{id}", id=args.id))
    return 0


def outbox_list(args: argparse.Namespace) -> int:
    """Print outbound messages."""
    db = common.database(args)
    common.actor(db, args, OUTBOX_READERS, tr("read outbound messages"))
    rows = outbox.list_outbox(db, args.status, args.case)
    if not rows and not args.json:
        print(tr("No outbound messages."))
    for row in rows:
        if args.json:
            common.emit_json(masked_message(row))
        else:
            status_, kind = _name(outbox.STATUS_NAMES, row["status"]), _name(outbox.KIND_NAMES, row["kind"])
            print(
                f"{row['id']:>6}  {status_:<7} {kind:<15} {row['target']:<16} "
                + tr("case {case}", case=row["case_id"] or "-")
                + "  "
                + tr("tries {n}/{budget}", n=row["attempts"], budget=row["budget"])
                + f"  {row['last_error'] or ''}"
            )
    return 0


def outbox_retry(args: argparse.Namespace) -> int:
    """Retry one message, or every failed one."""
    db, by = _db_actor(args)
    if args.all_failed:
        ids = outbox.retry_failed(db, by)
        print(tr("{n} message(s) will be sent again", n=len(ids)))
    else:
        outbox.retry(db, by, args.id)
        print(tr("message {id} will be sent again", id=args.id))
    return 0


def outbox_send(args: argparse.Namespace) -> int:
    """Send what is due; exit 1 if anything failed for good."""
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN], tr("run the intake service"))
    report = outbox.send_pending(db, settings=_settings(args.config) if args.config else None)
    print(report.line())
    return 1 if report.failed else 0
