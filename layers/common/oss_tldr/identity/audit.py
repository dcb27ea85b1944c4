"""The audit log: sign-in, sign-out, import and admin invalidations, with actor, target and time.

Written in the same transaction as the change it records, so a failed request leaves no audit row.
Retention is the scheduled cleanup's job (rows older than the retention period are deleted by
``created_at``, which is indexed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from oss_tldr.db.tables import audit_log

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

SIGN_IN = "auth.sign_in"
SIGN_OUT = "auth.sign_out"
IMPORT = "user.import"
REPORT_INVALIDATED = "admin.report_invalidated"
REPOSITORY_REPORTS_INVALIDATED = "admin.repository_reports_invalidated"


def record_audit(
    session: Executor,
    *,
    actor_user_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one audit row in ``session``'s transaction. ``details`` must hold no secrets."""
    session.execute(
        insert(audit_log).values(
            actor_user_id=actor_user_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=details or {},
        )
    )
