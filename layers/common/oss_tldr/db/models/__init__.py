"""All ORM models. Every model module is imported here so ``Base.metadata`` is complete for Alembic.

A capability that adds tables adds a module here *and* a migration under ``migrations/versions``; the
test ``test_models_match_migrated_schema`` fails when the two disagree.
"""

from oss_tldr.db.models.base import Base
from oss_tldr.db.models.core import (
    TIMEFRAMES,
    Report,
    Repository,
    User,
    UserReportAccess,
    UserRepository,
)

__all__ = [
    "TIMEFRAMES",
    "Base",
    "Report",
    "Repository",
    "User",
    "UserReportAccess",
    "UserRepository",
]
