"""``report add``: add reports from JSON lines, keeping every refused line with its reasons; ``report monthly``."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

from sqlalchemy.exc import SQLAlchemyError

from workstation.cli import common
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.services import monthly
from workstation.services.errors import ValidationError, WorkstationError
from workstation.services.masking import masked_input
from workstation.services.reports import add_report


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    rep = sub.add_parser("report", help="incoming reports", parents=opts)
    rep_sub = rep.add_subparsers(dest="cmd", metavar="CMD")
    add = rep_sub.add_parser("add", help="add reports from a JSON-lines file (or - for standard input)", parents=opts)
    add.add_argument("file", metavar="FILE|-")
    add.add_argument("--json", action="store_true", help="print one JSON result per line")
    add.set_defaults(handler=report_add)
    monthly = rep_sub.add_parser(
        "monthly", help="the monthly report: headline figures, evaluation tables, charts", parents=opts
    )
    monthly.add_argument("--month", required=True, help="the month, YYYY-MM")
    monthly.add_argument("--format", choices=["xlsx", "pdf"], default="xlsx")
    monthly.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    monthly.set_defaults(handler=report_monthly)


SUPERVISORS = (Role.LEAD, Role.ADMIN, Role.TRAINER)


def report_monthly(args: argparse.Namespace) -> int:
    """Write the monthly report of a month as an Excel workbook or an A4 PDF."""
    db = common.database(args)
    common.actor(db, args, SUPERVISORS, tr("the monthly report"))
    try:
        content = monthly.build(db, args.month)
    except ValueError:
        raise ValidationError(
            tr("{month} is not a month: write it as YYYY-MM, e.g. 2026-11.", month=args.month), {"month": args.month}
        ) from None
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ValidationError(tr("There is no folder {path}.", path=str(out.parent)), {"out": args.out})
    if args.format == "pdf":
        from workstation.ui.report_pdf import write_pdf  # Qt only when a PDF is asked for

        pages = write_pdf(db, content, out)
        print(tr("Wrote {path} ({n} pages).", path=str(out), n=pages))
    else:
        monthly.write_xlsx(content, out)
        print(tr("Wrote {path}.", path=str(out)))
    return 0


def _stdin_lines() -> Iterable[bytes]:
    """Standard input's lines as bytes (its byte layer: a password line before them was read from it too)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        return cast(Iterable[bytes], buffer)
    return (line.encode("utf-8", "surrogatepass") for line in sys.stdin)  # a text stream (tests)


def _open(path: str) -> Iterable[bytes]:
    if path == "-":
        return _stdin_lines()
    try:
        return open(path, "rb")
    except OSError as exc:
        raise ValidationError(
            tr("Cannot read {path}: {reason}", path=path, reason=exc.strerror or exc), {"file": path}
        ) from None


def _lines(stream: Iterable[bytes]) -> Iterator[tuple[int, str | None, bytes]]:
    """Each line decoded alone: (number, text or None when it is not UTF-8, raw bytes)."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a byte-order mark (Windows editors) is not part of line 1
        try:
            yield number, raw.decode("utf-8"), raw
        except UnicodeDecodeError:
            yield number, None, raw


def _printable(text: str) -> str:
    """Text any terminal can take: lone surrogates replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def report_add(args: argparse.Namespace) -> int:
    """Add each valid line; print each refused line with its reasons; exit 1 if any was refused."""
    db = common.database(args)
    by = common.actor(db, args)
    stream = _open(args.file)
    added = updated = existing = refused = 0
    progress = common.Progress(tr("reports"))
    try:
        for number, raw, data_bytes in _lines(stream):
            if raw is None:
                refused += 1
                why = {"line": tr("not UTF-8 text: save the file as UTF-8 and add this line again")}
                _refused(args, number, why, data_bytes.decode("utf-8", "replace"))
                continue
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                result = add_report(db, data, by)
            except json.JSONDecodeError as exc:
                refused += 1
                _refused(args, number, {"json": tr("not valid JSON ({reason})", reason=exc.msg)}, raw)
                continue
            except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, nesting too deep
                refused += 1
                _refused(args, number, {"json": tr("not valid JSON ({reason})", reason=str(exc)[:100])}, raw)
                continue
            except ValidationError as exc:
                refused += 1
                _refused(args, number, exc.fields or {"report": exc.message}, raw)
                continue
            except (SQLAlchemyError, WorkstationError) as exc:  # this line's write failed: the next ones go on
                refused += 1
                reason = exc.message if isinstance(exc, WorkstationError) else type(exc).__name__
                _refused(args, number, {"database": tr("not saved: {reason}", reason=reason)}, raw)
                continue
            if result.created:
                added += 1
            elif result.updated:
                updated += 1
            else:
                existing += 1
            if args.json:
                line = {"line": number, "case": result.case_id, "created": result.created}
                common.emit_json({**line, "updated": True} if result.updated else line)
            else:
                if result.created:
                    word = tr("added as case")
                elif result.updated:
                    word = tr("updated case")
                else:
                    word = tr("already present as case")
                print(tr("line {n}: {word} {id}", n=number, word=word, id=result.case_id))
            progress.step()
    finally:
        progress.finish()
        if isinstance(stream, io.IOBase):
            stream.close()
    if updated:
        summary = tr(
            "{added} added, {updated} updated, {existing} already present, {refused} refused",
            added=added,
            updated=updated,
            existing=existing,
            refused=refused,
        )
    else:
        summary = tr(
            "{added} added, {existing} already present, {refused} refused",
            added=added,
            existing=existing,
            refused=refused,
        )
    print(summary, file=sys.stderr)
    return 1 if refused else 0


def _refused(args: argparse.Namespace, number: int, fields: dict[str, str], raw: str) -> None:
    fields = {_printable(str(k)): _printable(str(v)) for k, v in fields.items()}
    if args.json:
        common.emit_json({"line": number, "refused": fields, "input": _printable(masked_input(raw.rstrip("\n")))})
        return
    reasons = "; ".join(f"{k}: {v}" for k, v in fields.items())
    print(tr("line {n} refused: {reasons}", n=number, reasons=reasons), file=sys.stderr)
