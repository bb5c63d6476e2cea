"""Commands on the database and reference data: ``db``, ``catalogue``, ``calendar``."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from sqlalchemy import select

from workstation.cli import audit, common
from workstation.domain.calendar import LimitError
from workstation.domain.lifecycle import N_, Role
from workstation.formatting import limit_text, weekday
from workstation.i18n import tr
from workstation.models import Category
from workstation.services import counts
from workstation.services.calendar import load_calendar, set_day
from workstation.services.errors import ValidationError
from workstation.services.reports import parse_time
from workstation.storage import migrate
from workstation.storage.bootstrap import open_database
from workstation.storage.db import make_engine, resolve_db_url

URGENCY = {"normal": N_("normal"), "urgent": N_("urgent")}
DAY_KINDS = {"holiday": N_("a holiday"), "workday": N_("a make-up working day"), "normal": N_("a normal day")}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    db = sub.add_parser("db", help="database schema", parents=opts).add_subparsers(dest="cmd", metavar="CMD")
    up = db.add_parser("upgrade", help="bring the database to this program's schema", parents=opts)
    up.set_defaults(handler=db_upgrade)
    audit.register_db_roles(db, opts)
    chk = db.add_parser(
        "check", help="compare the kept queue counts with a real count of the cases (administrators)", parents=opts
    )
    chk.add_argument("--repair", action="store_true", help="replace wrong kept counts by the real ones")
    chk.set_defaults(handler=db_check)

    cat = sub.add_parser("catalogue", help="the category catalogue", parents=opts)
    cat_sub = cat.add_subparsers(dest="cmd", metavar="CMD")
    ls = cat_sub.add_parser("list", help="list major and minor categories", parents=opts)
    ls.add_argument("--json", action="store_true", help="one JSON line per major category with its minors")
    ls.set_defaults(handler=catalogue_list)

    cal = sub.add_parser("calendar", help="the working calendar", parents=opts)
    cal_sub = cal.add_subparsers(dest="cmd", metavar="CMD")
    due = cal_sub.add_parser("due", help="the deadline of a time limit from a start time", parents=opts)
    due.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="ISO_TIME",
        help="start, ISO 8601 with timezone, e.g. 2026-11-27T17:30:00+08:00",
    )
    due.add_argument("--limit", required=True, help="30m, 2h (natural), 4wh (working hours), 2wd (working days)")
    due.set_defaults(handler=calendar_due)
    show = cal_sub.add_parser("show", help="working hours, holidays and make-up days", parents=opts)
    show.add_argument("--year", type=int)
    show.set_defaults(handler=calendar_show)
    st = cal_sub.add_parser("set", help="mark a day as holiday, workday (make-up) or normal", parents=opts)
    st.add_argument("day", metavar="DATE", help="YYYY-MM-DD")
    st.add_argument("kind", choices=["holiday", "workday", "normal"])
    st.set_defaults(handler=calendar_set)


@common.no_identity
def db_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the schema (an SQLite file is copied aside first)."""
    engine = make_engine(resolve_db_url(args.db if "db" in args else None))
    try:
        result = migrate.upgrade(engine)
    finally:
        engine.dispose()
    if result.changed:
        print(tr("upgraded the schema from {before} to {after}", before=result.before or "-", after=result.after))
        if result.backup:
            print(tr("the previous file was copied to {path}", path=result.backup))
    else:
        print(tr("the schema is up to date ({rev})", rev=result.after))
    open_database(args.db if "db" in args else None).dispose()
    return 0


