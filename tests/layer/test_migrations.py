"""Alembic: the round trip works on empty and populated databases, and the ORM matches the schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from oss_tldr.db import migrate
from oss_tldr.db.local import ensure_database
from oss_tldr.db.models import Base

pytestmark = pytest.mark.slow


@pytest.fixture
def scratch_engine(pg_admin_uri):
    """A fresh database per test, so downgrades do not touch the shared test database."""
    import uuid

    name = f"scratch_{uuid.uuid4().hex[:8]}"
    url = ensure_database(pg_admin_uri, name)
    eng = create_engine(url, connect_args={"prepare_threshold": None})
    yield eng
    eng.dispose()
    admin = create_engine(
        pg_admin_uri.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(eng):
    return set(inspect(eng).get_table_names()) - {"alembic_version"}


def test_round_trip_on_empty_database(scratch_engine):
    migrate.upgrade(scratch_engine)
    assert _tables(scratch_engine) == set(Base.metadata.tables)
    migrate.downgrade(scratch_engine)
    assert _tables(scratch_engine) == set()
    migrate.upgrade(scratch_engine)
    assert _tables(scratch_engine) == set(Base.metadata.tables)


def test_round_trip_on_database_holding_rows(scratch_engine):
    migrate.upgrade(scratch_engine)
    with scratch_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, login) VALUES (1, 'octocat')"))
        conn.execute(
            text(
                "INSERT INTO repositories (full_name, owner, name, html_url) "
                "VALUES ('octo/hello', 'octo', 'hello', 'https://github.com/octo/hello')"
            )
        )
        conn.execute(text("INSERT INTO user_repositories (user_id, repository_id) VALUES (1, 1)"))
    migrate.downgrade(scratch_engine)
    migrate.upgrade(scratch_engine)
    assert _tables(scratch_engine) == set(Base.metadata.tables)


def test_models_match_migrated_schema(scratch_engine):
    migrate.upgrade(scratch_engine)
    with scratch_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"ORM models and migrations disagree: {diff}"


def test_single_migration_head():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads, linearise them: {heads}"
