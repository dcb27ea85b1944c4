"""The ranges of PostgreSQL's integer column types: a number from outside that does not fit is bad input
(or, for a count, clamped) before it reaches a statement, never a database error."""

from __future__ import annotations

PG_INTEGER_MAX = 2**31 - 1  # integer: reports.id, counts
PG_BIGINT_MAX = 2**63 - 1  # bigint: users.id (GitHub ids), user_report_access.id, repositories.github_id
