"""``assist``: the suggestion engine from the command line (categories for texts, duplicates of a case)."""

from __future__ import annotations

import argparse
import sys

from workstation.assist.categories import suggest_categories
from workstation.assist.duplicates import merge_candidates
from workstation.cli import common
from workstation.i18n import tr


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    area = sub.add_parser("assist", help="suggestions: categories for report texts, duplicates", parents=opts)
    area_sub = area.add_subparsers(dest="cmd", metavar="CMD")
    sug = area_sub.add_parser(
        "suggest", help="the three likeliest categories of each report text read from standard input", parents=opts
    )
    sug.add_argument("--json", action="store_true", help="one JSON object per input line")
    sug.add_argument("--grid", metavar="CODE", help="the grid the reports come from (similar cases there count more)")
    sug.set_defaults(handler=suggest)
    dup = area_sub.add_parser("duplicates", help="the cases a case may duplicate", parents=opts)
    dup.add_argument("case", type=int, metavar="CASE_ID")
    dup.add_argument("--limit", type=int, default=10)
    dup.add_argument("--json", action="store_true", help="one JSON object per candidate")
    dup.set_defaults(handler=duplicates)


@common.no_identity
def suggest(args: argparse.Namespace) -> int:
    """Print the top three categories of each non-empty line of standard input."""
    db = common.database(args)
    for raw in sys.stdin:
        text = raw.strip()
        if not text:
            continue
        found = suggest_categories(db, text, grid_code=getattr(args, "grid", None), limit=3)
        if args.json:
            common.emit_json(
                {
                    "text": text,
                    "suggestions": [
                        {"code": sg.code, "name": sg.name, "score": sg.score, "reasons": sg.reasons} for sg in found
                    ],
                }
            )
        else:
            line = "; ".join(f"{sg.code} {sg.score:.2f} {sg.name}" for sg in found)
            print(line or tr("no suggestion"))
        sys.stdout.flush()
    return 0


@common.no_identity
def duplicates(args: argparse.Namespace) -> int:
    """Print the merge candidates of one case."""
    db = common.database(args)
    found = merge_candidates(db, args.case, limit=args.limit)
    for cand in found:
        if args.json:
            common.emit_json({"case": cand.case_id, "score": cand.score, "reasons": cand.reasons})
        else:
            print(f"{cand.case_id} {cand.score:.2f} " + "; ".join(cand.reasons))
    if not found and not args.json:
        print(
            tr(
                "No merge candidates for case {id}: no similar report in the same grid or within 200 m in 7 days.",
                id=args.case,
            )
        )
    return 0
