"""The errors services raise; each message is translated and says what to do next."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class WorkstationError(Exception):
    """Base of every error a user can be shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(WorkstationError):
    """Input refused; ``fields`` maps each bad field to its reason."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class NotFoundError(WorkstationError):
    """The case, user or reference item does not exist."""


class PermissionDeniedError(WorkstationError):
    """The actor's role or scope does not allow this."""


class InvalidTransitionError(WorkstationError):
    """The case is not in a state where this action applies."""


class ConflictError(WorkstationError):
    """Someone else changed the case since the actor looked at it; nothing was written."""

    def __init__(self, message: str, by: str = "", at: datetime | None = None) -> None:
        super().__init__(message)
        self.by = by
        self.at = at


class AuthenticationError(WorkstationError):
    """Wrong user name or password (never says which)."""
