"""Run Alembic migrations programmatically (``make migrate``, ``make dev``, tests, the migration function).

:func:`upgrade` and :func:`downgrade` run every revision in one transaction on the engine given (or the
application's). :func:`locked_migration` is the deploy's version (``oss_tldr.maintenance.migration``): it
holds a PostgreSQL session-level advisory lock for the whole run, so two overlapping deploys migrate one
after the other (the second finds nothing left to do), and reports the revisions applied. On a direct
connection to the cluster only: behind RDS Proxy an advisory lock would pin the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RangeNotAncestorError, ResolutionError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from oss_tldr.db.engine import get_engine
from oss_tldr.db.errors import primary_message
from oss_tldr.observability import logger

REPO_ROOT = Path(__file__).resolve().parents[4]
# pg_advisory_lock's key for migrations: the bytes of "osstldr" (any constant of our own would do).
MIGRATION_LOCK_KEY = int.from_bytes(b"osstldr", "big")


def alembic_config(engine: Engine | None = None, *, root: Path = REPO_ROOT) -> Config:
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.attributes["configure_logging"] = False
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def _with_connection(engine: Engine | None, action: str, target: str) -> None:
    engine = engine or get_engine()
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, target)


def upgrade(engine: Engine | None = None, target: str = "heads") -> None:
    _with_connection(engine, "upgrade", target)


def downgrade(engine: Engine | None = None, target: str = "base") -> None:
    _with_connection(engine, "downgrade", target)


def head_revision(root: Path = REPO_ROOT) -> str:
    """The revision the migrations directory under ``root`` ends at (one head)."""
    head = ScriptDirectory.from_config(alembic_config(root=root)).get_current_head()
    if head is None:
        raise MigrationError("the migrations directory holds no revision")
    return head


class MigrationError(Exception):
    """A migration run that did not happen or was rolled back; the message is safe to show."""


@dataclass(frozen=True)
class MigrationResult:
    action: str
    before: str | None  # the database's revision before the run (None: an empty database)
    revision: str | None  # after it
    applied: tuple[str, ...]  # the revisions applied (upgrade) or reverted (downgrade), in order

    def as_data(self) -> dict[str, str]:
        """The custom resource's ``Data`` (strings only, as CloudFormation's ``GetAtt`` wants them)."""
        return {
            "Action": self.action,
            "Revision": self.revision or "base",
            "PreviousRevision": self.before or "base",
            "Applied": ",".join(self.applied),
        }


def current_revision(conn: Connection) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(heads) or None


@contextmanager
def advisory_lock(conn: Connection, *, wait_seconds: float) -> Iterator[None]:
    """Hold the migration lock on ``conn`` (a session-level lock: it outlives transactions) for the block;
    wait at most ``wait_seconds`` for it. Released at the end, on failure too (and by the server when the
    connection closes, whatever happens here)."""
    conn.exec_driver_sql(f"SET lock_timeout = {max(1, int(wait_seconds * 1000))}")
    try:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    except DBAPIError as exc:
        conn.rollback()
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            raise MigrationError(
                f"another migration held the lock for {wait_seconds:.0f} s; deploy again once it is done"
            ) from None
        raise
    conn.exec_driver_sql("RESET lock_timeout")
    conn.commit()
    try:
        yield
    finally:
        try:
            if conn.in_transaction():
                conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
        except DBAPIError:  # a lost connection: the server released the lock with the session
            pass


def reached(script: ScriptDirectory, target: str, current: str | None) -> bool:
    """True when the database at ``current`` is at ``target`` or past it (``target`` an ancestor)."""
    if current is None or target in {"head", "heads"}:
        return False
    if target == current:
        return True
    try:
        list(script.iterate_revisions(current, target))
    except RangeNotAncestorError:
        return False
    return True


def _known(script: ScriptDirectory, revision: str) -> bool:
    if revision in {"head", "heads"}:
        return True
    try:
        script.revision_map.get_revision(revision)
    except ResolutionError:
        return False
    return True


def unknown_revisions(script: ScriptDirectory, current: str | None) -> list[str]:
    """The revisions of ``current`` (the database's heads, comma-joined) that ``script`` does not hold: a
    newer deploy's, when CloudFormation's rollback has put the previous code (and its migrations) back."""
    return [rev for rev in filter(None, (current or "").split(",")) if not _known(script, rev)]


def locked_migration(
    conn: Connection,
    action: str,
    target: str,
    *,
    root: Path = REPO_ROOT,
    wait_seconds: float,
    then: Callable[[Connection], object] | None = None,
    deadline: float | None = None,
) -> MigrationResult:
    """``alembic upgrade|downgrade target`` under the advisory lock, in one transaction with ``then`` (the
    role's setup): a failure anywhere rolls all of it back, leaving the schema as it was. An upgrade to a
    revision the database has already passed does nothing (CloudFormation's rollback of a deploy asks
    for the previous head: the schema stays, the old code copes with what was added). So does an upgrade
    when the database is at a revision the scripts under ``root`` do not know: the rollback runs the
    previous code, whose migrations end before the database's revision; it is taken as past ``target``
    (a warning says so) and the answer reports the database's revision. A downgrade from such a revision
    fails, changing nothing: only the code that has the revision can revert it.

    ``deadline`` (a ``time.monotonic()`` moment) bounds the migration's transaction, whatever the lock wait
    left of it: PostgreSQL's ``transaction_timeout`` ends the session at that moment, which rolls the
    transaction back and releases the lock, so the caller can still answer (a Lambda function before its
    own timeout) instead of being killed halfway and retried."""
    if action not in {"upgrade", "downgrade"}:
        raise ValueError(action)
    cfg = alembic_config(root=root)
    script = ScriptDirectory.from_config(cfg)
    with advisory_lock(conn, wait_seconds=wait_seconds):
        before = current_revision(conn)
        conn.commit()
        unknown = unknown_revisions(script, before)
        if unknown and action == "downgrade":
            raise MigrationError(
                f"the database is at {before}, a revision these migrations do not know (a newer "
                "deploy's): downgrade with the code that has it; nothing was changed"
            )
        past = bool(unknown) and _known(script, target)
        if past:
            logger.warning(
                f"the database's revision {before} is unknown to these migrations (a newer deploy's, "
                f"the code rolled back?): taken as at or past {target}, nothing applied",
                extra={"revision": before, "target": target},
            )
        if deadline is not None:
            limit_ms = max(1000, int((deadline - time.monotonic()) * 1000))
            conn.exec_driver_sql(f"SET transaction_timeout = {limit_ms}")
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                if not (action == "upgrade" and (past or reached(script, target, before))):
                    getattr(command, action)(cfg, target)
                after = current_revision(conn)
                if then is not None:
                    then(conn)
        except DBAPIError as exc:
            primary = primary_message(exc) or type(exc.orig).__name__
            raise MigrationError(
                f"{action} to {target} failed ({type(exc.orig).__name__}: {primary}); rolled back, "
                f"the schema is unchanged at {before or 'base'}"
            ) from None
        except MigrationError:
            raise
        except Exception as exc:  # alembic's own errors (unknown revision, ...) and the role's
            raise MigrationError(
                f"{action} to {target} failed ({type(exc).__name__}: {exc}); rolled back, the schema is "
                f"unchanged at {before or 'base'}"
            ) from None
    if past:  # nothing applied, and the revisions are not in the script to walk
        return MigrationResult(action, before, after, ())
    upper, lower = (after, before) if action == "upgrade" else (before, after)
    steps = [rev.revision for rev in script.iterate_revisions(upper or "base", lower or "base") if rev]
    applied = tuple(reversed(steps)) if action == "upgrade" else tuple(steps)
    return MigrationResult(action, before, after, applied)
