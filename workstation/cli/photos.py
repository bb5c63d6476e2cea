"""``photos``: a case's photos and their state, fetching the URL photos, storing an uploaded photo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import requests

from workstation.cli import common
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.services import photos
from workstation.services.errors import ValidationError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    area = sub.add_parser("photos", help=tr("case photos: show, fetch, store"), parents=opts)
    psub = area.add_subparsers(dest="cmd", metavar="CMD")
    show = psub.add_parser("show", help=tr("a case's photos and their state"), parents=opts)
    show.add_argument("id", type=int, metavar="CASE")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=photos_show)
    fetch = psub.add_parser("fetch", help=tr("fetch the photos that arrived as URLs and are due"), parents=opts)
    fetch.add_argument("--timeout", type=float, default=photos.LIMITS.timeout_s, metavar="S")
    fetch.set_defaults(handler=photos_fetch)
    put = psub.add_parser("put", help=tr("store the image file of a photo reference (a PDA upload)"), parents=opts)
    put.add_argument("ref", metavar="REF")
    put.add_argument("file", metavar="FILE")
    put.set_defaults(handler=photos_put)
    retry = psub.add_parser("retry", help=tr("fetch failed URL photos again"), parents=opts)
    retry.add_argument("ref", nargs="?", metavar="REF", help=tr("one reference (default: every failed one)"))
    retry.set_defaults(handler=photos_retry)


def _state(view: photos.PhotoView) -> str:
    if view.state == photos.STORED:
        return tr("stored, {w}×{h}, {kb} KB", w=view.width, h=view.height, kb=max(1, round(view.size / 1024)))
    if view.state == photos.PENDING:
        if view.attempts:
            return tr("to fetch again ({n} tries so far): {reason}", n=view.attempts, reason=view.reason)
        return tr("to fetch")
    return tr("could not be fetched: {reason}", reason=view.reason)


def photos_show(args: argparse.Namespace) -> int:
    """Print a case's photos: before (the report's), after (the unit's)."""
    db = common.database(args)
    common.actor(db, args, common.CASE_READERS, tr("see a case's photos"))
    views = photos.case_photos(db, args.id)
    if not views and not args.json:
        print(tr("Case {id} has no photos.", id=args.id))
    for view in views:
        if args.json:
            common.emit_json({**view.__dict__, "reason": view.reason})
            continue
        kind = tr("before") if view.kind == photos.BEFORE else tr("after")
        print(f"{kind}\t{view.ref}\t{_state(view)}")
    return 0


def photos_fetch(args: argparse.Namespace) -> int:
    """One round of fetching; exit 1 when a photo failed for good in it."""
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN, Role.LEAD, Role.OPERATOR], tr("fetch photos"))
    limits = photos.Limits(timeout_s=args.timeout)
    report = photos.fetch_due(db, requests.Session(), limits)
    for ref in report.stored:
        print(tr("stored: {ref}", ref=ref))
    for ref, why in report.retrying:
        print(tr("will try again: {ref}: {reason}", ref=ref, reason=why))
    for ref, why in report.failed:
        print(tr("could not be fetched: {ref}: {reason}", ref=ref, reason=why), file=sys.stderr)
    print(
        tr(
            "{stored} stored, {retrying} to try again, {failed} failed",
            stored=len(report.stored),
            retrying=len(report.retrying),
            failed=len(report.failed),
        ),
        file=sys.stderr,
    )
    return 1 if report.failed else 0


def photos_put(args: argparse.Namespace) -> int:
    """Store a file's bytes under a photo reference."""
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN, Role.LEAD, Role.OPERATOR], tr("store a photo"))
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise ValidationError(
            tr("Cannot read {path}: {reason}", path=args.file, reason=exc.strerror or exc), {"file": args.file}
        ) from None
    sha = photos.put(db, args.ref, data)
    print(tr("stored {ref} ({sha})", ref=args.ref, sha=sha[:12]))
    return 0


def photos_retry(args: argparse.Namespace) -> int:
    """Put failed URL photos back to be fetched."""
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN, Role.LEAD, Role.OPERATOR], tr("fetch photos"))
    n = photos.retry_failed(db, args.ref)
    print(tr("{n} photos will be fetched again.", n=n))
    return 0
