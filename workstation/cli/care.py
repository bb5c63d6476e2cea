"""``care``: the roster of the nine priority groups, the visit worklist, visits, and spreadsheets."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workstation.cli import common
from workstation.domain.care import AREAS, CAMPAIGN_KINDS, CHANGE_KINDS, GENDERS, LIVING, MODES, schedule_reason
from workstation.i18n import tr
from workstation.services import care, care_export, care_import, care_privacy, care_visits, care_worklist
from workstation.services.errors import ValidationError

MET = {"yes": True, "no": False}


def _label(names: dict[str, str], code: object) -> str:
    """A code's name in the language in force (``-`` when there is none)."""
    return tr(names[str(code)]) if code in names else str(code or "-")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    area = sub.add_parser("care", help="care visits to the nine priority groups", parents=opts)
    cs = area.add_subparsers(dest="cmd", metavar="CMD")

    imp = cs.add_parser(
        "import", help="import a community's roster from an .xlsx file (all rows or none)", parents=opts
    )
    imp.add_argument("file", metavar="FILE.xlsx")
    imp.add_argument("--community", required=True, metavar="NAME")
    imp.add_argument("--skip-bad", action="store_true", help="import the good rows even if some fail")
    imp.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COL=FIELD",
        help="column (letter or number from 1) to field, instead of recognising the titles; repeat",
    )
    imp.set_defaults(handler=care_import_cmd)

    due = cs.add_parser("due", help="whom to visit: overdue first", parents=opts)
    due.add_argument("--community", metavar="NAME")
    due.add_argument("--grid", metavar="NAME")
    due.add_argument("--visitor", metavar="NAME")
    due.add_argument("--status", choices=["overdue", "due", "scheduled"])
    due.add_argument("--json", action="store_true", help="JSON lines")
    due.set_defaults(handler=care_due)

    visit = cs.add_parser("visit", help="record a visit (a need raises a case)", parents=opts)
    visit.add_argument("person", type=int, metavar="PERSON_ID")
    visit.add_argument("--mode", required=True, choices=list(MODES))
    visit.add_argument("--met", required=True, choices=list(MET))
    visit.add_argument("--need", action="append", default=[], metavar="TEXT", help="a need to raise as a case; repeat")
    visit.add_argument("--urgent", action="store_true", help="the needs are urgent")
    areas = ", ".join(f"{k} ({tr(v)})" for k, v in AREAS.items())
    visit.add_argument(
        "--obs", action="append", default=[], metavar="AREA=ok|concern[:NOTE]", help=tr("areas: {areas}", areas=areas)
    )
    visit.add_argument("--note", default="")
    visit.add_argument("--visitor", default="", metavar="NAME", help="who visited (default: the user)")
    visit.add_argument(
        "--at",
        metavar="TIME",
        help="when it happened: 2026-11-30 09:30 (local time) or 2026-11-30T09:30+08:00; default now; "
        "at most 30 days ago ($WORKSTATION_CARE_BACKDATE_DAYS), never in the future",
    )
    visit.add_argument("--next", metavar="DATE", help="next visit on this date instead of the interval")
    visit.add_argument("--next-reason", default="", metavar="TEXT")
    visit.add_argument("--key", metavar="KEY", help="idempotency key: the same key never records twice")
    visit.set_defaults(handler=care_visit)

    exp = cs.add_parser("export", help="write the visit ledger (走访台账) as .xlsx", parents=opts)
    exp.add_argument("file", metavar="FILE.xlsx")
    exp.add_argument("--community", metavar="NAME")
    exp.add_argument("--since", metavar="DATE")
    exp.add_argument("--until", metavar="DATE")
    exp.add_argument("--reveal", action="store_true", help="clear values (recorded, with --reason)")
    exp.add_argument("--reason", default="", metavar="TEXT")
    exp.set_defaults(handler=care_export_cmd)

    person = cs.add_parser("person", help="one person: groups, contacts, schedule, visits", parents=opts)
    person.add_argument("person", type=int, metavar="PERSON_ID")
    person.add_argument("--json", action="store_true")
    person.set_defaults(handler=care_person)

    add = cs.add_parser("add-person", help="add one person to the roster", parents=opts)
    add.add_argument("--name", required=True)
    add.add_argument("--grid", required=True, metavar="NAME")
    add.add_argument("--group", action="append", default=[], metavar="CODE", help="G1..G9 or the name; repeat")
    add.add_argument("--risk", choices=["normal", "high"], default="normal")
    add.add_argument("--id-number", default=None)
    add.add_argument("--phone", default="")
    add.add_argument("--address", default="")
    add.add_argument("--living", default="", choices=["", *LIVING])
    add.add_argument("--birth-date", default=None, metavar="DATE")
    add.add_argument("--visitor", default="", metavar="NAME")
    add.set_defaults(handler=care_add_person)

    change = cs.add_parser("change", help="record a major change: a visit is due within 24 hours", parents=opts)
    change.add_argument("person", type=int, metavar="PERSON_ID")
    change.add_argument("--kind", required=True, choices=list(CHANGE_KINDS))
    change.add_argument("--at", metavar="ISO_TIME")
    change.add_argument("--note", default="")
    change.set_defaults(handler=care_change)

    campaign = cs.add_parser("campaign", help="ask for visits to chosen groups in chosen streets", parents=opts)
    campaign.add_argument("--title", required=True)
    campaign.add_argument("--kind", required=True, choices=list(CAMPAIGN_KINDS))
    campaign.add_argument("--group", action="append", default=[], required=True, metavar="CODE")
    campaign.add_argument("--street", action="append", default=[], metavar="NAME", help="repeat; none: every street")
    campaign.add_argument("--deadline", required=True, metavar="ISO_TIME")
    campaign.add_argument("--note", default="")
    campaign.set_defaults(handler=care_campaign)

    cov = cs.add_parser("coverage", help="people visited on time and overdue, per grid", parents=opts)
    cov.add_argument("--community", metavar="NAME")
    cov.add_argument("--json", action="store_true")
    cov.set_defaults(handler=care_coverage)

    rev = cs.add_parser("reveal", help="show one masked field in clear (recorded)", parents=opts)
    rev.add_argument("person", type=int, metavar="PERSON_ID")
    rev.add_argument("--field", required=True, choices=list(care_privacy.REVEALABLE))
    rev.add_argument("--reason", required=True, metavar="TEXT")
    rev.set_defaults(handler=care_reveal)


