"""``user``: add and list accounts."""

from __future__ import annotations

import argparse
import getpass
import sys

from workstation.cli import common
from workstation.i18n import role_label, tr
from workstation.services.accounts import USER_ROLES, add_user, list_users, needs_first_admin
from workstation.services.errors import ValidationError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of this area."""
    opts = [common.options()]
    user = sub.add_parser("user", help="accounts", parents=opts)
    us = user.add_subparsers(dest="cmd", metavar="CMD")
    add = us.add_parser("add", help="add a user (the first user must be an administrator)", parents=opts)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in USER_ROLES])
    add.add_argument("--community", metavar="NAME", help="station staff: their community")
    add.add_argument("--unit", metavar="CODE", help="unit accounts: their unit")
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    common.actor_option(add)
    add.set_defaults(handler=user_add)
    ls = us.add_parser("list", help="list users", parents=opts)
    ls.set_defaults(handler=user_list)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValidationError(
            tr("No terminal to ask for the password: use --password-stdin."), {"password": tr("required")}
        )
    first = getpass.getpass(tr("Password for {name}: ", name=args.name))
    if getpass.getpass(tr("Repeat the password: ")) != first:
        raise ValidationError(tr("The two passwords differ; nothing was saved."), {"password": tr("mismatch")})
    return first


def user_add(args: argparse.Namespace) -> int:
    """Add a user."""
    db = common.database(args)
    by = None if needs_first_admin(db) else common.actor(db, args)
    actor = add_user(
        db,
        by,
        args.name,
        args.role,
        _password(args),
        community=args.community,
        unit=args.unit,
        display_name=args.display_name,
    )
    print(tr("user {name} added as {role}", name=actor.name, role=role_label(actor.role)))
    return 0


def user_list(args: argparse.Namespace) -> int:
    """Print every user."""
    for a in list_users(common.database(args)):
        print(f"{a.name:<20} {role_label(a.role):<10} {a.community_code or a.unit_code or ''}")
    return 0
