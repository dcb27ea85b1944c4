"""The cache hit: one statement, one round trip.

The report row is found through the lower-case ``repositories.full_name`` and the cache-key unique index
of the shared rows (``owner_user_id IS NULL``, the rule of ``CacheKey.report_where`` written in SQL), with
the caller's access recorded by a data-modifying CTE of the same statement, under the one access rule of
:data:`oss_tldr.reports.records.ACCESS_RECORD_INTERVAL`. Raw SQL compiled once per shape: the hit path is
the one that must stay close to a bare ``SELECT``.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from oss_tldr.content_models import ReportStats
from oss_tldr.db.engine import get_engine
from oss_tldr.reports.models import Fingerprint, SectionHit
from oss_tldr.reports.records import ACCESS_RECORD_INTERVAL

# Section name -> the hit statement's expression. A whitelist (it is interpolated into the statement). JSON
# sections come back as JSON text, spliced into the response as is: no parse and re-dump on a hit.
_SECTION_COLUMN = {
    "prs": "r.prs::text",
    "issues": "r.issues::text",
    "people": "r.people::text",
    "tldr": "coalesce(r.tldr_text, '')",
}

# With a session id, the caller's session row is checked by the same statement (the rules of
# ``identity.sessions.load_active_session``: not revoked, not expired): authentication and the cache hit
# share one round trip. The JWT signature was checked before, without the database.
# The window's counts as JSON text, every key present (a report written before counts were stored has {}).
# (": " with its space: ":0" would read as a bind parameter in the statement's text.)
STATS_SQL = f"(jsonb '{json.dumps(ReportStats().model_dump())}' || r.stats)::text"
_HIT_SQL = """
WITH hit AS (
    SELECT r.id, r.repository_id, repo.is_private, {column} AS data, r.generated_at, r.expires_at,
           {stats} AS stats, r.partial,
           (ac.user_id IS NOT NULL) AS access_ok, {session_ok} AS session_ok
    FROM repositories repo
    JOIN reports r
      ON r.repository_id = repo.id AND r.timeframe = :timeframe
     AND r.timeframe_start = :start AND r.timeframe_end = :end AND r.owner_user_id IS NULL
    LEFT JOIN repository_access_checks ac
      ON ac.user_id = :user_id AND ac.repository_id = repo.id AND ac.expires_at > now(){session_join}
    WHERE repo.id = coalesce(
        (SELECT id FROM repositories WHERE full_name = :full_name),
        (SELECT repository_id FROM repository_aliases WHERE full_name = :full_name)
    )
      AND (r.expires_at IS NULL OR r.expires_at > now())
      AND r.summariser = :summariser AND r.prompt_version = :prompt_version
){access_cte}
SELECT id, repository_id, is_private, data, generated_at, expires_at, stats, partial, access_ok, session_ok
FROM hit
"""
_SESSION_JOIN = """
    LEFT JOIN sessions s
      ON s.id = :session_id AND s.user_id = :user_id AND s.revoked_at IS NULL AND s.expires_at > now()"""
# The access is written only when it was not recorded within :access_interval (the NOT EXISTS keeps a
# repeated hit a read-only statement: no insert attempt, no row lock, no commit flush); the conflict's
# WHERE is the same rule as ``records.access_upsert``, for a concurrent first hit.
_ACCESS_CTE = """, seen AS (
    INSERT INTO user_report_access (user_id, report_id, accessed_at)
    SELECT :user_id, hit.id, now() FROM hit
    WHERE hit.session_ok AND (NOT hit.is_private OR hit.access_ok)
      AND NOT EXISTS (
          SELECT 1 FROM user_report_access a
          WHERE a.user_id = :user_id AND a.report_id = hit.id AND a.accessed_at >= now() - :access_interval
      )
    ON CONFLICT (user_id, report_id) DO UPDATE SET accessed_at = excluded.accessed_at
    WHERE user_report_access.accessed_at < now() - :access_interval
)"""
_HIT_STATEMENTS = {
    (section, with_user, with_session): text(
        _HIT_SQL.format(
            column=column,
            stats=STATS_SQL,
            access_cte=_ACCESS_CTE if with_user else "",
            session_ok="(s.id IS NOT NULL)" if with_session else "true",
            session_join=_SESSION_JOIN if with_session else "",
        )
    )
    for section, column in _SECTION_COLUMN.items()
    for with_user in (True, False)
    for with_session in (True, False)
}


def find_section(
    full_name: str,
    timeframe: str,
    start: dt.datetime,
    end: dt.datetime,
    section: str,
    fingerprint: Fingerprint,
    user_id: int | None,
    session_id: str | None = None,
) -> SectionHit | None:
    """The cache hit: one statement, one round trip. Records ``user_id``'s access when it may be served
    (a live session when ``session_id`` is given; a public repository, or a remembered positive access
    check of that user)."""
    stmt = _HIT_STATEMENTS[(section, user_id is not None, session_id is not None)]
    params = {
        "full_name": full_name.lower(),
        "timeframe": timeframe,
        "start": start,
        "end": end,
        "summariser": fingerprint.summariser,
        "prompt_version": fingerprint.prompt_version,
        "user_id": user_id,
        "session_id": session_id,
        "access_interval": ACCESS_RECORD_INTERVAL,
    }
    # One statement, so autocommit: one round trip instead of BEGIN + statement + COMMIT. (psycopg's
    # autocommit is a client-side switch: no SET is sent, nothing pins an RDS Proxy connection.)
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(stmt, params).first()
    if row is None:
        return None
    return SectionHit(
        report_id=row.id,
        repository_id=row.repository_id,
        is_private=row.is_private,
        access_ok=row.access_ok,
        session_ok=row.session_ok,
        data=row.data,
        stats=row.stats,
        partial=row.partial,
        generated_at=row.generated_at,
        expires_at=row.expires_at,
    )
