"""The application role (``DB_USER``, ``oss_tldr_app``) created or brought up to date from code, by the
migration function on every deploy (``oss_tldr.maintenance.migration``), as the schema owner.

What the role gets, and nothing more, after every sync: whatever else it held is revoked first
(docs/deployment.md, "The database role"; the tests read it back from ``pg_roles``,
``information_schema.role_table_grants``, ``pg_default_acl`` and ``pg_db_role_setting``):

* ``LOGIN`` (no superuser, database or role creation, replication or RLS bypass: cleared if an earlier
  setup gave them, as far as the master may, see :func:`_attributes`) with the password of
  ``AppUserSecret``: RDS Proxy authenticates to Aurora with it. Not a member of ``rds_iam`` unless
  ``iam_login`` (``DB_APP_RDS_IAM``): Aurora lets a user sign in one way only, and a member of ``rds_iam``
  cannot sign in with a password
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/database-authentication.html), which would lock
  out the proxy of template.yaml (``AuthScheme: SECRETS``; the functions' IAM tokens are the proxy's
  business, not the database's). ``iam_login`` is for direct IAM sign-in or a proxy with end-to-end IAM
  authentication; without it a membership is revoked (the manual setup of old granted it);
* ``CONNECT`` on the database (not ``CREATE``), ``USAGE`` on the schema (not ``CREATE``); ``SELECT,
  INSERT, UPDATE, DELETE`` on every table but ``alembic_version`` (the schema's revision is the migration
  function's business), ``USAGE, SELECT`` on every sequence, and the same by default on what the schema
  owner creates later;
* ``statement_timeout`` and ``idle_in_transaction_session_timeout`` as role settings: behind RDS Proxy a
  session-level ``SET`` would pin the client to one database connection.

The password is sent as a SCRAM-SHA-256 verifier computed here, never in clear: the server, its logs and
any error quoting the statement see only the verifier (what ``password_encryption = scram-sha-256`` would
have stored anyway).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from sqlalchemy import Connection, text

from oss_tldr.db.errors import primary_message
from oss_tldr.observability import logger

ALEMBIC_TABLE = "alembic_version"
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")
DEFAULTS = "ALTER DEFAULT PRIVILEGES IN SCHEMA public"  # for what the schema owner creates later
DEFAULT_KINDS = ("TABLES", "SEQUENCES", "FUNCTIONS", "TYPES")  # the default privileges revoked first
SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


class RoleSetupError(Exception):
    """The role could not be set up; the message is safe to show (no password, no verifier)."""


def scram_sha256_verifier(password: str, *, salt: bytes | None = None) -> str:
    """The verifier PostgreSQL stores for ``password`` (RFC 5802/7677, as libpq's ``PQencryptPassword``)."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _rds_iam(conn: Connection, role: str, *, grant: bool, create_if_missing: bool) -> str | None:
    """The statement that makes ``role`` a member of ``rds_iam`` (``grant``) or not, if one is needed. A
    local PostgreSQL has no ``rds_iam``: a ``NOLOGIN`` stand-in is created when allowed, as Aurora has it."""
    exists = bool(conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'")))
    if grant and not exists:
        if not create_if_missing:
            raise RoleSetupError("the role rds_iam does not exist: is this Aurora with IAM authentication?")
        conn.exec_driver_sql("CREATE ROLE rds_iam NOLOGIN")
    if grant:
        return f"GRANT rds_iam TO {_quote_ident(role)}"
    return f"REVOKE rds_iam FROM {_quote_ident(role)}" if exists else None


def _attributes(conn: Connection) -> str:
    """``LOGIN`` and the ``NO...`` of every other attribute the current user (the master) may clear.

    PostgreSQL 16 and later (the template's Aurora is 17): only a superuser may name ``SUPERUSER`` or
    ``NOSUPERUSER`` at all, and a role with ``CREATEROLE`` and the ``ADMIN`` option on the role may change
    ``CREATEDB``, ``REPLICATION`` or ``BYPASSRLS`` only if it has that attribute itself. The RDS/Aurora
    master is not a superuser (``rds_superuser`` is a role, not the attribute) and is ``NOREPLICATION``
    (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.rds_superuser.html),
    so there ``NOSUPERUSER`` and ``NOREPLICATION`` (and ``NOBYPASSRLS`` unless the master has
    ``BYPASSRLS``) would be refused and are left out: the master cannot have given them either, and a
    superuser application role cannot be altered by it at all (the sync fails, saying so).
    """
    me = conn.execute(
        text(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    superuser = bool(me.rolsuper)
    clauses = ["LOGIN"]
    for name, held in (
        ("SUPERUSER", False),
        ("CREATEDB", me.rolcreatedb),
        ("CREATEROLE", me.rolcreaterole),
        ("REPLICATION", me.rolreplication),
        ("BYPASSRLS", me.rolbypassrls),
    ):
        if superuser or held:
            clauses.append(f"NO{name}")
    return " ".join(clauses)


def sync_app_role(
    conn: Connection,
    role: str,
    *,
    password: str | None,
    statement_timeout_ms: int,
    idle_in_transaction_timeout_ms: int,
    iam_login: bool = False,
    create_rds_iam: bool = False,
) -> bool:
    """Create ``role`` or bring it to exactly the documented grants (idempotent); True when it was created.

    Whatever an earlier manual setup gave the role is taken away first (attributes, privileges on the
    database, the schema, its tables and sequences, the schema owner's default privileges), then the
    documented set is granted: all in the caller's transaction, so a failure leaves the old grants. Runs
    as the owner of the schema's tables (the default privileges are the owner's; a grant made by another
    role is that role's to revoke). ``create_rds_iam``: a missing ``rds_iam`` may be created (locally
    only)."""
    r = _quote_ident(role)
    created = not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    login = _attributes(conn)
    if password:
        login += f" PASSWORD {_quote_literal(scram_sha256_verifier(password))}"
    database = _quote_ident(str(conn.scalar(text("SELECT current_database()"))))
    statements: list[str | None] = [
        f"{'CREATE' if created else 'ALTER'} ROLE {r} WITH {login}",
        _rds_iam(conn, role, grant=iam_login, create_if_missing=create_rds_iam),
        f"ALTER ROLE {r} SET statement_timeout = {int(statement_timeout_ms)}",
        f"ALTER ROLE {r} SET idle_in_transaction_session_timeout = {int(idle_in_transaction_timeout_ms)}",
        # nothing but what follows: revoked, then granted again, in the same transaction
        f"REVOKE ALL ON DATABASE {database} FROM {r}",
        f"REVOKE ALL ON SCHEMA public FROM {r}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",  # column privileges with them
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
        *(f"{DEFAULTS} REVOKE ALL ON {kind} FROM {r}" for kind in DEFAULT_KINDS),
        *(f"ALTER DEFAULT PRIVILEGES REVOKE ALL ON {kind} FROM {r}" for kind in (*DEFAULT_KINDS, "SCHEMAS")),
        f"GRANT CONNECT ON DATABASE {database} TO {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"GRANT {', '.join(TABLE_PRIVILEGES)} ON ALL TABLES IN SCHEMA public TO {r}",
        f"REVOKE ALL ON TABLE public.{ALEMBIC_TABLE} FROM {r}",
        f"GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON ALL SEQUENCES IN SCHEMA public TO {r}",
        f"{DEFAULTS} GRANT {', '.join(TABLE_PRIVILEGES)} ON TABLES TO {r}",
        f"{DEFAULTS} GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON SEQUENCES TO {r}",
    ]
    if not conn.scalar(text("SELECT to_regclass(:t)"), {"t": f"public.{ALEMBIC_TABLE}"}):
        statements.remove(f"REVOKE ALL ON TABLE public.{ALEMBIC_TABLE} FROM {r}")
    for number, statement in enumerate(statements):
        if statement is None:
            continue
        try:
            conn.exec_driver_sql(statement)
        except Exception as exc:  # the statement may hold the verifier: say which step, not the SQL
            primary = primary_message(exc)
            step = "creating the role" if number == 0 else f"step {number + 1} of the role setup"
            raise RoleSetupError(f"{step} failed: {primary or type(exc).__name__}") from None
    kept = conn.execute(
        text("SELECT rolreplication, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).one()
    left = [name for name, held in zip(("REPLICATION", "BYPASSRLS"), kept, strict=True) if held]
    if left:  # not the master's to clear (see _attributes); someone with the attribute must
        logger.warning(
            f"the application role keeps {', '.join(left)}, which the master user may not clear",
            extra={"role": role, "attributes": left},
        )
    return created
