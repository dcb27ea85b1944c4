"""SnapStart's runtime hooks (oss_tldr.api.snapstart): a simulated snapshot and restore. The hooks are
registered with the runtime's ``snapshot_restore_py`` (a stand-in here: the real one ships with the Lambda
runtime only), then called as Lambda calls them; after a restore the pooled connections are gone and the
next connection gets a new IAM token, and the cached KMS client and secrets are forgotten."""

from __future__ import annotations

import sys
import types

import psycopg
import pytest
from sqlalchemy import event, make_url, text

from oss_tldr.api import snapstart
from oss_tldr.db import iam
from oss_tldr.db.engine import build_engine
from oss_tldr.identity import crypto
from oss_tldr.settings import Settings


class FakeRds:
    def __init__(self) -> None:
        self.issued = 0

    def generate_db_auth_token(self, **kwargs: object) -> str:
        self.issued += 1
        return f"iam-token-{self.issued}"


@pytest.fixture
def runtime_hooks(monkeypatch):
    """``snapshot_restore_py`` as the Lambda runtime provides it: it records what is registered."""
    registered: dict[str, list] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = registered["before"].append  # type: ignore[attr-defined]
    module.register_after_restore = registered["after"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    monkeypatch.setattr(snapstart, "_registered", False)
    return registered


@pytest.fixture
def proxy_engine(database_url, monkeypatch):
    """An engine configured for RDS Proxy (IAM token as the password of every new connection), whose
    connections actually go to the test database: the password each connection was given is recorded."""
    rds = FakeRds()
    monkeypatch.setattr(iam.RdsIamTokenProvider, "_rds", lambda self: rds)
    settings = Settings(db_proxy_endpoint="proxy.example.internal", db_user="oss_tldr_app")
    engine = build_engine(settings, pool_size=1, max_overflow=0)
    passwords: list[str] = []
    libpq_url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    @event.listens_for(engine, "do_connect")
    def _connect_to_the_test_database(dialect, conn_rec, cargs, cparams):
        passwords.append(cparams["password"])
        return psycopg.connect(libpq_url, prepare_threshold=None)

    yield engine, passwords, rds
    engine.dispose()


def _query(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar_one()


def test_outside_the_lambda_runtime_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as it does locally
    monkeypatch.setattr(snapstart, "_registered", False)
    assert snapstart.register() is False


def test_the_entry_point_registers_the_hooks_once(runtime_hooks):
    from oss_tldr.api import create_app, lambda_entrypoint

    lambda_entrypoint(create_app(), {})
    lambda_entrypoint(create_app(), {})
    assert runtime_hooks == {"before": [snapstart.before_snapshot], "after": [snapstart.after_restore]}


def test_the_snapshot_holds_the_modules_a_miss_would_import(runtime_hooks, monkeypatch):
    """What an entry point primes is imported before the snapshot, not at import (the cold start without
    SnapStart) and not by the first miss after a restore."""
    from oss_tldr.api import create_app, lambda_entrypoint

    imported: list[str] = []
    monkeypatch.setattr(snapstart, "_primed", [])
    monkeypatch.setattr(snapstart.importlib, "import_module", imported.append)
    lambda_entrypoint(create_app(), {}, prime=("oss_tldr.reports.service", "oss_tldr.db.models"))
    lambda_entrypoint(create_app(), {}, prime=("oss_tldr.db.models",))  # once each
    assert imported == []
    [before] = runtime_hooks["before"]
    before()
    assert imported == ["oss_tldr.reports.service", "oss_tldr.db.models"]


def test_a_restore_disposes_the_pooled_connections_and_the_next_one_gets_a_new_token(
    runtime_hooks, proxy_engine
):
    engine, passwords, rds = proxy_engine
    assert snapstart.register() is True
    [before], [after] = runtime_hooks["before"], runtime_hooks["after"]

    assert _query(engine) == 1 and _query(engine) == 1  # initialisation: one pooled connection
    assert passwords == ["iam-token-1"]
    before()  # Lambda takes the snapshot: neither a connection nor a token in it
    assert engine.pool.checkedin() == 0

    assert _query(engine) == 1  # a connection opened since (a warm-up, the snapshot's own invocation)
    assert passwords == ["iam-token-1", "iam-token-2"] and engine.pool.checkedin() == 1
    after()  # a new execution environment resumes from the snapshot, maybe hours later
    assert engine.pool.checkedin() == 0
    assert _query(engine) == 1
    assert passwords == ["iam-token-1", "iam-token-2", "iam-token-3"] and rds.issued == 3


def test_without_the_restore_hook_the_token_would_be_reused(proxy_engine):
    """What the test above relies on: within ten minutes a provider reuses its token."""
    engine, passwords, _ = proxy_engine
    _query(engine)
    engine.dispose()
    _query(engine)
    assert passwords == ["iam-token-1", "iam-token-1"]


def test_a_restore_forgets_the_kms_client_and_the_cached_secrets(monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    cleared = []
    monkeypatch.setattr(parameters, "clear_caches", lambda: cleared.append("secrets"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    first = crypto._kms_client("us-east-1")
    assert crypto._kms_client("us-east-1") is first
    snapstart.after_restore()
    assert crypto._kms_client("us-east-1") is not first
    assert cleared == ["secrets"]
