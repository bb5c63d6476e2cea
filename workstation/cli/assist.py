"""``assist``: the suggestion engine from the command line (categories for texts, duplicates of a case)."""

from __future__ import annotations

import argparse
import sys

from workstation import clock
from workstation.assist.categories import suggest_categories
from workstation.assist.duplicates import merge_candidates
from workstation.assist.hotspots import REPEAT_COUNT, REPEAT_DAYS, hotspots, repeat_of
from workstation.assist.places import locate
from workstation.cli import common
from workstation.i18n import tr


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    area = sub.add_parser("assist", help="suggestions: categories for report texts, duplicates", parents=opts)
    area_sub = area.add_subparsers(dest="cmd", metavar="CMD")
    sug = area_sub.add_parser(
        "suggest",
        help="the three likeliest categories, and the grid its address names, of each report text on standard input",
        parents=opts,
    )
    sug.add_argument("--json", action="store_true", help="one JSON object per input line")
    sug.add_argument("--grid", metavar="CODE", help="the grid the reports come from (similar cases there count more)")
    sug.set_defaults(handler=suggest)
    dup = area_sub.add_parser("duplicates", help="the cases a case may duplicate", parents=opts)
    dup.add_argument("case", type=int, metavar="CASE_ID")
    dup.add_argument("--limit", type=int, default=10)
    dup.add_argument("--json", action="store_true", help="one JSON object per candidate")
    dup.set_defaults(handler=duplicates)
    hot = area_sub.add_parser(
        "hotspots",
        help="places where one kind of problem was reported again and again (for the 4+X joint team)",
        parents=opts,
    )
    hot.add_argument("--days", type=int, default=REPEAT_DAYS, help="look back this many days")
    hot.add_argument("--min", type=int, default=REPEAT_COUNT, dest="min_count", help="at least this many reports")
    hot.add_argument("--json", action="store_true", help="one JSON object per hot spot")
    hot.set_defaults(handler=hot_spots)
    rep = area_sub.add_parser(
        "repeats", help="whether a case repeats earlier complaints at its place, and which", parents=opts
    )
    rep.add_argument("case", type=int, metavar="CASE_ID")
    rep.add_argument("--json", action="store_true", help="one JSON object")
    rep.set_defaults(handler=repeats)


@common.no_identity
def suggest(args: argparse.Namespace) -> int:
    """Print the top three categories of each non-empty line of standard input."""
    db = common.database(args)
    for raw in sys.stdin:
        text = raw.strip()
        if not text:
            continue
        given = getattr(args, "grid", None)
        place = None if given else locate(text)
        grid = given or (place.grid_code if place else None)
        found = suggest_categories(db, text, grid_code=grid, limit=3)
        if args.json:
            out: dict[str, object] = {
                "text": text,
                "suggestions": [
                    {"code": sg.code, "name": sg.name, "score": sg.score, "reasons": sg.reasons} for sg in found
                ],
            }
            if place is not None:
                out["grid"] = {
                    "code": place.grid_code,
                    "name": place.grid_name,
                    "lon": place.lon,
                    "lat": place.lat,
                    "reason": place.reason,
                }
            common.emit_json(out)
        else:
            line = "; ".join(f"{sg.code} {sg.score:.2f} {sg.name}" for sg in found)
            if place is not None:
                line = (line + " | " if line else "") + place.reason
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


def hot_spots(args: argparse.Namespace) -> int:
    """Print the hot spots of the last days, most reports first."""
    db = common.database(args)
    common.actor(db, args, common.CASE_READERS, tr("see the hot spots"))
    spots = hotspots(db, clock.now(), days=args.days, min_count=args.min_count)
    for spot in spots:
        if args.json:
            common.emit_json(
                {
                    "grid": spot.grid_code,
                    "grid_name": spot.grid_name,
                    "category": spot.category,
                    "category_name": spot.category_name,
                    "count": spot.count,
                    "cases": spot.case_ids,
                    "first": spot.first.isoformat(),
                    "last": spot.last.isoformat(),
                }
            )
        else:
            print(
                tr(
                    "{grid} {code} {name}: {n} reports, cases {cases}",
                    grid=spot.grid_name,
                    code=spot.category,
                    name=spot.category_name,
                    n=spot.count,
                    cases=", ".join(f"#{cid}" for cid in spot.case_ids),
                )
            )
    if not spots and not args.json:
        print(tr("no hot spots"))
    return 0


def repeats(args: argparse.Namespace) -> int:
    """Print whether a case repeats earlier complaints."""
    db = common.database(args)
    common.actor(db, args, common.CASE_READERS, tr("see a case's repeats"))
    found = repeat_of(db, args.case)
    if args.json:
        common.emit_json(
            {"case": args.case, "repeat": found is not None}
            | (
                {"earlier": found.earlier, "category": found.category, "unit": found.unit, "reason": found.reason}
                if found
                else {}
            )
        )
    elif found is None:
        print(tr("not a repeat"))
    else:
        print(found.reason)
        print(tr("earlier: {cases}", cases=", ".join(f"#{cid}" for cid in found.earlier)))
    return 0
