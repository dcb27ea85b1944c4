"""The migration function (``MigrationFunction``, :mod:`oss_tldr.maintenance.migration`) against the
embedded PostgreSQL: each test has a database of its own and an application role of its own name
(``DB_USER``), and the custom resource's response document is caught by a local HTTP server standing for
CloudFormation's pre-signed ``ResponseURL``. ``rds_iam`` is created ``NOLOGIN`` in the cluster, as Aurora
has it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
from helpers import load_event
from sqlalchemy import create_engine, inspect, text

from oss_tldr.db.local import ensure_database
from oss_tldr.db.migrate import MIGRATION_LOCK_KEY, MigrationError, head_revision
from oss_tldr.db.models import Base
from oss_tldr.maintenance import migration
from tools.invoke import ResponseCatcher
from tools.lambda_local import FakeLambdaContext, context_for, load_handler

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HEAD = head_revision()
ALL_REVISIONS = sorted(p.stem for p in (ROOT / "migrations/versions").glob("0*.py"))
PASSWORD = "app-password-" + "x" * 20
TABLE_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE"}


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture
def world(pg_admin_uri, settings_env):
    """A fresh empty database (``DATABASE_URL``: the master connection locally), an app role name of its
    own with a password, ``rds_iam`` present; all dropped afterwards."""
    name = f"mig_{uuid.uuid4().hex[:8]}"
    role = f"app_{name}"
    url = ensure_database(pg_admin_uri, name)
    admin = create_engine(_psycopg(pg_admin_uri), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text("DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        )
    settings_env(DATABASE_URL=url, DB_USER=role, DB_APP_PASSWORD=PASSWORD, DB_NAME=name)
    engine = create_engine(_psycopg(url), connect_args={"prepare_threshold": None})
    yield type("World", (), {"url": url, "role": role, "engine": engine, "name": name})
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


@pytest.fixture
def catcher():
    with ResponseCatcher().serving() as caught:
        yield caught


def cr_event(catcher, request_type="Create", head=None, **overrides):
    """The sample request (its MigrationHead the template's, the head) for the local response URL."""
    event = load_event("migrate_create.json", RequestType=request_type, ResponseURL=catcher.url, **overrides)
    if head is not None:
        event["ResourceProperties"] = {**event["ResourceProperties"], "MigrationHead": head}
    return event


def invoke(event):
    return load_handler("MigrationFunction")(event, context_for("MigrationFunction"))


def tables(engine):
    return set(inspect(engine).get_table_names())


def revision(engine):
    with engine.connect() as conn:
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def advisory_locks(engine):
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))


def test_create_on_an_empty_database_migrates_to_head_and_puts_success_with_the_revision(world, catcher):
    body = invoke(cr_event(catcher))

    (sent,) = catcher.received
    document = json.loads(sent["body"])
    assert document == body
    assert sent["headers"].get("Content-Type") == ""  # what the pre-signed URL's signature expects
    assert sent["path"] == "/cfn-response?X-Amz-Signature=local"
    assert document["Status"] == "SUCCESS", document
    assert document["Data"] == {
        "Action": "upgrade",
        "Revision": HEAD,
        "PreviousRevision": "base",
        "Applied": ",".join(ALL_REVISIONS),
    }
    assert (document["PhysicalResourceId"], document["LogicalResourceId"]) == (
        "oss-tldr-database-schema",
        "DatabaseMigration",
    )
    assert document["RequestId"] == cr_event(catcher)["RequestId"]
    assert tables(world.engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert revision(world.engine) == HEAD
    assert advisory_locks(world.engine) == 0
    assert PASSWORD not in sent["body"]


def test_a_rollbacks_update_to_the_previous_head_leaves_a_newer_schema_as_it_is(world, catcher):
    invoke(cr_event(catcher))
    body = invoke(cr_event(catcher, "Update", head=ALL_REVISIONS[-2]))

    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"Action": "upgrade", "Revision": HEAD, "PreviousRevision": HEAD, "Applied": ""}
    assert tables(world.engine) == set(Base.metadata.tables) | {"alembic_version"}


