"""All ORM models. Every model module is imported here so ``Base.metadata`` is complete for Alembic.

A capability that adds tables adds a module here *and* a migration under ``migrations/versions``; the
test ``test_models_match_migrated_schema`` fails when the two disagree.
"""

from oss_tldr.db.models.base import Base
from oss_tldr.db.models.content import ItemSummary
from oss_tldr.db.models.core import (
    Report,
    Repository,
    RepositoryAlias,
    User,
    UserReportAccess,
    UserRepository,
)
from oss_tldr.db.models.deepdive import (
    DeepDive,
    DeepDiveClaim,
    DeepDiveUsage,
    FilePatch,
    PatchExplanation,
    PatchSet,
)
from oss_tldr.db.models.identity import AuditLog, GitHubToken, OAuthState, UserSession
from oss_tldr.db.models.reports import (
    ReportForceUsage,
    ReportGeneration,
    ReportJob,
    ReportJobRequester,
    RepositoryAccessCheck,
)
from oss_tldr.db.models.webhooks import WebhookDelivery

__all__ = [
    "AuditLog",
    "Base",
    "DeepDive",
    "DeepDiveClaim",
    "DeepDiveUsage",
    "FilePatch",
    "GitHubToken",
    "ItemSummary",
    "OAuthState",
    "PatchExplanation",
    "PatchSet",
    "Report",
    "ReportForceUsage",
    "ReportGeneration",
    "ReportJob",
    "ReportJobRequester",
    "Repository",
    "RepositoryAccessCheck",
    "RepositoryAlias",
    "User",
    "UserReportAccess",
    "UserRepository",
    "UserSession",
    "WebhookDelivery",
]
