"""``user``: add and list accounts, make and revoke API tokens, unlock locked sign-ins, the record of changes."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import datetime

from workstation.cli import common
from workstation.domain.lifecycle import Role
from workstation.i18n import role_label, tr
from workstation.services import account_log, lockout, tokens
from workstation.services.accounts import USER_ROLES, add_user, list_users, needs_first_admin
from workstation.services.errors import ValidationError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    user = sub.add_parser("user", help="accounts", parents=opts)
    us = user.add_subparsers(dest="cmd", metavar="CMD")
    add = us.add_parser(
        "add",
        help="add a user (the first user must be an administrator)",
        description="With --password-stdin, standard input holds your own password on its first line (unless this "
        "is the first administrator, who needs none) and the new user's password on the next.",
        parents=opts,
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in USER_ROLES])
    add.add_argument("--community", metavar="NAME", help="station staff: their community")
    add.add_argument("--unit", metavar="CODE", help="unit accounts: their unit")
    add.add_argument("--display-name", default="")
    add.set_defaults(handler=user_add)
    ls = us.add_parser("list", help="list users (administrators)", parents=opts)
    ls.set_defaults(handler=user_list)

    unlock = us.add_parser("unlock", help="clear the sign-in lock of a user or a source (administrators)", parents=opts)
    which = unlock.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", metavar="USER")
    which.add_argument("--source", metavar="HOST", help="a host locked after too many failures")
    unlock.set_defaults(handler=user_unlock)

    hist = us.add_parser(
        "history",
        help="the record of account changes, newest first (administrators)",
        description="Who created, disabled, enabled, re-roled, re-placed or unlocked an account, and every API "
        "token issued or revoked. The record is append-only and hash-chained (workstation audit verify).",
        parents=opts,
    )
    hist.add_argument("name", nargs="?", metavar="USER", help="only the changes to this account (or source)")
    hist.add_argument("--json", action="store_true", help="JSON lines")
    hist.add_argument("--limit", type=int, default=200, metavar="N", help="at most N entries (default 200)")
    hist.set_defaults(handler=user_history)

    tok = us.add_parser("token", help="API tokens of integration accounts (administrators)", parents=opts)
    ts = tok.add_subparsers(dest="token_cmd", metavar="CMD")
    tok.set_defaults(handler=_usage(tok))
    tadd = ts.add_parser("add", help="make a token for an account (shown once)", parents=opts)
    tadd.add_argument("owner", metavar="USER", help="the account the token acts as")
    tadd.add_argument("--name", required=True, help="what the token is for (e.g. the system that uses it)")
    tadd.set_defaults(handler=token_add)
    tls = ts.add_parser("list", help="every token: name, owner, created, last used, revoked", parents=opts)
    tls.set_defaults(handler=token_list)
    trv = ts.add_parser("revoke", help="revoke a token for good", parents=opts)
    trv.add_argument("id", type=int, metavar="ID")
    trv.set_defaults(handler=token_revoke)


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def _new_password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        return common.read_secret(args, "")
    if not sys.stdin.isatty():
        raise ValidationError(
            tr("No terminal to ask for the password: use --password-stdin."), {"password": tr("required")}
        )
    first = getpass.getpass(tr("Password for {name}: ", name=args.name))
    if getpass.getpass(tr("Repeat the password: ")) != first:
        raise ValidationError(tr("The two passwords differ; nothing was saved."), {"password": tr("mismatch")})
    return first


@common.no_identity
def user_add(args: argparse.Namespace) -> int:
    """Add a user."""
    db = common.database(args)
    by = None if needs_first_admin(db) else common.actor(db, args, [Role.ADMIN], tr("create users"))
    actor = add_user(
        db,
        by,
        args.name,
        args.role,
        _new_password(args),
        community=args.community,
        unit=args.unit,
        display_name=args.display_name,
    )
    print(tr("user {name} added as {role}", name=actor.name, role=role_label(actor.role)))
    return 0


def user_list(args: argparse.Namespace) -> int:
    """Print every user."""
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN], tr("list users"))
    for a in list_users(db):
        print(f"{a.name:<20} {role_label(a.role):<10} {a.community_code or a.unit_code or ''}")
    return 0


def user_unlock(args: argparse.Namespace) -> int:
    """Clear a lock."""
    db = common.database(args)
    by = common.actor(db, args)
    lockout.unlock(db, by, name=args.name, source=args.source)
    print(tr("{key}: sign-in unlocked", key=args.name or args.source))
    return 0


def user_history(args: argparse.Namespace) -> int:
    """Print the record of account changes."""
    db = common.database(args)
    entries = account_log.history(db, common.actor(db, args), args.name, limit=max(1, args.limit))
    for entry in entries:
        if args.json:
            print(json.dumps(entry, ensure_ascii=False))
            continue
        details = account_log.details_text(entry["details"])
        at = datetime.fromisoformat(entry["at"]).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{at}  {entry['actor']:<12} {entry['subject']:<16} {entry['action_label']}"
            + (f"  {details}" if details else "")
        )
    if not entries and not args.json:
        print(tr("No account changes recorded."))
    return 0


def token_add(args: argparse.Namespace) -> int:
    """Make a token; print it once."""
    db = common.database(args)
    info, token = tokens.add_token(db, common.actor(db, args), args.owner, args.name)
    print(token)
    print(
        tr(
            "token {id} ({name}) acts as {owner}; it is shown only now: keep it in the integration's "
            "settings (WORKSTATION_TOKEN), not in scripts.",
            id=info.id,
            name=info.name,
            owner=info.owner,
        ),
        file=sys.stderr,
    )
    return 0


def token_list(args: argparse.Namespace) -> int:
    """Print every token (never the token itself)."""
    db = common.database(args)
    for t in tokens.list_tokens(db, common.actor(db, args)):
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "-"
        state = tr("revoked {at}", at=t.revoked_at.isoformat(timespec="seconds")) if t.revoked_at else tr("active")
        print(
            f"{t.id:>4}  {t.name:<20} {t.owner:<16} {t.created_at.isoformat(timespec='seconds')}  "
            + tr("last used: {at}", at=used)
            + f"  {state}"
        )
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    """Revoke a token."""
    db = common.database(args)
    info = tokens.revoke_token(db, common.actor(db, args), args.id)
    print(tr("token {id} ({name}) of {owner} revoked", id=info.id, name=info.name, owner=info.owner))
    return 0