def test_an_unknown_migration_head_fails_the_deploy_saying_so(world, catcher):
    body = invoke(cr_event(catcher, head="0999_nope"))

    assert body["Status"] == "FAILED"
    assert "Can't locate revision identified by '0999_nope'" in body["Reason"]
    assert tables(world.engine) == set()


def test_the_logs_say_what_was_applied_and_never_the_secrets_or_the_response_url(
    world, catcher, powertools_output
):
    assert invoke(cr_event(catcher))["Status"] == "SUCCESS"
    lines = [json.loads(line) for line in powertools_output.getvalue().splitlines()]

    done = next(line for line in lines if line["message"] == "migration done")
    assert done["Revision"] == HEAD and done["Applied"] == ",".join(ALL_REVISIONS)
    role = next(line for line in lines if line["message"] == "application role ready")
    assert (role["role"], role["role_created"]) == (world.role, True)
    assert any(line["message"] == "custom resource response sent" for line in lines)
    logged = powertools_output.getvalue()
    assert PASSWORD not in logged and "SCRAM" not in logged and catcher.url not in logged


def test_an_up_to_date_database_applies_nothing_and_still_answers_success(world, catcher):
    invoke(cr_event(catcher))
    body = invoke(cr_event(catcher, "Update", PhysicalResourceId="oss-tldr-database-schema"))

    assert body["Status"] == "SUCCESS"
    assert body["Data"]["Applied"] == "" and body["Data"]["Revision"] == HEAD
    assert body["Data"]["PreviousRevision"] == HEAD
    assert body["Reason"] == f"at {HEAD} (nothing to apply)"
    assert len(catcher.received) == 2


def test_two_overlapping_deploys_migrate_once_the_second_waiting_on_the_lock(world, catcher):
    holder = world.engine.connect()
    holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    holder.commit()
    answers: list[dict] = []
    threads = [
        threading.Thread(target=lambda t=t: answers.append(invoke(cr_event(catcher, t))))
        for t in ("Create", "Update")
    ]
    for thread in threads:
        thread.start()
    waiting = 0
    for _ in range(400):  # until both runs are blocked on the lock the test holds
        with world.engine.connect() as conn:
            waiting = conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        if waiting == 2:
            break
        time.sleep(0.05)
    assert waiting == 2
    holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    holder.close()
    for thread in threads:
        thread.join(60)

    assert sorted(a["Status"] for a in answers) == ["SUCCESS", "SUCCESS"]
    assert sorted(a["Data"]["Applied"] for a in answers) == ["", ",".join(ALL_REVISIONS)]
    assert {a["Data"]["Revision"] for a in answers} == {HEAD}
    assert len(catcher.received) == 2
    assert advisory_locks(world.engine) == 0


def copy_package(tmp_path: Path) -> Path:
    """The function's package as a test may change it: alembic.ini and a copy of migrations/."""
    shutil.copy(ROOT / "alembic.ini", tmp_path / "alembic.ini")
    shutil.copytree(
        ROOT / "migrations", tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


@pytest.fixture
def broken_root(tmp_path):
    """The repository's migrations plus a revision that creates a table and then fails."""
    copy_package(tmp_path)
    (tmp_path / "migrations/versions/0099_broken.py").write_text(
        f'''"""A broken revision (tests only)."""
from alembic import op
import sqlalchemy as sa

revision = "0099_broken"
down_revision = "{HEAD}"


def upgrade():
    op.create_table("broken_probe", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("no_such_table", sa.Column("x", sa.Integer))


def downgrade():
    op.drop_table("broken_probe")
'''
    )
    return tmp_path


def test_a_failing_revision_answers_failed_with_the_reason_and_leaves_the_schema_unchanged(
    world, catcher, broken_root
):
    invoke(cr_event(catcher))  # at head, the role set up
    update = cr_event(catcher, "Update", head="0099_broken")  # the new template's head
    body = migration.handle(update, context_for("MigrationFunction"), root=broken_root)

    assert body == json.loads(catcher.received[-1]["body"])
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        'upgrade to 0099_broken failed (UndefinedTable: relation "no_such_table" does not exist); rolled '
        f"back, the schema is unchanged at {HEAD}"
    )
    assert body["Data"] == {}
    assert "broken_probe" not in tables(world.engine)
    assert revision(world.engine) == HEAD
    assert advisory_locks(world.engine) == 0  # released: the next deploy goes through
    # CloudFormation's rollback: an Update with the previous properties, which the database is at
    rollback = migration.handle(
        cr_event(catcher, "Update"), context_for("MigrationFunction"), root=broken_root
    )
    assert (rollback["Status"], rollback["Data"]["Applied"], rollback["Data"]["Revision"]) == (
        "SUCCESS",
        "",
        HEAD,
    )


