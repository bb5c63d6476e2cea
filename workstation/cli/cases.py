"""``case``: list, show and export cases, and take every lifecycle action on one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from workstation.cli import common
from workstation.domain.lifecycle import N_
from workstation.domain.reasons import reason_text
from workstation.formatting import details_text, local_time, yes_no
from workstation.i18n import action_label, channel_label, state_label, tr
from workstation.services import lifecycle as lc
from workstation.services.actors import Actor
from workstation.services.errors import ValidationError
from workstation.services.export_cells import SafeCsvDictWriter
from workstation.services.masking import masked_case, reveal_cases
from workstation.services.queries import STATES, get_case, iter_cases
from workstation.storage.db import Database

# The CSV's columns: field name -> the header a person reads (the header row is in the seat's language
# unless --field-names asks for these names, which scripts rely on).
CSV_TITLES = {
    "id": N_("Case no."),
    "status": N_("Status"),
    "channel": N_("Channel"),
    "text": N_("Text"),
    "address": N_("Address"),
    "category_code": N_("Category code"),
    "category_name": N_("Category"),
    "unit_code": N_("Unit code"),
    "unit_name": N_("Unit"),
    "grid": N_("Grid code"),
    "grid_name": N_("Grid"),
    "community": N_("Community"),
    "street": N_("Street office"),
    "received": N_("Received at"),
    "filed": N_("Filed at"),
    "dispatched": N_("Dispatched at"),
    "deadline": N_("Deadline"),
    "handled": N_("Handled at"),
    "closed": N_("Closed at"),
    "overdue": N_("Overdue"),
}
CSV_COLUMNS = list(CSV_TITLES)

Run = Callable[[Database, Actor, argparse.Namespace], lc.Outcome]

# Each action: (command name, help, extra arguments, how to run it).
ACTIONS: list[tuple[str, str, list[tuple[tuple[str, ...], dict[str, Any]]], Run]] = [
    (
        "file",
        N_("file under a category (computes the deadline)"),
        [(("--category",), {"required": True, "metavar": "CODE"}), (("--note",), {"default": ""})],
        lambda db, by, a: lc.file(db, by, a.id, a.category, expected_version=a.expect_version, note=a.note),
    ),
    (
        "dispatch",
        N_("dispatch or re-dispatch (default: the category's unit at the case's place)"),
        [(("--unit",), {"metavar": "CODE"}), (("--note",), {"default": ""})],
        lambda db, by, a: lc.dispatch(db, by, a.id, a.unit, expected_version=a.expect_version, note=a.note),
    ),
    (
        "add-unit",
        N_("add a co-unit (加派)"),
        [(("--unit",), {"required": True, "metavar": "CODE"})],
        lambda db, by, a: lc.add_unit(db, by, a.id, a.unit, expected_version=a.expect_version),
    ),
    (
        "reject",
        N_("reject with a reason"),
        [(("--reason",), {"required": True})],
        lambda db, by, a: lc.reject(db, by, a.id, a.reason, expected_version=a.expect_version),
    ),
    (
        "merge",
        N_("merge into the case it duplicates"),
        [(("--into",), {"required": True, "type": int, "metavar": "ID"})],
        lambda db, by, a: lc.merge(db, by, a.id, a.into, expected_version=a.expect_version),
    ),
    (
        "return",
        N_("the unit returns the case (not theirs), with a reason"),
        [(("--reason",), {"required": True})],
        lambda db, by, a: lc.return_case(db, by, a.id, a.reason, expected_version=a.expect_version),
    ),
    (
        "acknowledge",
        N_("the unit acknowledges the case"),
        [],
        lambda db, by, a: lc.acknowledge(db, by, a.id, expected_version=a.expect_version),
    ),
    (
        "handle",
        N_("the unit reports its result"),
        [(("--result",), {"required": True}), (("--photo",), {"action": "append", "default": []})],
        lambda db, by, a: lc.handle(db, by, a.id, a.result, a.photo, expected_version=a.expect_version),
    ),
    (
        "request-extension",
        N_("the unit asks for more time"),
        [(("--limit",), {"required": True}), (("--reason",), {"required": True})],
        lambda db, by, a: lc.request_extension(db, by, a.id, a.limit, a.reason, expected_version=a.expect_version),
    ),
    (
        "decide-extension",
        N_("approve or refuse the pending extension request (shift lead)"),
        [
            (("--approve",), {"action": "store_true"}),
            (("--refuse",), {"action": "store_true"}),
            (("--reason",), {"default": ""}),
        ],
        lambda db, by, a: lc.decide_extension(db, by, a.id, _approve(a), a.reason, expected_version=a.expect_version),
    ),
    (
        "verify",
        N_("send to on-site verification"),
        [(("--verifier",), {"default": ""})],
        lambda db, by, a: lc.verify(db, by, a.id, a.verifier, expected_version=a.expect_version),
    ),
    (
        "close",
        N_("close a verified case"),
        [(("--note",), {"default": ""})],
        lambda db, by, a: lc.close(db, by, a.id, a.note, expected_version=a.expect_version),
    ),
    (
        "rework",
        N_("verification failed: back to the unit"),
        [(("--reason",), {"required": True}), (("--limit",), {"help": N_("a new limit from now")})],
        lambda db, by, a: lc.rework(db, by, a.id, a.reason, a.limit, expected_version=a.expect_version),
    ),
    (
        "supervise",
        N_("mark an overdue case as supervised (shift lead)"),
        [(("--note",), {"default": ""})],
        lambda db, by, a: lc.supervise(db, by, a.id, a.note, expected_version=a.expect_version),
    ),
    (
        "suspend",
        N_("suspend with a written explanation (shift lead)"),
        [(("--reason",), {"required": True})],
        lambda db, by, a: lc.suspend(db, by, a.id, a.reason, expected_version=a.expect_version),
    ),
    (
        "resume",
        N_("take a suspended case up again (shift lead)"),
        [(("--note",), {"default": ""})],
        lambda db, by, a: lc.resume(db, by, a.id, a.note, expected_version=a.expect_version),
    ),
    (
        "reopen",
        N_("reopen a rejected or merged report (shift lead)"),
        [(("--reason",), {"required": True})],
        lambda db, by, a: lc.reopen(db, by, a.id, a.reason, expected_version=a.expect_version),
    ),
    ("undo", N_("undo your last action on the case (within 30 s)"), [], lambda db, by, a: lc.undo(db, by, a.id)),
]


def _approve(args: argparse.Namespace) -> bool:
    if args.approve == args.refuse:
        raise ValidationError(tr("Say --approve or --refuse."), {"decision": tr("required")})
    return bool(args.approve)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    case = sub.add_parser("case", help="cases: list, show, export, and every lifecycle action", parents=opts)
    cs = case.add_subparsers(dest="cmd", metavar="CMD")
    for name, help_text in (("list", N_("list cases")), ("export", N_("export cases with their history"))):
        p = cs.add_parser(name, help=help_text, parents=opts)
        p.add_argument("--status", choices=STATES)
        p.add_argument("--json", action="store_true", help="JSON lines")
        p.add_argument(
            "--search",
            metavar="TEXT",
            default="",
            help="only cases matching TEXT as the window's / does (id, phone digits, text, address, grid)",
        )
        _reveal_option(p)
        if name == "export":
            p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
            p.add_argument("--out", metavar="FILE", help="write to a file instead of standard output")
            p.add_argument(
                "--field-names",
                action="store_true",
                help="CSV for scripts: a header row of field names and states, channels and overdue as codes",
            )
        p.set_defaults(handler=case_list if name == "list" else case_export)
    show = cs.add_parser("show", help="one case with its history", parents=opts)
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    _reveal_option(show)
    show.set_defaults(handler=case_show)
    for name, help_text, extra, run in ACTIONS:
        p = cs.add_parser(name, help=help_text, parents=opts)
        p.add_argument("id", type=int, metavar="ID")
        for flags, kwargs in extra:
            p.add_argument(*flags, **kwargs)
        p.add_argument(
            "--expect-version",
            type=int,
            metavar="V",
            help="fail if the case is no longer at this version (someone else acted)",
        )
        p.set_defaults(handler=_action_handler(run))


def _reveal_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reveal",
        action="store_true",
        help="show reporters' phone numbers in clear (shift leads and administrators; recorded with --reason)",
    )
    p.add_argument("--reason", default="", metavar="TEXT", help="why the clear phone numbers are needed")


def _readable_row(case: dict[str, Any]) -> dict[str, Any]:
    """A CSV row as a person reads it: the state, channel and overdue flag in words (times stay ISO)."""
    return case | {
        "status": case.get("status_label") or case["status"],
        "channel": channel_label(case["channel"]) if case.get("channel") else "",
        "overdue": yes_no(case.get("overdue")),
    }


def _reader(db: Database, args: argparse.Namespace, case_ids: list[int] | None) -> Callable[[dict[str, Any]], Any]:
    """Check that the acting user may read cases; return how each case is shown (masked unless revealed)."""
    by = common.actor(db, args, common.CASE_READERS, tr("read cases"))
    if not args.reveal:
        if args.reason:
            raise ValidationError(tr("--reason goes with --reveal."), {"reason": tr("without --reveal")})
        return masked_case
    reveal_cases(db, by, case_ids, args.reason, f"case {args.cmd}")
    return lambda case: case


def _action_handler(run: Run) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        db = common.database(args)
        outcome = run(db, common.actor(db, args), args)
        case = get_case(db, outcome.case_id, history=False)
        print(
            tr(
                "case {id}: {state} (version {version})",
                id=case["id"],
                state=case["status_label"],
                version=case["version"],
            )
        )
        if case["unit_name"] and outcome.state == "dispatched":
            print(tr("  unit: {unit} ({code})", unit=case["unit_name"], code=case["unit_code"]))
        if case["deadline"] and outcome.state in ("filed", "dispatched", "rework"):
            print(tr("  deadline: {deadline}", deadline=case["deadline"]))
        return 0

    return handler


def _line(case: dict[str, Any]) -> str:
    flag = tr("OVERDUE") if case["overdue"] else ""
    text = case["text"] if len(case["text"]) <= 40 else case["text"][:39] + "…"
    return (
        f"{case['id']:>7}  {case['status_label']:<5} {case['channel']:<7} {case['category_code'] or '-':<5}"
        f" {case['grid_name'] or '-':<10} {(case['deadline'] or '-')[:16]:<16} {flag:<4} {text}"
    )


def case_list(args: argparse.Namespace) -> int:
    """Print cases, oldest first."""
    db = common.database(args)
    shown = _reader(db, args, None)
    found = 0
    for case in iter_cases(db, args.status, search=args.search):
        found += 1
        if args.json:
            common.emit_json(shown(case))
        else:
            print(_line(case))
    if not found and not args.json:
        if args.search:
            print(tr("No case matches {text}.", text=repr(args.search)))
        elif args.status:
            print(tr("No cases with status {status}.", status=args.status))
        else:
            print(tr("No cases yet."))
    return 0


def case_export(args: argparse.Namespace) -> int:
    """Write every case with its history (JSON lines) or as a table (CSV)."""
    db = common.database(args)
    shown = _reader(db, args, None)
    try:
        out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise ValidationError(
            tr("Cannot write {path}: {reason}", path=args.out, reason=exc.strerror or exc), {"out": args.out}
        ) from None
    progress = common.Progress(tr("cases exported"))
    try:
        writer = SafeCsvDictWriter(out, CSV_COLUMNS, extrasaction="ignore") if args.format == "csv" else None
        readable = not getattr(args, "field_names", False)
        if writer:
            if readable:
                writer.writerow({key: tr(title) for key, title in CSV_TITLES.items()})
            else:
                writer.writeheader()
        for case in iter_cases(db, args.status, history=writer is None, search=args.search):
            if writer:
                writer.writerow(_readable_row(shown(case)) if readable else shown(case))
            else:
                import json

                out.write(json.dumps(shown(case), ensure_ascii=False) + "\n")
            progress.step()
    finally:
        progress.finish()
        if out is not sys.stdout:
            out.close()
    return 0


def case_show(args: argparse.Namespace) -> int:
    """Print one case and its history."""
    db = common.database(args)
    common.actor(db, args, common.CASE_READERS, tr("read cases"))
    case = get_case(db, args.id)
    case = _reader(db, args, [args.id])(case)
    if args.json:
        common.emit_json(case)
        return 0
    fields = [
        (
            tr("Case"),
            f"{case['id']}  {case['status_label']}"
            + ("  " + tr("OVERDUE") if case["overdue"] else ""),
        ),
        (
            tr("Channel"),
            f"{case['channel_label']} ({case['channel']})"
            + (f"  #{case['external_id']}" if case["external_id"] else ""),
        ),
        (tr("Text"), case["text"]),
        (tr("Address"), case["address"] or "-"),
        (tr("Place"), " / ".join(x for x in (case["street"], case["community"], case["grid_name"]) if x) or "-"),
        (tr("Received"), case["received"]),
        (
            tr("Category"),
            f"{case['category_code']} {case['category_major']}/{case['category_name']}"
            if case["category_code"]
            else "-",
        ),
        (tr("Unit"), f"{case['unit_name']} ({case['unit_code']})" if case["unit_code"] else "-"),
        (tr("Co-units"), ", ".join(u["name"] for u in case["co_units"]) or "-"),
        (tr("Deadline"), case["deadline"] or "-"),
        (tr("Closure standard"), case["closure_standard"] or "-"),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key:<{width}}  {value}")
    print(tr("History:"))
    for e in case["history"]:
        extra = details_text(e["details"])
        reason = f" — {reason_text(e['reason'])}" if e["reason"] else ""
        before = state_label(e["from"]) if e["from"] else "-"
        print(
            f"  {local_time(e['at'])}  {e['who']:<10} {action_label(e['action'])}  {before} → {state_label(e['to'])}"
            f"{reason}{'  ' + extra if extra else ''}"
        )
    return 0
