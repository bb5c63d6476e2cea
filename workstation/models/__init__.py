"""The SQLAlchemy ORM: one typed base, the reference tables, accounts, and cases with their history."""

from workstation.models.account import AccountEvent, ApiToken, SavedFilter, SignInFailure, User
from workstation.models.base import Base, UTCDateTime, utcnow
from workstation.models.care import CareCampaign as CareCampaign
from workstation.models.care import CareChange as CareChange
from workstation.models.care import CareMembership as CareMembership
from workstation.models.care import CarePerson as CarePerson
from workstation.models.care import CareReveal as CareReveal
from workstation.models.care import CareVisit as CareVisit
from workstation.models.care import CareVisitNeed as CareVisitNeed
from workstation.models.case import Case, CaseCount, CaseCountDelta, CaseEvent, CaseLease, CaseUnit, ExtensionRequest
from workstation.models.chain import AuditHead as AuditHead
from workstation.models.demo import DemoRun as DemoRun
from workstation.models.demo import DemoRunItem as DemoRunItem
from workstation.models.georeport import GeoReportOutbound as GeoReportOutbound
from workstation.models.intake import IntakeCursor as IntakeCursor
from workstation.models.intake import IntakeStatus as IntakeStatus
from workstation.models.intake import OutboundTarget as OutboundTarget
from workstation.models.intake import OutboxMessage as OutboxMessage
from workstation.models.intake import QuarantinedItem as QuarantinedItem
from workstation.models.intake import ServiceMapping as ServiceMapping
from workstation.models.intake import UnitResponse as UnitResponse
from workstation.models.photo import Photo as Photo
from workstation.models.photo import PhotoBlob as PhotoBlob
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
from workstation.models.stats import StatDay as StatDay
from workstation.models.stats import StatOpen as StatOpen

__all__ = [
    "AccountEvent",
    "ApiToken",
    "Base",
    "CalendarYear",
    "CareGroup",
    "Case",
    "CaseCount",
    "CaseCountDelta",
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
    "SignInFailure",
    "Street",
    "UTCDateTime",
    "Unit",
    "User",
    "utcnow",
]