@pytest.fixture
def slow_root(tmp_path):
    """The repository's migrations plus a revision that creates a table, then runs for a minute."""
    copy_package(tmp_path)
    (tmp_path / "migrations/versions/0099_slow.py").write_text(
        f'''"""A revision longer than the function's time (tests only)."""
from alembic import op
import sqlalchemy as sa

revision = "0099_slow"
down_revision = "{HEAD}"


def upgrade():
    op.create_table("slow_probe", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("SELECT pg_sleep(60)")


def downgrade():
    op.drop_table("slow_probe")
'''
    )
    return tmp_path


def test_a_migration_that_would_outlive_the_function_is_cut_off_and_answers_failed_in_time(
    world, catcher, slow_root
):
    """Lambda would kill a run at its timeout without an answer (CloudFormation then waits out its
    ServiceTimeout); the transaction is cut off early enough to answer FAILED, the schema unchanged."""
    invoke(cr_event(catcher))
    remaining_s = migration.ANSWER_MARGIN_SECONDS + 2  # two seconds left for the migration itself
    context = FakeLambdaContext("MigrationFunction", timeout_ms=int(remaining_s * 1000))
    body = migration.handle(cr_event(catcher, "Update", head="0099_slow"), context, root=slow_root)

    assert body["Status"] == "FAILED", body  # not the 60 s revision's SUCCESS: cut off at its limit
    assert body["Reason"] == (
        "upgrade to 0099_slow failed (TransactionTimeout: terminating connection due to transaction "
        f"timeout); rolled back, the schema is unchanged at {HEAD}"
    )
    assert "slow_probe" not in tables(world.engine) and revision(world.engine) == HEAD
    assert advisory_locks(world.engine) == 0


@pytest.fixture
def previous_root(tmp_path):
    """The previous deploy's package: the repository's migrations without the last revision (what the
    function runs once CloudFormation's rollback has reverted its code)."""
    copy_package(tmp_path)
    (tmp_path / f"migrations/versions/{HEAD}.py").unlink()
    return tmp_path


def schema(engine):
    """Every table's columns (name, type), and the revision: what an answer must leave as it was."""
    inspector = inspect(engine)
    columns = {
        table: [(c["name"], str(c["type"])) for c in inspector.get_columns(table)]
        for table in inspector.get_table_names()
    }
    return columns, revision(engine)


def test_a_rollback_update_answered_by_the_previous_code_succeeds_and_leaves_the_schema(
    world, catcher, previous_root, powertools_output
):
    invoke(cr_event(catcher))  # the new deploy's package migrated to HEAD; a later resource failed
    before = schema(world.engine)
    # the rollback: the function's code (its migrations) reverted first, then the previous properties
    rollback = cr_event(catcher, "Update", head=ALL_REVISIONS[-2])
    body = migration.handle(rollback, context_for("MigrationFunction"), root=previous_root)

    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"] == {"Action": "upgrade", "Revision": HEAD, "PreviousRevision": HEAD, "Applied": ""}
    assert body["Reason"] == f"at {HEAD} (nothing to apply)"
    assert schema(world.engine) == before
    assert advisory_locks(world.engine) == 0
    lines = [json.loads(line) for line in powertools_output.getvalue().splitlines()]
    warning = next(line for line in lines if line["level"] == "WARNING")
    assert HEAD in warning["message"] and "unknown" in warning["message"]


