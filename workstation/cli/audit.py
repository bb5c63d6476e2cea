"""``audit``: verify and anchor the tamper-evident history; ``db roles``: the PostgreSQL roles a centre uses."""

from __future__ import annotations

import argparse

from workstation.cli import common
from workstation.i18n import tr
from workstation.services import audit
from workstation.services.errors import ValidationError
from workstation.storage import roles


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    area = sub.add_parser("audit", help="verify the history's hash chains (administrators)", parents=opts)
    cmds = area.add_subparsers(dest="cmd", metavar="CMD")
    ver = cmds.add_parser(
        "verify",
        help="recompute every hash chain and name the first entry changed, removed or inserted (exit 1 if any)",
        parents=opts,
    )
    ver.add_argument("--anchor", metavar="LINE", help="also check against a line printed earlier by 'audit anchor'")
    ver.add_argument("--json", action="store_true", help="one JSON line per break, then a summary line")
    ver.set_defaults(handler=audit_verify)
    anc = cmds.add_parser(
        "anchor", help="print one line that pins every entry so far: keep it outside the database", parents=opts
    )
    anc.set_defaults(handler=audit_anchor)


def register_db_roles(
    dbs: argparse._SubParsersAction[argparse.ArgumentParser], opts: list[argparse.ArgumentParser]
) -> None:
    """Add ``db roles`` under the ``db`` area."""
    rl = dbs.add_parser("roles", help="the PostgreSQL roles a centre should use (owner and seat)", parents=opts)
    rl.add_argument("--print-sql", action="store_true", required=True, help="print the SQL script")
    rl.add_argument(
        "--part",
        choices=("all", "setup", "grants"),
        default="all",
        help="setup: roles and ownership (superuser, once); grants: the seat's rights (owner, after every upgrade)",
    )
    rl.add_argument("--database", metavar="NAME", default="workstation", help="the database (default: workstation)")
    rl.add_argument("--owner", metavar="ROLE", default="ws_owner", help="the owner role (default: ws_owner)")
    rl.add_argument("--seat", metavar="ROLE", default="ws_seat", help="the seat role (default: ws_seat)")
    rl.set_defaults(handler=db_roles)


def audit_verify(args: argparse.Namespace) -> int:
    """Verify every chain; exit 1 when one is broken."""
    db = common.database(args)
    report = audit.verify(db, common.actor(db, args), args.anchor)
    for b in report.breaks:
        if args.json:
            common.emit_json(
                {"table": b.table, "chain": b.chain, "entry": b.entry, "kind": b.kind, "message": b.message}
            )
        else:
            print(tr("BROKEN [{kind}] {message}", kind=_kind(b.kind), message=b.message))
    counts = ", ".join(f"{audit.table_label(name)} {n}" for name, n in report.checked.items())
    if args.json:
        common.emit_json({"ok": report.ok, "checked": report.checked, "anchor_checked": report.anchor_checked})
    elif report.ok:
        print(tr("The history holds: every chain verified ({counts}).", counts=counts))
        if report.anchor_checked:
            print(tr("Every entry pinned by the anchor is unchanged."))
    else:
        print(tr("The history was tampered with: {n} broken chain(s) ({counts}).", n=len(report.breaks), counts=counts))
    return 0 if report.ok else 1


def _kind(kind: str) -> str:
    return {"changed": tr("changed"), "removed": tr("removed"), "inserted": tr("inserted")}[kind]


def audit_anchor(args: argparse.Namespace) -> int:
    """Print the anchor line."""
    db = common.database(args)
    print(audit.anchor(db, common.actor(db, args)))
    return 0


@common.no_identity
def db_roles(args: argparse.Namespace) -> int:
    """Print the roles script."""
    try:
        print(roles.roles_sql(args.database, args.owner, args.seat, args.part), end="")
    except ValueError:
        raise ValidationError(
            tr("Role and database names must be plain lower-case PostgreSQL names."), {"name": tr("not a plain name")}
        ) from None
    return 0
