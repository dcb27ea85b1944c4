"""The cache hit: one statement, one round trip.

The report row is found through the lower-case ``repositories.full_name`` and the cache-key unique index
of the shared rows (``owner_user_id IS NULL``, the rule of ``CacheKey.report_where`` written in SQL), with
the caller's access recorded by a data-modifying CTE of the same statement, under the one access rule of
:data:`oss_tldr.reports.models.ACCESS_RECORD_INTERVAL`. Raw SQL compiled once per shape: the hit path is
the one that must stay close to a bare ``SELECT``.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from oss_tldr.content_models import ReportStats
from oss_tldr.db.engine import get_engine
from oss_tldr.reports.models import ACCESS_RECORD_INTERVAL, Fingerprint, SectionHit

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
           (ac.user_id IS NOT NULL) AS access_ok, {session_ok} AS session_ok, {stale_columns}
    FROM repositories repo
    {report_join}
    LEFT JOIN repository_access_checks ac
      ON ac.user_id = :user_id AND ac.repository_id = repo.id AND ac.expires_at > now(){session_join}
    WHERE repo.id = coalesce(
        (SELECT id FROM repositories WHERE full_name = :full_name),
        (SELECT repository_id FROM repository_aliases WHERE full_name = :full_name)
    )
){access_cte}
SELECT id, repository_id, is_private, data, generated_at, expires_at, stats, partial, access_ok, session_ok,
       stale, refreshing
FROM hit
"""
# The key's live report, by the cache-key unique index.
_LIVE_JOIN = """JOIN reports r
      ON r.repository_id = repo.id AND r.timeframe = :timeframe
     AND r.timeframe_start = :start AND r.timeframe_end = :end AND r.owner_user_id IS NULL
     AND (r.expires_at IS NULL OR r.expires_at > now())
     AND r.summariser = :summariser AND r.prompt_version = :prompt_version"""
_LIVE_COLUMNS = "false AS stale, false AS refreshing"
# Stale-while-revalidate: the key's live report, else the newest one of the repository and timeframe that
# expired less than :stale_for ago (this window's, marked stale by a webhook, or the previous window's), and
# whether a live lease of the key says its refresh already runs. The same index, a handful of rows (the
# cleanup deletes expired reports one refresh period after their expiry).
_STALE_JOIN = """JOIN LATERAL (
        SELECT r0.* FROM reports r0
        WHERE r0.repository_id = repo.id AND r0.timeframe = :timeframe AND r0.owner_user_id IS NULL
          AND r0.summariser = :summariser AND r0.prompt_version = :prompt_version
          AND ((r0.timeframe_start = :start AND r0.timeframe_end = :end
                AND (r0.expires_at IS NULL OR r0.expires_at > now()))
               OR (r0.timeframe_end <= :end
                   AND r0.expires_at <= now() AND r0.expires_at > now() - :stale_for))
        ORDER BY (r0.expires_at IS NULL OR r0.expires_at > now()) DESC, r0.timeframe_end DESC
        LIMIT 1
    ) r ON true"""
_STALE_COLUMNS = """(r.expires_at <= now()) AS stale,
           (r.expires_at <= now() AND EXISTS (
               SELECT 1 FROM report_generations g
               WHERE g.repo = :full_name AND g.timeframe = :timeframe AND g.timeframe_start = :start
                 AND g.timeframe_end = :end AND g.lease_expires_at > now())) AS refreshing"""
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
    (section, with_user, with_session, with_stale): text(
        _HIT_SQL.format(
            column=column,
            stats=STATS_SQL,
            access_cte=_ACCESS_CTE if with_user else "",
            session_ok="(s.id IS NOT NULL)" if with_session else "true",
            session_join=_SESSION_JOIN if with_session else "",
            report_join=_STALE_JOIN if with_stale else _LIVE_JOIN,
            stale_columns=_STALE_COLUMNS if with_stale else _LIVE_COLUMNS,
        )
    )
    for section, column in _SECTION_COLUMN.items()
    for with_user in (True, False)
    for with_session in (True, False)
    for with_stale in (True, False)
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
    *,
    stale_for: dt.timedelta | None = None,
) -> SectionHit | None:
    """The cache hit: one statement, one round trip. Records ``user_id``'s access when it may be served
    (a live session when ``session_id`` is given; a public repository, or a remembered positive access
    check of that user). With ``stale_for``, a report that expired less than that long ago is a hit too,
    marked ``stale`` (stale-while-revalidate)."""
    stmt = _HIT_STATEMENTS[(section, user_id is not None, session_id is not None, stale_for is not None)]
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
        "stale_for": stale_for,
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
        stale=row.stale,
        refreshing=row.refreshing,
    )
