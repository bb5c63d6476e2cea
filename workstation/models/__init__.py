"""The SQLAlchemy ORM: one typed base, the reference tables, accounts, and cases with their history."""

from workstation.models.account import SavedFilter, User
from workstation.models.base import Base, UTCDateTime, utcnow
from workstation.models.case import Case, CaseEvent, CaseLease, CaseUnit, ExtensionRequest
from workstation.models.reference import (
    CalendarYear,
    CareGroup,
    Category,
    Community,
    Grid,
    GridStaff,
    Meta,
    Street,
    Unit,
)

__all__ = [
    "Base",
    "CalendarYear",
    "CareGroup",
    "Case",
    "CaseEvent",
    "CaseLease",
    "CaseUnit",
    "Category",
    "Community",
    "ExtensionRequest",
    "Grid",
    "GridStaff",
    "Meta",
    "SavedFilter",
    "Street",
    "UTCDateTime",
    "Unit",
    "User",
    "utcnow",
]