def _column(text: str) -> int:
    text = text.strip().upper()
    if text.isdigit() and int(text) >= 1:
        return int(text) - 1
    if text.isalpha() and text.isascii():
        n = 0
        for ch in text:
            n = n * 26 + ord(ch) - 64
        return n - 1
    raise ValidationError(tr("{col} is not a column (a letter, or a number from 1)", col=text), {"map": text})


def _mapping(items: list[str]) -> dict[int, str] | None:
    if not items:
        return None
    out = {}
    for item in items:
        col, sep, name = item.partition("=")
        if not sep:
            raise ValidationError(tr("Write each mapping as COL=FIELD, e.g. C=id_number."), {"map": item})
        out[_column(col)] = name.strip()
    return out


def care_import_cmd(args: argparse.Namespace) -> int:
    """Import a roster; print every bad row; exit 1 if any row failed."""
    db = common.database(args)
    by = common.actor(db, args)
    result = care_import.import_roster(
        db, by, args.file, args.community, _mapping(args.map), dry_run=args.dry_run, skip_bad=args.skip_bad
    )
    for bad in result.bad:
        print(bad.message, file=sys.stderr)
    if args.dry_run:
        print(tr("{good} of {rows} rows are good; nothing written (dry run)", good=result.good, rows=result.rows))
    elif result.bad and not args.skip_bad:
        print(
            tr(
                "{bad} of {rows} rows failed; nothing imported (fix them, or use --skip-bad)",
                bad=len(result.bad_rows),
                rows=result.rows,
            ),
            file=sys.stderr,
        )
    else:
        print(tr("{n} people imported", n=result.imported))
    return 1 if result.bad else 0