def test_a_direct_upgrade_by_the_previous_code_leaves_a_newer_schema_as_it_is(world, catcher, previous_root):
    invoke(cr_event(catcher))
    before = schema(world.engine)
    result = migration.handle({"action": "upgrade"}, context_for("MigrationFunction"), root=previous_root)

    assert result == {"Action": "upgrade", "Revision": HEAD, "PreviousRevision": HEAD, "Applied": ""}
    assert schema(world.engine) == before


def test_a_downgrade_by_code_that_does_not_know_the_revision_fails_saying_so(world, catcher, previous_root):
    invoke(cr_event(catcher))
    before = schema(world.engine)
    with pytest.raises(MigrationError) as caught:
        migration.handle(
            {"action": "downgrade", "steps": 1}, context_for("MigrationFunction"), root=previous_root
        )

    assert str(caught.value) == (
        f"the database is at {HEAD}, a revision these migrations do not know (a newer deploy's): "
        "downgrade with the code that has it; nothing was changed"
    )
    assert schema(world.engine) == before
    assert advisory_locks(world.engine) == 0


def test_a_failure_on_an_empty_database_rolls_every_revision_back(world, catcher, broken_root):
    event = cr_event(catcher, head="0099_broken")
    body = migration.handle(event, context_for("MigrationFunction"), root=broken_root)

    assert body["Status"] == "FAILED" and body["Reason"].endswith("the schema is unchanged at base")
    assert tables(world.engine) == set()


def test_a_failing_role_setup_rolls_the_migration_back_and_never_says_the_password(
    world, catcher, settings_env
):
    settings_env(DB_USER="pg_reserved_name")  # PostgreSQL refuses role names starting with pg_
    body = invoke(cr_event(catcher))

    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f'upgrade to {HEAD} failed (RoleSetupError: creating the role failed: role name "pg_reserved_name" '
        "is reserved); rolled back, the schema is unchanged at base"
    )
    assert tables(world.engine) == set()
    assert PASSWORD not in catcher.received[0]["body"]
    assert "SCRAM" not in catcher.received[0]["body"]


