"""What the database knows of a repository for one user: its row (public or private) and the remembered
positive checks that the user's own token reached a private one (``repository_access_checks``, valid for
``PRIVATE_ACCESS_TTL_SECONDS``). One short transaction per function; none is open across a GitHub call.

Core statements on :mod:`oss_tldr.db.tables` (what a shared answer checks loads no ORM); the rule of a
remembered access is a self-contained ``EXISTS``, which the ORM statements of the miss paths embed too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oss_tldr.db.engine import connection_scope, session_scope
from oss_tldr.db.tables import repositories, repository_access_checks
from oss_tldr.reports.models import Visibility, repository_id_for


def remembered(user_id: Any, repository_id: Any) -> Exists:
    """The one rule of a remembered access: a check of this user and repository that has not expired.
    ``user_id`` and ``repository_id`` are values or column expressions (for correlated use)."""
    checks = repository_access_checks.c
    return (
        select(checks.user_id)
        .where(
            checks.user_id == user_id,
            checks.repository_id == repository_id,
            checks.expires_at > func.now(),
        )
        .exists()
    )


def upsert_repository(payload: Any, *, asked: str | None = None) -> tuple[int, bool]:
    """Insert or refresh the ``repositories`` row of a GitHub repository payload (found by GitHub's id;
    ``asked``, the name it was asked by, kept as an alias when GitHub names it otherwise):
    ``(id, is_private)``."""
    # Deferred for cold start only (repos.store loads the repository payload models, ~20 ms, which the hit
    # path never needs); reports sits above repos in the layers contract, so this hides no cycle.
    from oss_tldr.repos.store import upsert_repository_row

    with session_scope() as session:
        known = upsert_repository_row(session, payload, asked=asked)
    return known.id, known.is_private


def remember_access(user_id: int, repository_id: int, ttl: dt.timedelta) -> None:
    stmt = pg_insert(repository_access_checks).values(
        user_id=user_id,
        repository_id=repository_id,
        verified_at=func.now(),
        expires_at=func.now() + ttl,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "repository_id"],
        set_={"verified_at": stmt.excluded.verified_at, "expires_at": stmt.excluded.expires_at},
    )
    with connection_scope() as conn:
        conn.execute(stmt)


def has_remembered_access(user_id: int, repository_id: int) -> bool:
    with connection_scope() as conn:
        return bool(conn.scalar(select(remembered(user_id, repository_id))))


def repository_visibility(full_name: str, user_id: int | None) -> Visibility | None:
    """The known ``repositories`` row of ``full_name`` (by its name or a former one) and the user's
    remembered access; None when the repository was never looked up. One statement."""
    r = repositories.c
    with connection_scope() as conn:
        row = conn.execute(
            select(r.is_private, remembered(user_id, r.id).label("access_ok")).where(
                r.id == repository_id_for(full_name)
            )
        ).first()
    if row is None:
        return None
    return Visibility(is_private=bool(row.is_private), access_ok=bool(row.access_ok) and user_id is not None)