def _due_line(row: dict[str, Any]) -> str:
    late = tr("{n} d late", n=row["overdue_days"]) if row["status"] == "overdue" else ""
    return (
        f"{row['person_id']:>6}  {row['status_label'] or '-':<9} {late:<9} {(row['due'] or '-')[:16]:<16}  "
        f"{row['name']:<6} {'/'.join(row['groups']):<9} {row['grid_name']:<10} {row['phone']:<12} "
        f"{schedule_reason(row)}{' !' if row['urgent'] else ''}"
    )


def care_due(args: argparse.Namespace) -> int:
    """Print the worklist, overdue first."""
    db = common.database(args)
    rows = care_worklist.worklist(
        db, common.actor(db, args), args.community, args.grid, args.visitor, status=args.status
    )
    for row in rows:
        if args.json:
            common.emit_json(row)
        else:
            print(_due_line(row))
    return 0


def _observations(items: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for item in items:
        area, sep, rest = item.partition("=")
        status, _, note = rest.partition(":")
        if not sep:
            raise ValidationError(tr("Write each observation as AREA=ok or AREA=concern:NOTE."), {"obs": item})
        out[area.strip()] = {"status": status.strip(), "note": note.strip()}
    return out


def care_visit(args: argparse.Namespace) -> int:
    """Record a visit; print the visit and the case raised for each need."""
    db = common.database(args)
    by = common.actor(db, args)
    next_due = None
    if args.next:
        try:
            next_due = care.parse_date(args.next)
        except ValueError as exc:
            raise ValidationError(
                tr("--next {value}: {reason}", value=args.next, reason=exc), {"next": str(exc)}
            ) from None
    result = care_visits.record_visit(
        db,
        by,
        args.person,
        mode=args.mode,
        met=MET[args.met],
        at=args.at,
        visitor=args.visitor,
        observations=_observations(args.obs),
        needs=[care_visits.Need(text, raise_case=True, urgent=args.urgent) for text in args.need],
        note=args.note,
        next_due=next_due,
        next_due_reason=args.next_reason,
        key=args.key,
    )
    word = tr("recorded") if result.created else tr("already recorded")
    print(tr("visit {id} {word}", id=result.visit_id, word=word))
    for n, case_id in enumerate(result.case_ids, start=1):
        if case_id is not None:
            print(tr("  need {n}: case {id}", n=n, id=case_id))
    return 0


def care_export_cmd(args: argparse.Namespace) -> int:
    """Write the visit ledger."""
    if args.reveal and not args.reason.strip():
        raise ValidationError(
            tr("--reveal needs --reason: say why clear values are needed."), {"reason": tr("required")}
        )
    if args.reason and not args.reveal:
        raise ValidationError(tr("--reason goes with --reveal."), {"reveal": tr("required")})
    db = common.database(args)
    try:
        since = care.parse_date(args.since) if args.since else None
        until = care.parse_date(args.until) if args.until else None
    except ValueError as exc:
        raise ValidationError(tr("--since/--until: {reason}", reason=exc), {"since": str(exc)}) from None
    result = care_export.export_ledger(
        db,
        common.actor(db, args),
        args.file,
        community=args.community,
        since=since,
        until=until,
        reveal_reason=args.reason if args.reveal else None,
    )
    word = tr("in clear (recorded)") if result.revealed else tr("masked")
    print(tr("{n} visits written to {path}, {word}", n=result.rows, path=result.path, word=word))
    return 0


def care_person(args: argparse.Namespace) -> int:
    """Print one person's page."""
    db = common.database(args)
    page = care_worklist.person_page(db, common.actor(db, args), args.person)
    if args.json:
        common.emit_json(page)
        return 0
    sched = page["schedule"] or {}
    contacts = "; ".join(f"{c['name']} ({c['relation']}) {c['phone']}" for c in page["contacts"])
    fields = [
        (tr("Person"), f"{page['id']}  {page['name']}  {_label(GENDERS, page['gender'])}  {page['birth_date'] or '-'}"),
        (tr("Identity number"), page["id_number"] or "-"),
        (tr("Phone"), page["phone"] or "-"),
        (tr("Address"), page["address"] or "-"),
        (tr("Place"), f"{page['community_name']} / {page['grid_name']}"),
        (tr("Living"), page["living_label"] or "-"),
        (tr("Visitor"), page["visitor"] or "-"),
        (tr("Contacts"), contacts or "-"),
        (tr("Health"), page["health_notes"] or "-"),
        (tr("Notes"), page["notes"] or "-"),
        (
            tr("Next visit"),
            f"{sched.get('status_label') or '-'}  {(sched.get('due') or '-')[:16]}  ({schedule_reason(sched) or '-'})",
        ),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key:<{width}}  {value}")
    print(tr("Groups:"))
    for m in page["memberships"]:
        state = "" if m["active"] else tr("(ended)")
        risk = tr("high risk") if m["risk"] == "high" else tr("normal risk")
        print(f"  {m['group']} {m['group_name']:<8} {risk:<6} {m['since']} → {m['until'] or ''} {state}")
    print(tr("Visits:"))
    for v in page["visits"]:
        needs = "; ".join(n["text"] + (f" → #{n['case_id']}" if n["case_id"] else "") for n in v["needs"])
        met = tr("met") if v["met"] else tr("not met")
        recorded = tr("recorded {at} by {who}", at=v["recorded_at"][:16].replace("T", " "), who=v["recorded_by"])
        mode = _label(MODES, v["mode"])
        print(f"  {v['at'][:16].replace('T', ' ')}  {v['visitor']:<8} {mode:<5} {met:<7} {needs}  ({recorded})")
    return 0


def care_add_person(args: argparse.Namespace) -> int:
    """Add a person."""
    db = common.database(args)
    data: dict[str, Any] = {
        "name": args.name,
        "grid": args.grid,
        "groups": args.group,
        "risk": args.risk,
        "phone": args.phone,
        "address": args.address,
        "living": args.living,
        "visitor": args.visitor,
    }
    if args.id_number:
        data["id_number"] = args.id_number
    if args.birth_date:
        data["birth_date"] = args.birth_date
    person_id = care.add_person(db, common.actor(db, args), data)
    print(tr("person {id} added", id=person_id))
    return 0


def care_change(args: argparse.Namespace) -> int:
    """Record a major change."""
    db = common.database(args)
    change_id = care_visits.record_major_change(db, common.actor(db, args), args.person, args.kind, args.at, args.note)
    print(tr("major change {id} recorded: a visit is due within 24 hours", id=change_id))
    return 0


def care_campaign(args: argparse.Namespace) -> int:
    """Start a campaign."""
    db = common.database(args)
    campaign_id = care_visits.create_campaign(
        db, common.actor(db, args), args.title, args.kind, args.group, args.street, args.deadline, note=args.note
    )
    print(tr("campaign {id} started", id=campaign_id))
    return 0


def care_coverage(args: argparse.Namespace) -> int:
    """Print coverage per grid."""
    db = common.database(args)
    cov = care_worklist.coverage(db, common.actor(db, args), args.community)
    if args.json:
        common.emit_json(cov)
        return 0

    def pct(share: float | None) -> str:
        return "-" if share is None else f"{share:.0%}"

    for g in [*cov["grids"], {"grid_name": cov["community_name"], **cov}]:
        print(f"{g['grid_name']:<12} {g['people']:>5} {pct(g['share_on_time']):>6} {g['overdue']:>5}")
    return 0


def care_reveal(args: argparse.Namespace) -> int:
    """Print one field in clear."""
    db = common.database(args)
    value = care_privacy.reveal(db, common.actor(db, args), args.person, args.field, args.reason)
    if isinstance(value, str):
        print(value)
    else:
        common.emit_json(value)
    return 0