def _verifies(verifier: str, password: str) -> bool:
    """``verifier`` (pg_authid.rolpassword) is SCRAM-SHA-256 of ``password``."""
    method, _, rest = verifier.partition("$")
    iterations_salt, _, keys = rest.partition("$")
    iterations, _, salt = iterations_salt.partition(":")
    stored_key, _, _server_key = keys.partition(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    expected = base64.b64encode(hashlib.sha256(client_key).digest()).decode()
    return method == "SCRAM-SHA-256" and expected == stored_key


def _pairs(conn, sql: str, role: str) -> set[tuple[str, str]]:
    return {(str(a), str(b)) for a, b in conn.execute(text(sql), {"r": role})}


def role_facts(engine, role):
    """What the catalogs say of ``role``: attributes, memberships, grants, defaults, settings, password."""
    with engine.connect() as conn:
        attributes = conn.execute(
            text(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
                "rolinherit FROM pg_roles WHERE rolname = :r"
            ),
            {"r": role},
        ).one()
        member_of = set(
            conn.scalars(
                text(
                    "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                    "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r"
                ),
                {"r": role},
            )
        )
        table_grants = _pairs(
            conn,
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE grantee = :r",
            role,
        )
        sequence_grants = _pairs(
            conn,
            "SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
            "WHERE c.relkind = 'S' AND a.grantee = to_regrole(:r)",
            role,
        )
        defaults = _pairs(
            conn,
            "SELECT d.defaclobjtype, a.privilege_type FROM pg_default_acl d, aclexplode(d.defaclacl) a "
            "WHERE a.grantee = to_regrole(:r)",
            role,
        )
        settings = conn.scalar(
            text(
                "SELECT setconfig FROM pg_db_role_setting WHERE setrole = to_regrole(:r) AND setdatabase = 0"
            ),
            {"r": role},
        )
        schema = conn.execute(
            text(
                "SELECT has_schema_privilege(:r, 'public', 'USAGE'), "
                "has_schema_privilege(:r, 'public', 'CREATE')"
            ),
            {"r": role},
        ).one()
        database = conn.scalar(
            text("SELECT has_database_privilege(:r, current_database(), 'CONNECT')"), {"r": role}
        )
        database_create = conn.scalar(
            text("SELECT has_database_privilege(:r, current_database(), 'CREATE')"), {"r": role}
        )
        column_grants = _pairs(  # column-level ACLs (pg_attribute.attacl), apart from the tables'
            conn,
            "SELECT c.relname || '.' || a.attname, x.privilege_type FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid, aclexplode(a.attacl) x WHERE x.grantee = to_regrole(:r)",
            role,
        )
        verifier = conn.scalar(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role})
        sequences = set(conn.scalars(text("SELECT relname FROM pg_class WHERE relkind = 'S'")))
    return {
        "attributes": tuple(attributes),
        "member_of": member_of,
        "table_grants": table_grants,
        "sequence_grants": sequence_grants,
        "sequences": sequences,
        "defaults": defaults,
        "settings": sorted(settings or []),
        "schema": tuple(schema),
        "connect": database,
        "database_create": database_create,
        "column_grants": column_grants,
        "verifier": verifier,
    }


def assert_documented_grants(facts):
    """The role as docs/deployment.md ("The database role") has it, and nothing more."""
    assert facts["attributes"] == (True, False, False, False, False, False, True)  # LOGIN, nothing more
    assert facts["member_of"] == set()  # not rds_iam: the proxy signs in with the password
    assert facts["table_grants"] == {(t, p) for t in Base.metadata.tables for p in TABLE_PRIVILEGES}
    assert facts["sequences"]
    assert facts["sequence_grants"] == {(s, p) for s in facts["sequences"] for p in ("USAGE", "SELECT")}
    # pg_default_acl's object types: r = tables, S = sequences
    assert facts["defaults"] == {("r", p) for p in TABLE_PRIVILEGES} | {("S", "USAGE"), ("S", "SELECT")}
    assert facts["settings"] == ["idle_in_transaction_session_timeout=30000", "statement_timeout=15000"]
    assert facts["schema"] == (True, False)  # USAGE on public, no CREATE
    assert facts["column_grants"] == set()
    assert facts["connect"] is True
    assert facts["database_create"] is False  # no schemas of its own
    assert _verifies(facts["verifier"], PASSWORD)


def test_the_role_is_created_with_exactly_the_documented_grants(world, catcher):
    invoke(cr_event(catcher))

    assert_documented_grants(role_facts(world.engine, world.role))


def test_a_role_set_up_by_hand_with_more_is_brought_back_to_exactly_the_documented_grants(world, catcher):
    r = f'"{world.role}"'
    with world.engine.begin() as conn:  # an earlier manual setup, generous
        conn.execute(text(f"CREATE ROLE {r} LOGIN CREATEDB CREATEROLE REPLICATION BYPASSRLS"))
        conn.execute(text(f"GRANT CREATE ON SCHEMA public TO {r}"))
        conn.execute(text(f'GRANT CREATE ON DATABASE "{world.name}" TO {r}'))
        conn.execute(
            text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT TRUNCATE, REFERENCES ON TABLES TO {r}")
        )
        conn.execute(text(f"ALTER DEFAULT PRIVILEGES GRANT UPDATE ON SEQUENCES TO {r}"))
    assert invoke(cr_event(catcher))["Status"] == "SUCCESS"
    assert_documented_grants(role_facts(world.engine, world.role))

    with world.engine.begin() as conn:  # more by hand, on the tables the deploy created
        conn.execute(text(f"ALTER ROLE {r} CREATEDB BYPASSRLS"))
        conn.execute(text(f"GRANT TRUNCATE, TRIGGER ON users TO {r}"))
        conn.execute(text(f"GRANT SELECT, DELETE ON alembic_version TO {r}"))
        conn.execute(text(f"GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}"))
        conn.execute(text(f"GRANT REFERENCES (login) ON users TO {r}"))
        conn.execute(text(f"GRANT CREATE ON SCHEMA public TO {r}"))
    assert invoke(cr_event(catcher, "Update"))["Status"] == "SUCCESS"
    assert_documented_grants(role_facts(world.engine, world.role))


