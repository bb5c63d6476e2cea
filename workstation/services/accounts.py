"""Accounts: creating users, signing in, and the first-run path that creates the administrator.

Signing in (the window's dialog and the command line's password or token) goes through
:func:`authenticate` or :func:`authenticate_token`, which apply the lockout of
:mod:`workstation.services.lockout` and take as long for an unknown user name as for a known one.
"""

from __future__ import annotations

import re
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import Role
from workstation.i18n import role_label, tr
from workstation.models import Community, Unit, User
from workstation.resources import load_json
from workstation.services import account_log, lockout, tokens
from workstation.services.actors import Actor
from workstation.services.errors import AuthenticationError, NotFoundError, ValidationError
from workstation.storage.db import Database

USER_ROLES = (Role.OPERATOR, Role.LEAD, Role.STATION, Role.TRAINER, Role.ADMIN, Role.UNIT)
MIN_PASSWORD = 10
_NAME = re.compile(r"^[\w.\-]{2,50}$")
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher.hash(password)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case), refused at creation and reset."""
    return frozenset(str(p).lower() for p in load_json("common_passwords.json"))


def password_problem(name: str, password: str) -> str | None:
    """Why a new password is too weak for user ``name``, or None if it is acceptable.

    At least :data:`MIN_PASSWORD` characters, not on the shipped list of common passwords, and not the
    user name (in any case).
    """
    text = password or ""
    if len(text) < MIN_PASSWORD:
        return tr("at least {n} characters", n=MIN_PASSWORD)
    if text.lower() in common_passwords():
        return tr("a common password that is guessed first: choose another")
    if name and text.lower() == name.lower():
        return tr("the same as the user name: choose another")
    return None


def _dummy_hash() -> str:
    """A hash of the current hasher to verify against when the user name is unknown (equal timing)."""
    cached = _DUMMY.get(id(_hasher))
    if cached is None:
        cached = _DUMMY[id(_hasher)] = _hasher.hash("not-a-password-of-anyone")
    return cached


_DUMMY: dict[int, str] = {}


def needs_first_admin(db: Database) -> bool:
    """True while the database has no user at all: the first one must be an administrator."""
    with db.read() as s:
        return (s.scalar(select(func.count()).select_from(User)) or 0) == 0


def actor_of(user: User) -> Actor:
    """The actor a user acts as."""
    return Actor(user.name, user.role, user.community_code, user.unit_code, user.display_name or user.name)


def find_actor(db: Database, name: str) -> Actor:
    """The active user of that name as an actor.

    Raises:
        NotFoundError: no active user has that name.
    """
    with db.read() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None or not user.active:
            raise NotFoundError(tr("No active user named {name}.", name=name))
        return actor_of(user)


def account_change(db: Database, actor: Actor) -> str | None:
    """What an administrator changed of a signed-in user's account since they signed in, or None.

    A seat asks this every few seconds: a user disabled, or given another role, community or unit,
    must not go on acting with what their window was opened with. (One read by primary key.)
    """
    with db.read() as s:
        row = s.execute(
            select(User.active, User.role, User.community_code, User.unit_code).where(User.name == actor.name)
        ).first()
    if row is None or not row.active:
        return tr("An administrator disabled your account.")
    if row.role != actor.role:
        return tr("An administrator changed your role to {role}.", role=role_label(row.role))
    if (row.community_code, row.unit_code) != (actor.community_code, actor.unit_code):
        return tr("An administrator changed your community or unit.")
    return None


def _community_code(s: Session, community: str) -> str:
    row = s.scalar(select(Community).where((Community.name == community) | (Community.code == community)))
    if row is None:
        raise ValidationError(tr("Unknown community {name}.", name=community), {"community": tr("unknown community")})
    return row.code


def add_user(
    db: Database,
    by: Actor | None,
    name: str,
    role: str,
    password: str,
    *,
    community: str | None = None,
    unit: str | None = None,
    display_name: str = "",
) -> Actor:
    """Create a user.

    Only an administrator may create users, except the very first user, who must be an administrator.

    Raises:
        ValidationError: a bad name, role, password, community or unit, each named.
        PermissionDeniedError: the creating actor is not an administrator.
    """
    errors: dict[str, str] = {}
    if not _NAME.match(name or ""):
        errors["name"] = tr("2 to 50 letters, digits, '.', '-' or '_'")
    if role not in {r.value for r in USER_ROLES}:
        errors["role"] = tr("one of: {roles}", roles=", ".join(r.value for r in USER_ROLES))
    weak = password_problem(name, password)
    if weak:
        errors["password"] = weak
    if role == Role.STATION and not community:
        errors["community"] = tr("station staff belong to a community: give --community")
    if role == Role.UNIT and not unit:
        errors["unit"] = tr("a unit account belongs to a unit: give --unit")
    if errors:
        raise ValidationError(_summary(errors), errors)
    with db.write() as s:
        first = (s.scalar(select(func.count()).select_from(User)) or 0) == 0
        if first and role != Role.ADMIN:
            raise ValidationError(
                tr("The first user must be an administrator (--role admin)."),
                {"role": tr("the first user must be admin")},
            )
        if not first:
            if by is None:
                raise ValidationError(
                    tr("Say which administrator creates the user (--as ADMIN)."), {"as": tr("required")}
                )
            by.require([Role.ADMIN], tr("create users"))
        if s.scalar(select(User).where(User.name == name)) is not None:
            raise ValidationError(tr("A user named {name} already exists.", name=name), {"name": tr("already taken")})
        community_code = _community_code(s, community) if community else None
        if unit and s.get(Unit, unit) is None:
            raise ValidationError(tr("Unknown unit {code}.", code=unit), {"unit": tr("unknown unit")})
        user = User(
            name=name,
            role=role,
            password_hash=hash_password(password),
            community_code=community_code,
            unit_code=unit,
            display_name=display_name or name,
        )
        s.add(user)
        s.flush()
        place = {"community": community_code, "unit": unit}
        account_log.record(s, None if first else by, name, "create", role=role, **place)
        return actor_of(user)


def authenticate(db: Database, name: str, password: str, *, source: str | None = None) -> Actor:
    """Check a user name and password; the returned actor is the signed-in user.

    An unknown or inactive name is checked against a dummy hash, so it takes as long as a known one.
    Each failure counts against the name and the source (see :mod:`workstation.services.lockout`).

    Raises:
        AuthenticationError: unknown user, inactive user or wrong password (one message for all), or a
            locked name or source.
    """
    source = source or lockout.this_source()
    lockout.check(db, name, source)
    with db.write() as s:
        user = s.scalar(select(User).where(User.name == name))
        known = user is not None and user.active
        stored = user.password_hash if user is not None and known else _dummy_hash()
        try:
            ok = _hasher.verify(stored, password) and known
        except (VerificationError, InvalidHashError):
            ok = False
        actor = None
        if ok and user is not None:
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            actor = actor_of(user)
    if actor is None:
        lockout.record_failure(db, name, source)
        raise AuthenticationError(tr("Wrong user name or password."))
    lockout.record_success(db, name)
    return actor


def authenticate_token(db: Database, token: str, *, source: str | None = None) -> Actor:
    """The account an API token proves (its use is recorded); a wrong token counts against the source.

    Raises:
        AuthenticationError: an unknown, revoked or malformed token, its account inactive, or the
            source locked.
    """
    source = source or lockout.this_source()
    with db.write() as s:  # the source's lock and the token in one transaction
        actor = tokens.owner_in(s, token, source) if token.strip() else None
        if not token.strip():
            lockout.check_in(s, None, source)
    if actor is None:
        lockout.record_failure(db, None, source)
        raise AuthenticationError(tr("The API token is unknown or revoked."))
    return actor


def list_users(db: Database) -> list[Actor]:
    """Every user, by name."""
    with db.read() as s:
        return [actor_of(u) for u in s.scalars(select(User).order_by(User.name))]


def _summary(errors: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in errors.items())


# -- the administrator's window: reading and changing accounts --------------------------------------


def user_rows(db: Database, by: Actor) -> list[dict[str, object]]:
    """Every account as a row for the administrator: role, community or unit, active.

    Raises:
        PermissionDeniedError: not an administrator.
    """
    by.require([Role.ADMIN], tr("manage users"))
    with db.read() as s:
        communities = {code: name for code, name in s.execute(select(Community.code, Community.name))}
        units = {code: name for code, name in s.execute(select(Unit.code, Unit.name))}
        return [
            {
                "id": u.name,
                "name": u.name,
                "display_name": u.display_name,
                "role": u.role,
                "community_code": u.community_code,
                "community": communities.get(u.community_code or "", ""),
                "unit_code": u.unit_code,
                "unit": units.get(u.unit_code or "", ""),
                "active": u.active,
                "created_at": u.created_at,
            }
            for u in s.scalars(select(User).order_by(User.name))
        ]


def _editable(s: Session, by: Actor, name: str, what: str) -> User:
    by.require([Role.ADMIN], what)
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(tr("There is no user named {name}.", name=name))
    return user


def _keep_an_admin(s: Session, user: User) -> None:
    """Refuse a change that would leave no active administrator."""
    others = s.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active, User.id != user.id)
    )
    if user.role == Role.ADMIN and user.active and not others:
        raise ValidationError(
            tr("{name} is the only active administrator; add another administrator first.", name=user.name),
            {"name": tr("the only administrator")},
        )


def set_active(db: Database, by: Actor, name: str, active: bool) -> None:
    """Disable a user (who then cannot sign in) or enable them again; the history keeps the name.

    Raises:
        PermissionDeniedError: not an administrator.
        NotFoundError: no such user.
        ValidationError: disabling yourself or the only active administrator.
    """
    with db.write() as s:
        user = _editable(s, by, name, tr("disable or enable users"))
        if not active:
            if user.name == by.name:
                raise ValidationError(tr("You cannot disable your own account."), {"name": tr("yourself")})
            _keep_an_admin(s, user)
        if user.active != active:
            account_log.record(s, by, name, "enable" if active else "disable")
        user.active = active


def reset_password(db: Database, by: Actor, name: str, password: str) -> None:
    """Set a new password for a user (who signs in with it from now on).

    Raises:
        PermissionDeniedError: not an administrator.
        NotFoundError: no such user.
        ValidationError: the password is too weak (too short, common, or the user name).
    """
    problem = password_problem(name, password)
    if problem:
        raise ValidationError(tr("The new password is refused: {problem}.", problem=problem), {"password": problem})
    with db.write() as s:
        user = _editable(s, by, name, tr("reset passwords"))
        user.password_hash = hash_password(password)
        account_log.record(s, by, name, "password")


def _check_place(user: User) -> None:
    if user.role == Role.STATION and not user.community_code:
        raise ValidationError(
            tr("Station staff belong to a community: set {name}'s community.", name=user.name),
            {"community": tr("required")},
        )
    if user.role == Role.UNIT and not user.unit_code:
        raise ValidationError(
            tr("A unit account belongs to a unit: set {name}'s unit.", name=user.name), {"unit": tr("required")}
        )


def _set_place(s: Session, user: User, community: str | None, unit: str | None) -> None:
    if community is not None:
        user.community_code = _community_code(s, community) if community.strip() else None
    if unit is not None:
        code = unit.strip() or None
        if code is not None and s.get(Unit, code) is None:
            raise ValidationError(tr("Unknown unit {code}.", code=code), {"unit": tr("unknown unit")})
        user.unit_code = code


def change_role(
    db: Database, by: Actor, name: str, role: str, *, community: str | None = None, unit: str | None = None
) -> None:
    """Give a user another role (with the community or unit the new role needs).

    Raises:
        PermissionDeniedError: not an administrator.
        NotFoundError: no such user.
        ValidationError: unknown role; a station role without community, a unit role without unit;
            the only active administrator losing the role.
    """
    if role not in {r.value for r in USER_ROLES}:
        raise ValidationError(
            tr("Unknown role {role}.", role=role),
            {"role": tr("one of: {roles}", roles=", ".join(r.value for r in USER_ROLES))},
        )
    with db.write() as s:
        user = _editable(s, by, name, tr("change roles"))
        if role != Role.ADMIN:
            _keep_an_admin(s, user)
        before = user.role
        _set_place(s, user, community, unit)
        user.role = role
        _check_place(user)
        place = {"community": user.community_code, "unit": user.unit_code}
        account_log.record(s, by, name, "role", role=role, previous=before, **place)


def set_place(db: Database, by: Actor, name: str, *, community: str | None = None, unit: str | None = None) -> None:
    """Set (or with an empty text, clear) a user's community and unit; None leaves one as it is.

    Raises:
        PermissionDeniedError: not an administrator.
        NotFoundError: no such user.
        ValidationError: unknown community or unit; station staff without community, a unit account
            without unit.
    """
    with db.write() as s:
        user = _editable(s, by, name, tr("change users"))
        _set_place(s, user, community, unit)
        _check_place(user)
        account_log.record(s, by, name, "place", community=user.community_code, unit=user.unit_code)
