"""Who acts: the actor every service call names, and the role checks services enforce."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workstation.domain.lifecycle import Role
from workstation.i18n import role_label, tr
from workstation.services.errors import PermissionDeniedError


@dataclass(frozen=True)
class Actor:
    """A signed-in user (or the system itself) as the services see them."""

    name: str
    role: str
    community_code: str | None = None
    unit_code: str | None = None
    display_name: str = ""

    def require(self, roles: Iterable[Role | str], what: str) -> None:
        """Refuse unless the actor has one of the roles.

        Raises:
            PermissionDeniedError: with a message naming the action and the roles that may do it.
        """
        allowed = {str(r) for r in roles}
        if self.role not in allowed:
            raise PermissionDeniedError(
                tr(
                    "{user} ({role}) may not {what}; this needs one of: {roles}.",
                    user=self.name,
                    role=role_label(self.role),
                    what=what,
                    roles=", ".join(role_label(r) for r in sorted(allowed)),
                )
            )


SYSTEM = Actor(name="system", role=Role.SYSTEM.value, display_name="system")
