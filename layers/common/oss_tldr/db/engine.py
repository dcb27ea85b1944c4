"""The SQLAlchemy engine, created once per Lambda container and reused by warm invocations.

Three ways to reach PostgreSQL, chosen from the settings:

* ``DATABASE_URL`` set: used as given (driver forced to psycopg 3).
* ``DB_PROXY_ENDPOINT`` set (in AWS): RDS Proxy with IAM auth. The password is a short-lived IAM auth
  token injected on every *new* DBAPI connection (``do_connect``), so a connection opened after the
  previous token's 15 minutes gets a fresh one; TLS is required.
* neither, locally: an embedded PostgreSQL under ``.oss-tldr/`` (see :mod:`oss_tldr.db.local`).

Errors never carry the statement's bound values (``hide_parameters``): a logged database error shows the
SQL with its placeholders, not the session ids or text it was run with.

Nothing here pins RDS Proxy sessions: no session-level ``SET``, no advisory locks, and psycopg's
automatic server-side prepared statements are off (``prepare_threshold=None``).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    # What a Core statement runs on: a connection of ``connection_scope`` or an ORM session of
    # ``session_scope`` (a function written for the hit path serves both).
    Executor = Connection | Session

from oss_tldr.errors import ConfigurationError, DatabaseUnavailable
from oss_tldr.settings import Settings, get_settings


def _psycopg(url: URL) -> URL:
    if url.drivername in {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"}:
        return url.set(drivername="postgresql+psycopg")
    raise ConfigurationError(f"DATABASE_URL must be a PostgreSQL URL, got driver {url.drivername!r}")


def aws_url(settings: Settings, *, host: str, username: str, password: str | None = None) -> URL:
    """An AWS endpoint of the database (the proxy, or the cluster for migrations): TLS required."""
    return URL.create(
        "postgresql+psycopg",
        username=username,
        password=password,
        host=host,
        port=settings.db_port,
        database=settings.db_name,
        query={"sslmode": "require"},
    )


def database_url(settings: Settings) -> URL:
    """The URL to connect to, without any IAM token (that is added per connection)."""
    if settings.database_url:
        return _psycopg(make_url(settings.database_url))
    if settings.db_proxy_endpoint:
        return aws_url(settings, host=settings.db_proxy_endpoint, username=settings.db_user)
    if settings.in_aws:
        raise ConfigurationError("In AWS, DATABASE_URL or DB_PROXY_ENDPOINT must be set")
    from oss_tldr.db.local import embedded_database_url  # local-only import

    return _psycopg(make_url(embedded_database_url(settings)))


_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_all_engines() -> None:
    """Close the pooled connections of every engine of this process (they stay usable: a new connection is
    opened on the next checkout). After a SnapStart restore the snapshot's connections are dead."""
    for engine in list(_engines):
        engine.dispose()


def build_engine(settings: Settings, **overrides: Any) -> Engine:
    url = database_url(settings)
    connect_args: dict[str, Any] = {
        "prepare_threshold": None,  # no server-side prepared statements: they pin RDS Proxy sessions
        "connect_timeout": 5,
        "application_name": "oss-tldr",
    }
    if not settings.db_proxy_endpoint and settings.db_statement_timeout_ms:
        # A startup option in the connection string (not a SET). Behind RDS Proxy the timeout comes from
        # the role instead (ALTER ROLE ... SET statement_timeout, see docs/deployment.md).
        connect_args["options"] = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_recycle": 600,
        "pool_timeout": 10,
        "connect_args": connect_args,
        # A statement's bound values (session ids, tokens' hashes, users' text) never appear in an error's
        # message, so never in a log: errors show the SQL with placeholders only.
        "hide_parameters": True,
    }
    options.update(overrides)
    engine = create_engine(url, **options)
    if settings.db_proxy_endpoint and not settings.database_url:
        from oss_tldr.db.iam import RdsIamTokenProvider  # boto3 only on the AWS path

        provider = RdsIamTokenProvider(settings)

        @event.listens_for(engine, "do_connect")
        def _inject_iam_token(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
            cparams["password"] = provider.token()

    _engines.add(engine)
    return engine


@functools.cache
def get_engine() -> Engine:
    """The container's engine (created on first use, reused by every warm invocation)."""
    return build_engine(get_settings())


@functools.cache
def _session_factory() -> sessionmaker[Session]:
    # The ORM is imported by the first unit of work that needs it, not with the engine: a hit path works on
    # Core connections (``connection_scope``) and never loads it (docs/performance.md, cold start).
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)


def reset_engine() -> None:
    """Dispose of the container's engine (tests switch databases between sessions)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()


@contextmanager
def _unavailable_on_connection_loss() -> Iterator[None]:
    """A lost or unreachable database is the 503 :class:`DatabaseUnavailable`; any other error passes."""
    try:
        yield
    except OperationalError as exc:
        raise DatabaseUnavailable() from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable() from exc
        raise


@contextmanager
def session_scope() -> Iterator[Session]:
    """One ORM unit of work: commits on success, rolls back on any error, maps connection loss to 503."""
    session = _session_factory()()
    try:
        with _unavailable_on_connection_loss():
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        session.close()


@contextmanager
def connection_scope() -> Iterator[Connection]:
    """``session_scope`` on a Core connection, for the hit paths: one transaction, committed on success and
    rolled back on any error, connection loss mapped to 503, and no ORM imported (their statements are
    built on :mod:`oss_tldr.db.tables`)."""
    with _unavailable_on_connection_loss(), get_engine().begin() as conn:
        yield conn


def ping() -> bool:
    """True when the database answers ``SELECT 1``."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except (OperationalError, DBAPIError, ConfigurationError, OSError):
        return False