def test_the_role_can_use_the_tables_but_not_change_the_schema_or_its_revision(world, catcher):
    invoke(cr_event(catcher))
    from sqlalchemy import make_url

    app = create_engine(
        make_url(_psycopg(world.url)).set(username=world.role, password=PASSWORD),
        connect_args={"prepare_threshold": None},
    )
    try:
        with app.begin() as conn:
            assert conn.scalar(text("SELECT current_user")) == world.role
            assert conn.scalar(text("SHOW statement_timeout")) == "15s"
            assert conn.scalar(text("SHOW idle_in_transaction_session_timeout")) == "30s"
            conn.execute(text("INSERT INTO users (id, login) VALUES (1, 'octocat')"))
            assert conn.scalar(text("SELECT login FROM users")) == "octocat"
        for statement in ("CREATE TABLE sneaky (id int)", "UPDATE alembic_version SET version_num = 'x'"):
            with app.connect() as conn, pytest.raises(Exception, match="permission denied"):
                conn.execute(text(statement))
    finally:
        app.dispose()


@pytest.fixture
def rds_master(world, pg_admin_uri, settings_env):
    """The master as RDS/Aurora has it: ``LOGIN CREATEDB CREATEROLE``, not a superuser, no replication,
    owner of the database (so of its ``public`` schema), ``ADMIN`` on ``rds_iam``; the migration
    function's connection (``DATABASE_URL``)."""
    from sqlalchemy import make_url

    master = f"master_{world.name}"
    admin = create_engine(_psycopg(pg_admin_uri), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE \"{master}\" LOGIN CREATEDB CREATEROLE PASSWORD '{PASSWORD}'"))
        conn.execute(text(f'ALTER DATABASE "{world.name}" OWNER TO "{master}"'))
        conn.execute(text(f'GRANT rds_iam TO "{master}" WITH ADMIN OPTION'))
    url = make_url(_psycopg(world.url)).set(username=master, password=PASSWORD)
    settings_env(DATABASE_URL=url.render_as_string(hide_password=False))
    engine = create_engine(url, connect_args={"prepare_threshold": None})
    yield engine
    engine.dispose()
    with admin.connect() as conn:  # the database first: the master owns it and what is in it
        conn.execute(text(f'DROP DATABASE "{world.name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{world.role}"'))
        conn.execute(text(f'DROP ROLE "{master}"'))
    admin.dispose()


