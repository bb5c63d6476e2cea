"""The GeoReport clients as an administrator manages them (Qt-free, for the admin window and the CLI).

A client's ``api_key`` is an API token of its account (``services.tokens``: ``add_token`` shows the
key once, ``revoke_token`` ends it). ``list_clients`` adds what each key's account posted: the
requests that became cases and the ones waiting in quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from workstation.intake.open311 import CHANNEL
from workstation.models import Case, QuarantinedItem
from workstation.serve.posts import source_of
from workstation.services import tokens
from workstation.services.actors import Actor
from workstation.storage.db import Database


@dataclass(frozen=True)
class ClientInfo:
    """One API key and what its account posted through ``workstation serve``."""

    token: tokens.TokenInfo
    posted: int
    held: int


def list_clients(db: Database, by: Actor) -> list[ClientInfo]:
    """Every API key, newest first, with the requests its account posted and those held in quarantine.

    Raises:
        PermissionDeniedError: not an administrator.
    """
    keys = tokens.list_tokens(db, by)
    owners = sorted({k.owner for k in keys})
    posted: dict[str, int] = {}
    held: dict[str, int] = {}
    with db.read() as s:
        for owner in owners:
            prefix = source_of(owner) + ":"
            posted[owner] = int(
                s.scalar(
                    select(func.count())
                    .select_from(Case)
                    .where(Case.channel == CHANNEL, Case.external_id.startswith(prefix, autoescape=True))
                )
                or 0
            )
            held[owner] = int(
                s.scalar(
                    select(func.count())
                    .select_from(QuarantinedItem)
                    .where(QuarantinedItem.source == source_of(owner), QuarantinedItem.status == "open")
                )
                or 0
            )
    return [ClientInfo(k, posted[k.owner], held[k.owner]) for k in keys]