def db_check(args: argparse.Namespace) -> int:
    """Prove the kept queue counts equal a real count; with ``--repair``, make them so."""
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN], tr("check the kept queue counts"))
    wrong = counts.check(db, repair=args.repair)
    for m in wrong:
        print(
            tr(
                "count {status}/{dim}/{value}: kept {kept}, real {real}",
                status=m.status or "*",
                dim=m.dim or "*",
                value=m.value or "*",
                kept=m.kept,
                real=m.real,
            )
        )
    if not wrong:
        print(tr("the kept queue counts equal a real count of the cases"))
        return 0
    if args.repair:
        print(tr("{n} kept counts were wrong and are repaired", n=len(wrong)))
        return 0
    print(tr("{n} kept counts are wrong: run `workstation db check --repair`", n=len(wrong)), file=sys.stderr)
    return 1


@common.no_identity
def catalogue_list(args: argparse.Namespace) -> int:
    """Print the catalogue."""
    db = common.database(args)
    with db.read() as s:
        rows = s.scalars(select(Category).where(Category.active).order_by(Category.code)).all()
    majors: dict[str, dict[str, object]] = {}
    for c in rows:
        major = majors.setdefault(c.major_code, {"code": c.major_code, "name": c.major_name, "minors": []})
        minors = major["minors"]
        assert isinstance(minors, list)
        minors.append(
            {
                "code": c.code,
                "name": c.name,
                "keywords": c.keywords,
                "unit": c.unit,
                "limit": c.time_limit,
                "urgency": c.urgency,
                "closure_standard": c.closure_standard,
            }
        )
    for major in majors.values():
        if getattr(args, "json", False):
            common.emit_json(major)
            continue
        print(f"{major['code']}  {major['name']}")
        for m in major["minors"]:  # type: ignore[attr-defined]
            limit, urgency = limit_text(m["limit"]), tr(URGENCY.get(str(m["urgency"]), str(m["urgency"])))
            print(f"  {m['code']}  {m['name']:<12}\t{m['unit']:<10}\t{limit:>8}\t{urgency}")
    return 0


@common.no_identity
def calendar_due(args: argparse.Namespace) -> int:
    """Print the deadline of a limit counted from a start time."""
    try:
        start = parse_time(args.start)
    except ValueError as exc:
        raise ValidationError(
            tr("--from {value}: {reason}", value=args.start, reason=exc), {"from": str(exc)}
        ) from None
    db = common.database(args)
    cal = load_calendar(db)
    try:
        due = cal.add(start, args.limit)
    except LimitError as exc:
        raise ValidationError(str(exc), {"limit": str(exc)}) from None
    print(f"{weekday(due)} " + due.strftime("%Y-%m-%d %H:%M %z")[:-2] + ":" + due.strftime("%z")[-2:])
    if not cal.covers(start, due):
        print(
            tr(
                "warning: the holidays of some year in this range are not in the calendar; "
                "an administrator adds them with 'calendar set'"
            ),
            file=sys.stderr,
        )
    return 0


@common.no_identity
def calendar_show(args: argparse.Namespace) -> int:
    """Print the calendar's settings."""
    cal = load_calendar(common.database(args))
    data = cal.to_dict()
    print(tr("timezone: {tz}", tz=data["tz"]))
    print(tr("working days (ISO weekdays): {days}", days=", ".join(str(d) for d in data["weekdays"])))
    print(tr("working hours: {hours}", hours=", ".join(f"{a}-{b}" for a, b in data["hours"])))
    for year, lists in sorted(data.get("years", {}).items()):
        if args.year and int(year) != args.year:
            continue
        print(f"{year}: " + tr("holidays") + ": " + " ".join(lists.get("holidays", [])))
        print(f"{year}: " + tr("make-up working days") + ": " + " ".join(lists.get("workdays", [])))
    return 0


def calendar_set(args: argparse.Namespace) -> int:
    """Mark one day."""
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        raise ValidationError(tr("{value} is not a date: use YYYY-MM-DD.", value=args.day), {"day": args.day}) from None
    db = common.database(args)
    set_day(db, common.actor(db, args), day, args.kind)
    print(tr("{day} is now {kind}", day=day.isoformat(), kind=tr(DAY_KINDS[args.kind])))
    return 0