def test_a_master_that_is_not_a_superuser_clears_what_it_may_and_grants_exactly_the_documented_set(
    world, catcher, rds_master, powertools_output
):
    r = f'"{world.role}"'
    with rds_master.begin() as conn:  # the earlier manual setup, by the master
        conn.execute(text(f"CREATE ROLE {r} LOGIN CREATEDB CREATEROLE"))
        conn.execute(text(f"GRANT CREATE ON SCHEMA public TO {r}"))
        conn.execute(text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT TRUNCATE ON TABLES TO {r}"))
    assert invoke(cr_event(catcher))["Status"] == "SUCCESS"
    with rds_master.begin() as conn:
        conn.execute(text(f"GRANT TRUNCATE ON users TO {r}"))
        conn.execute(text(f"GRANT DELETE ON alembic_version TO {r}"))
    body = invoke(cr_event(catcher, "Update"))

    assert body["Status"] == "SUCCESS", body["Reason"]
    assert_documented_grants(role_facts(world.engine, world.role))
    assert "WARNING" not in {json.loads(line)["level"] for line in powertools_output.getvalue().splitlines()}


def test_an_attribute_the_master_may_not_clear_is_kept_and_the_log_says_so(
    world, catcher, rds_master, pg_admin_uri, powertools_output
):
    master = rds_master.url.username
    admin = create_engine(_psycopg(pg_admin_uri), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # given by a superuser (on Aurora: not the master, nor anyone of ours)
        conn.execute(text(f'CREATE ROLE "{world.role}" LOGIN BYPASSRLS CREATEDB'))
        conn.execute(text(f'GRANT "{world.role}" TO "{master}" WITH ADMIN OPTION'))
    admin.dispose()
    body = invoke(cr_event(catcher))

    assert body["Status"] == "SUCCESS", body["Reason"]
    attributes = role_facts(world.engine, world.role)["attributes"]
    assert attributes == (True, False, False, False, False, True, True)  # CREATEDB cleared, BYPASSRLS kept
    lines = [json.loads(line) for line in powertools_output.getvalue().splitlines()]
    (warning,) = [line for line in lines if line["level"] == "WARNING"]
    assert warning["message"] == "the application role keeps BYPASSRLS, which the master user may not clear"


def test_a_second_run_updates_the_role_settings_and_password_and_covers_new_tables(
    world, catcher, settings_env
):
    invoke(cr_event(catcher))
    with world.engine.begin() as conn:  # a later revision's table, created by the schema owner
        conn.execute(text("CREATE TABLE later_table (id bigserial PRIMARY KEY)"))
    rotated = "rotated-" + "y" * 24
    settings_env(
        DB_STATEMENT_TIMEOUT_MS="20000", DB_IDLE_IN_TRANSACTION_TIMEOUT_MS="45000", DB_APP_PASSWORD=rotated
    )
    assert invoke(cr_event(catcher, "Update"))["Status"] == "SUCCESS"
    facts = role_facts(world.engine, world.role)

    assert facts["settings"] == ["idle_in_transaction_session_timeout=45000", "statement_timeout=20000"]
    assert _verifies(facts["verifier"], rotated)
    assert not _verifies(facts["verifier"], PASSWORD)
    assert {p for t, p in facts["table_grants"] if t == "later_table"} == TABLE_PRIVILEGES
    assert {p for s, p in facts["sequence_grants"] if s == "later_table_id_seq"} == {"USAGE", "SELECT"}
    assert facts["member_of"] == set()


def test_db_app_rds_iam_makes_the_role_a_member_of_rds_iam_and_turning_it_off_revokes_it(
    world, catcher, settings_env
):
    settings_env(DB_APP_RDS_IAM="true")
    assert invoke(cr_event(catcher))["Status"] == "SUCCESS"
    assert role_facts(world.engine, world.role)["member_of"] == {"rds_iam"}

    settings_env(DB_APP_RDS_IAM=None)  # the template's setting: the proxy signs in with the password
    assert invoke(cr_event(catcher, "Update"))["Status"] == "SUCCESS"
    assert role_facts(world.engine, world.role)["member_of"] == set()


def test_delete_answers_success_without_touching_the_database(world, catcher, settings_env):
    settings_env(DATABASE_URL="postgresql://nobody@127.0.0.1:9/nothing")  # nothing listens there
    body = invoke(cr_event(catcher, "Delete", PhysicalResourceId="oss-tldr-database-schema"))

    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "oss-tldr-database-schema"
    assert json.loads(catcher.received[0]["body"]) == body
    assert tables(world.engine) == set()


def test_an_unreachable_database_answers_failed_without_the_connection_string(
    world, catcher, settings_env, powertools_output
):
    settings_env(DATABASE_URL="postgresql://master:s3cret-pw@127.0.0.1:9/nothing")
    body = invoke(cr_event(catcher))

    assert body["Status"] == "FAILED"
    assert body["Reason"] == "the migration failed (OperationalError); see the function's log"
    assert "s3cret-pw" not in catcher.received[0]["body"]
    logged = powertools_output.getvalue()
    assert "Connection refused" in logged  # the operator's detail is in the log ...
    assert "s3cret-pw" not in logged  # ... and the password is not


def test_downgrade_one_step_through_the_function_then_upgrade_again(world, catcher):
    invoke(cr_event(catcher))
    previous = ALL_REVISIONS[-2]

    reverted = invoke({"action": "downgrade", "steps": 1})
    assert reverted == {
        "Action": "downgrade",
        "Revision": previous,
        "PreviousRevision": HEAD,
        "Applied": HEAD,
    }
    assert revision(world.engine) == previous
    assert invoke({"action": "status"}) == {"Action": "status", "Revision": previous}

    again = invoke({"action": "upgrade"})
    assert again["Revision"] == HEAD and again["Applied"] == HEAD
    assert tables(world.engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert len(catcher.received) == 1  # the deploy's; a direct invocation answers its caller only


@pytest.mark.parametrize(
    "event",
    [
        {"action": "drop"},
        {"action": "downgrade", "steps": 0},
        {"action": "downgrade", "steps": "1"},
        {"action": "downgrade", "steps": 99},
    ],
)
def test_a_direct_invocation_outside_the_documented_actions_is_refused(world, event):
    with pytest.raises(MigrationError, match="expected"):
        invoke(event)
    assert tables(world.engine) == set()


def test_in_aws_the_master_connection_is_the_cluster_endpoint_with_the_master_secret():
    from moto import mock_aws

    from oss_tldr.settings import Settings

    with mock_aws():
        import boto3

        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=f"master-{uuid.uuid4().hex[:8]}",
            SecretString=json.dumps({"username": "oss_tldr_admin", "password": "master-pw-123"}),
        )["ARN"]
        settings = Settings.from_env(
            {
                "AWS_LAMBDA_FUNCTION_NAME": "oss-tldr-MigrationFunction",
                "DB_CLUSTER_ENDPOINT": "oss-tldr.cluster-abc.us-east-1.rds.amazonaws.com",
                "DB_MASTER_SECRET_ARN": arn,
                "DB_PROXY_ENDPOINT": "oss-tldr.proxy-abc.us-east-1.rds.amazonaws.com",
            }
        )
        url = migration.master_url(settings)

    assert (url.host, url.port, url.database) == (
        "oss-tldr.cluster-abc.us-east-1.rds.amazonaws.com",
        5432,
        "oss_tldr",
    )
    assert (url.username, url.password, dict(url.query)) == (
        "oss_tldr_admin",
        "master-pw-123",
        {"sslmode": "require"},
    )
    assert "master-pw-123" not in str(url)


def test_in_aws_without_the_cluster_endpoint_the_deploy_fails_saying_so(world, catcher, settings_env):
    settings_env(AWS_LAMBDA_FUNCTION_NAME="oss-tldr-MigrationFunction", DB_CLUSTER_ENDPOINT=None)
    body = invoke(cr_event(catcher))

    assert (body["Status"], body["Reason"]) == (
        "FAILED",
        "The migration function needs DB_CLUSTER_ENDPOINT in AWS",
    )
    assert tables(world.engine) == set()


def test_the_role_password_comes_from_the_app_user_secret(world, catcher, settings_env):
    from moto import mock_aws

    with mock_aws():
        import boto3

        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=f"app-{uuid.uuid4().hex[:8]}",
            SecretString=json.dumps({"username": "oss_tldr_app", "password": "from-the-secret-456"}),
        )["ARN"]
        settings_env(DB_APP_PASSWORD=None, DB_APP_SECRET_ARN=arn)
        assert invoke(cr_event(catcher))["Status"] == "SUCCESS"

    assert _verifies(role_facts(world.engine, world.role)["verifier"], "from-the-secret-456")
