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


def _reports(conn):
    return conn.execute(text("SELECT id, owner_user_id, tldr_text FROM reports ORDER BY id")).all()


def _access(conn):
    return conn.execute(text("SELECT user_id, report_id FROM user_report_access ORDER BY 1, 2")).all()


def test_private_imports_migration_gives_each_imported_row_to_its_only_reader(scratch_engine):
    """0005: an imported row one user has in their history becomes theirs; a row nobody or several users
    have (the importer may have overwritten a report the others had opened) is deleted; shared rows stay."""
    migrate.upgrade(scratch_engine, "0004_report_generation")
    with scratch_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, login) VALUES (1, 'alice'), (2, 'bob'), (3, 'carol')"))
        conn.execute(
            text(
                "INSERT INTO repositories (id, full_name, owner, name, html_url) "
                "VALUES (1, 'octo/hello', 'octo', 'hello', 'https://github.com/octo/hello')"
            )
        )
        for report_id, timeframe, summariser in [
            (1, "last_day", "imported"),  # bob's own import
            (2, "last_week", "imported"),  # a shared row bob overwrote after alice had opened it
            (3, "last_month", "imported"),  # in nobody's history
            (4, "last_year", "extractive"),  # a generated shared row
        ]:
            conn.execute(
                text(
                    "INSERT INTO reports (id, repository_id, timeframe, timeframe_start, timeframe_end,"
                    " tldr_text, summariser) VALUES (:id, 1, :tf, '2026-01-01', '2026-01-02', :tldr, :s)"
                ),
                {"id": report_id, "tf": timeframe, "tldr": f"r{report_id}", "s": summariser},
            )
        conn.execute(
            text(
                "INSERT INTO user_report_access (user_id, report_id) "
                "VALUES (2, 1), (1, 2), (2, 2), (1, 4), (3, 4)"
            )
        )
    migrate.upgrade(scratch_engine)
    with scratch_engine.connect() as conn:
        assert _reports(conn) == [(1, 2, "r1"), (4, None, "r4")]
        assert _access(conn) == [(1, 4), (2, 1), (3, 4)]

    # Downgrade: the shared row of a key wins over own copies, else the newest own copy stays.
    with scratch_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO reports (id, repository_id, timeframe, timeframe_start, timeframe_end,"
                " tldr_text, summariser, owner_user_id, generated_at) VALUES"
                " (5, 1, 'last_year', '2026-01-01', '2026-01-02', 'r5', 'imported', 1, now()),"
                " (6, 1, 'last_day', '2026-01-01', '2026-01-02', 'r6', 'imported', 3, now() + interval '1 s')"
            )
        )
        conn.execute(text("INSERT INTO user_report_access (user_id, report_id) VALUES (1, 5), (3, 6)"))
    migrate.downgrade(scratch_engine, "0004_report_generation")
    with scratch_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, tldr_text FROM reports ORDER BY id")).all()
        assert rows == [(4, "r4"), (6, "r6")]
        assert _access(conn) == [(1, 4), (3, 4), (3, 6)]
    migrate.upgrade(scratch_engine)
    with scratch_engine.connect() as conn:
        assert _reports(conn) == [(4, None, "r4"), (6, 3, "r6")]


def test_exact_reports_migration_merges_rows_that_share_a_github_id_keeping_names_as_aliases(scratch_engine):
    """0007: a repository looked up under its old and its new name had two rows with one GitHub id; the most
    recently updated row stays, the other's name becomes its alias and its trackers move to it. Downgrade
    drops the aliases, the index and the new columns; upgrading again works."""
    migrate.upgrade(scratch_engine, "0006_login_state_client")
    with scratch_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, login) VALUES (1, 'alice'), (2, 'bob')"))
        conn.execute(
            text(
                "INSERT INTO repositories (id, full_name, owner, name, html_url, github_id, updated_at)"
                " VALUES (1, 'old/tool', 'old', 'tool', 'https://github.com/old/tool', 77,"
                " now() - interval '1 day'),"
                " (2, 'new/tool', 'new', 'tool', 'https://github.com/new/tool', 77, now()),"
                " (3, 'octo/hello', 'octo', 'hello', 'https://github.com/octo/hello', 5, now())"
            )
        )
        conn.execute(
            text("INSERT INTO user_repositories (user_id, repository_id) VALUES (1, 1), (2, 1), (2, 2)")
        )
        report = (
            "INSERT INTO reports (id, repository_id, timeframe, timeframe_start, timeframe_end, tldr_text,"
            " owner_user_id) VALUES (:id, :repo, :tf, '2026-01-01', '2026-01-02', :tldr, :owner)"
        )
        for values in [
            {"id": 1, "repo": 1, "tf": "last_day", "tldr": "old-name day", "owner": None},  # moves
            {
                "id": 2,
                "repo": 1,
                "tf": "last_week",
                "tldr": "old-name week",
                "owner": None,
            },  # kept row has it
            {"id": 3, "repo": 2, "tf": "last_week", "tldr": "new-name week", "owner": None},
            {"id": 4, "repo": 1, "tf": "last_week", "tldr": "alice's import", "owner": 1},  # moves
        ]:
            conn.execute(text(report), values)
        conn.execute(text("INSERT INTO user_report_access (user_id, report_id) VALUES (1, 4), (2, 1)"))
    migrate.upgrade(scratch_engine)
    with scratch_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, full_name FROM repositories ORDER BY id")).all()
        assert rows == [(2, "new/tool"), (3, "octo/hello")]
        aliases = conn.execute(text("SELECT full_name, repository_id FROM repository_aliases")).all()
        assert aliases == [("old/tool", 2)]
        tracked = conn.execute(text("SELECT user_id, repository_id FROM user_repositories ORDER BY 1")).all()
        assert tracked == [(1, 2), (2, 2)]
        reports = conn.execute(text("SELECT id, repository_id FROM reports ORDER BY id")).all()
        assert reports == [(1, 2), (3, 2), (4, 2)]  # the duplicate key's row went with the merged row
        assert _access(conn) == [(1, 4), (2, 1)]  # histories kept
        stats = conn.execute(
            text(
                "SELECT column_default FROM information_schema.columns "
                "WHERE table_name = 'reports' AND column_name = 'stats'"
            )
        ).scalar()
        assert stats is not None and "{}" in stats
    with scratch_engine.begin() as conn, pytest.raises(Exception, match="ix_repositories_github_id"):
        conn.execute(
            text(
                "INSERT INTO repositories (full_name, owner, name, html_url, github_id)"
                " VALUES ('x/y', 'x', 'y', 'https://github.com/x/y', 77)"
            )
        )
    migrate.downgrade(scratch_engine, "0006_login_state_client")
    assert "repository_aliases" not in _tables(scratch_engine)
    columns = {c["name"] for c in inspect(scratch_engine).get_columns("reports")}
    assert not {"stats", "partial", "fallbacks"} & columns
    migrate.upgrade(scratch_engine)
    assert _tables(scratch_engine) == set(Base.metadata.tables)
