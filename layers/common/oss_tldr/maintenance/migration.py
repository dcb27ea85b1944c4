"""The migration function (``MigrationFunction``): the schema and the application role, on every deploy.

CloudFormation invokes it through the ``DatabaseMigration`` custom resource (template.yaml) after the
database instance exists and before any function that uses the schema is updated:

* Create / Update: ``alembic upgrade <MigrationHead>`` (the resource's property: the template's head)
  under the migration lock (two overlapping deploys: the second
  waits, then finds nothing to do), then the application role created or brought up to date
  (:mod:`oss_tldr.db.app_role`), both in one transaction. SUCCESS with the revision in ``Data``; any
  failure rolls everything back and answers FAILED with a reason that never holds a secret, so the deploy
  rolls back. The rollback's own Update (the previous ``MigrationHead``, which the database is at or past)
  does nothing and answers SUCCESS, so the rollback completes: CloudFormation reverts this function's
  code first, so that Update runs the previous migrations, which do not know the newer revision the
  database is at; it is taken as past the target (a warning in the log), and the answer reports it.
* Delete: SUCCESS without touching the database (the cluster keeps its snapshot; the schema is its own).

Invoked directly (``aws lambda invoke``, docs/deployment.md): ``{"action": "upgrade"}`` does what a deploy
does (after rotating the application role's password, say); ``{"action": "downgrade", "steps": 1}``
reverts the last revision (``alembic downgrade -1``), under the same lock; ``{"action": "status"}`` reads
the revision. Its answer is the result; a failure raises :class:`MigrationError` (the invocation fails).

It connects as the master user (``DB_MASTER_SECRET_ARN``) to the cluster's writer endpoint
(``DB_CLUSTER_ENDPOINT``), never through RDS Proxy: DDL, role management and a session-level lock.
Locally (``make invoke EVENT=events/migrate_create.json``, the tests) the connection is ``DATABASE_URL``
or the embedded server's, as ``make migrate``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import URL, Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from oss_tldr.db.app_role import sync_app_role
from oss_tldr.db.engine import aws_url, database_url
from oss_tldr.db.migrate import MigrationError, MigrationResult, current_revision, locked_migration
from oss_tldr.errors import ConfigurationError
from oss_tldr.maintenance.custom_resource import (
    Outcome,
    is_custom_resource_event,
    response_body,
    send_response,
)
from oss_tldr.observability import logger
from oss_tldr.secrets import fetch_secret, resolve_secret
from oss_tldr.settings import Settings, get_settings

PHYSICAL_ID = "oss-tldr-database-schema"
# Left of the invocation after the lock wait: the migration itself, the response, the logs.
WORK_MARGIN_SECONDS = 120.0
# Left of the invocation when the migration's transaction is cut off: the FAILED answer and the logs.
ANSWER_MARGIN_SECONDS = 20.0
MIN_LOCK_WAIT_SECONDS = 5.0
MAX_DOWNGRADE_STEPS = 5


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def master_url(settings: Settings) -> URL:
    """Where migrations connect, as whom: the cluster endpoint with the master secret in AWS."""
    if settings.db_cluster_endpoint:
        if not settings.db_master_secret_arn:
            raise ConfigurationError("DB_CLUSTER_ENDPOINT needs DB_MASTER_SECRET_ARN (the master secret)")
        return aws_url(
            settings,
            host=settings.db_cluster_endpoint,
            username=fetch_secret(settings.db_master_secret_arn, field="username"),
            password=fetch_secret(settings.db_master_secret_arn, field="password"),
        )
    if settings.in_aws:
        raise ConfigurationError("The migration function needs DB_CLUSTER_ENDPOINT in AWS")
    return database_url(settings)


def master_engine(settings: Settings) -> Engine:
    """One connection, opened for the run and closed after it (which also drops the session's lock)."""
    return create_engine(
        master_url(settings),
        poolclass=NullPool,
        hide_parameters=True,
        connect_args={
            "prepare_threshold": None,
            "connect_timeout": 10,
            "application_name": "oss-tldr-migrate",
        },
    )


def _sync_role(settings: Settings) -> Any:
    password = resolve_secret(settings.db_app_password, settings.db_app_secret_arn, field="password")
    if settings.in_aws and not password:
        raise ConfigurationError("The migration function needs DB_APP_SECRET_ARN (the application password)")

    def sync(conn: Connection) -> None:
        created = sync_app_role(
            conn,
            settings.db_user,
            password=password,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            idle_in_transaction_timeout_ms=settings.db_idle_in_transaction_timeout_ms,
            iam_login=settings.db_app_rds_iam,
            create_rds_iam=not settings.in_aws,
        )
        logger.info("application role ready", extra={"role": settings.db_user, "role_created": created})

    return sync


def run(
    action: str,
    *,
    root: Path,
    lock_wait_seconds: float,
    steps: int = 1,
    head: str = "heads",
    deadline: float | None = None,
) -> MigrationResult:
    """One run of ``action`` (upgrade to ``head``, with the role; downgrade: ``steps`` revisions) on the
    master connection."""
    settings = get_settings()
    if action == "upgrade":
        target, then = head, _sync_role(settings)
    elif action == "downgrade":
        target, then = f"-{steps}", None
    else:
        raise ValueError(action)
    engine = master_engine(settings)
    try:
        with engine.connect() as conn:
            result = locked_migration(
                conn, action, target, root=root, wait_seconds=lock_wait_seconds, then=then, deadline=deadline
            )
    finally:
        engine.dispose()
    logger.info("migration done", extra=result.as_data())
    return result


def status(*, root: Path) -> dict[str, str]:
    engine = master_engine(get_settings())
    try:
        with engine.connect() as conn:
            return {"Action": "status", "Revision": current_revision(conn) or "base"}
    finally:
        engine.dispose()


def _lock_wait(context: RemainingTime) -> float:
    return max(MIN_LOCK_WAIT_SECONDS, context.get_remaining_time_in_millis() / 1000.0 - WORK_MARGIN_SECONDS)


def _deadline(context: RemainingTime) -> float:
    """When the migration's transaction is cut off: early enough to answer before the function's timeout
    (a killed run would never answer, and CloudFormation would wait for its ServiceTimeout)."""
    return time.monotonic() + context.get_remaining_time_in_millis() / 1000.0 - ANSWER_MARGIN_SECONDS


def _safe_reason(exc: Exception) -> str:
    """What may be said of a failure: our own messages, else the exception's type (a driver's message
    could quote a connection string)."""
    if isinstance(exc, MigrationError | ConfigurationError):
        return str(exc)
    return f"the migration failed ({type(exc).__name__}); see the function's log"


def custom_resource(event: Mapping[str, Any], context: RemainingTime, *, root: Path) -> dict[str, Any]:
    """Answer one CloudFormation request at its response URL, and return the body sent."""
    physical_id = str(event.get("PhysicalResourceId") or PHYSICAL_ID)
    logger.append_keys(request_type=event["RequestType"], logical_resource_id=event["LogicalResourceId"])
    if event["RequestType"] == "Delete":
        outcome = Outcome("SUCCESS", "deleting the resource leaves the database as it is", physical_id)
    else:
        try:
            head = (event.get("ResourceProperties") or {}).get("MigrationHead") or "heads"
            result = run(
                "upgrade",
                root=root,
                lock_wait_seconds=_lock_wait(context),
                head=str(head),
                deadline=_deadline(context),
            )
            applied = ", ".join(result.applied) or "nothing to apply"
            outcome = Outcome("SUCCESS", f"at {result.revision} ({applied})", physical_id, result.as_data())
        except (MigrationError, ConfigurationError) as exc:
            logger.error("migration failed", extra={"reason": str(exc)})
            outcome = Outcome("FAILED", _safe_reason(exc), physical_id)
        except Exception as exc:  # the traceback for the operator: driver messages hold no password
            logger.exception("migration failed", extra={"error": type(exc).__name__})
            outcome = Outcome("FAILED", _safe_reason(exc), physical_id)
    body = response_body(event, outcome)
    send_response(str(event["ResponseURL"]), body)
    return body


def handle(event: Mapping[str, Any], context: RemainingTime, *, root: Path) -> dict[str, Any]:
    """The function's entry point: a custom-resource request, or a direct invocation (module docstring)."""
    if is_custom_resource_event(event):
        return custom_resource(event, context, root=root)
    action = event.get("action", "upgrade")
    if action == "status":
        return status(root=root)
    steps = event.get("steps", 1)
    if action not in {"upgrade", "downgrade"} or not (
        isinstance(steps, int) and not isinstance(steps, bool) and 1 <= steps <= MAX_DOWNGRADE_STEPS
    ):
        raise MigrationError(
            f'expected {{"action": "upgrade" | "downgrade" | "status", "steps": 1..{MAX_DOWNGRADE_STEPS}}}'
        )
    return run(
        action, root=root, lock_wait_seconds=_lock_wait(context), steps=steps, deadline=_deadline(context)
    ).as_data()
