"""The single flight of model work: one request writes an explanation or a deep dive, the others asking for
the same thing at the same moment wait for it — so the SPA's N parallel ``/diff`` calls, or two users opening
one deep dive together, cost at most one model request per distinct key, ever (a failed attempt caches
nothing: the next one tries again).

A key is claimed with one row in ``deep_dive_claims`` (``INSERT … ON CONFLICT DO UPDATE … WHERE`` the lease
lapsed: a claimer killed at its timeout blocks nobody for longer than :data:`LEASE_SECONDS`), deleted when
the work ends, stored or failed. No advisory locks (they pin RDS Proxy sessions). Followers poll for the
stored result, at most until :data:`WAIT_SECONDS` or the request's deadline, then answer 503
``deep_dive_generating`` (the work goes on; the next request finds it stored). Core statements on
:mod:`oss_tldr.db.tables`: a shared answer already stored loads no ORM.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oss_tldr import deadline
from oss_tldr.db.engine import connection_scope
from oss_tldr.db.errors import log_exception
from oss_tldr.db.tables import deep_dive_claims
from oss_tldr.deadline import FIRST_WAIT_SECONDS, MAX_WAIT_SECONDS
from oss_tldr.errors import ServiceUnavailable

LEASE_SECONDS = 60  # longer than one request (API Gateway: 29 s)
WAIT_SECONDS = 25.0

T = TypeVar("T")


def claim(key: str) -> bool:
    """Claim ``key`` (a free one, or one whose lease lapsed); False when another request holds it."""
    claims = deep_dive_claims.c
    insert = pg_insert(deep_dive_claims).values(
        key=key, lease_expires_at=func.now() + dt.timedelta(seconds=LEASE_SECONDS)
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[claims.key],
        set_={"lease_expires_at": insert.excluded.lease_expires_at, "claimed_at": func.now()},
        where=claims.lease_expires_at < func.now(),
    ).returning(claims.key)
    with connection_scope() as conn:
        return conn.execute(stmt).first() is not None


def release(key: str) -> None:
    """Delete the claim. Never raises: the work's own answer (its result, or its error) is the request's;
    a claim the database did not let go lapses by itself after :data:`LEASE_SECONDS`."""
    try:
        with connection_scope() as conn:
            conn.execute(delete(deep_dive_claims).where(deep_dive_claims.c.key == key))
    except Exception as exc:
        log_exception("deep-dive claim not released", exc, key=key[:16])


def still_writing() -> ServiceUnavailable:
    return ServiceUnavailable(
        "This explanation is still being written; try again in a moment.", code="deep_dive_generating"
    )


def once(key: str, load: Callable[[], T | None], produce: Callable[[], T]) -> tuple[T, bool]:
    """``(result, produced)``: what ``load`` finds stored, else what ``produce`` makes (and stores) under
    the claim of ``key``, else what the request holding the claim stored meanwhile."""
    until = deadline.wait_until(time.monotonic() + WAIT_SECONDS)
    wait = FIRST_WAIT_SECONDS  # the report cache's backoff: growing, so a long wait polls rarely
    while True:
        found = load()
        if found is not None:
            return found, False
        if claim(key):
            try:
                found = load()  # stored between the first look and the claim
                return (found, False) if found is not None else (produce(), True)
            finally:
                release(key)
        if time.monotonic() + wait >= until:  # ``until`` is within the request's deadline already
            raise still_writing()
        time.sleep(wait)
        wait = min(wait * 1.5, MAX_WAIT_SECONDS)
