"""Connection settings: DATABASE_URL, RDS Proxy with IAM auth (through moto), and no session pinning."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import event, text

from oss_tldr.db.engine import build_engine, database_url
from oss_tldr.db.iam import TOKEN_REUSE_SECONDS, RdsIamTokenProvider
from oss_tldr.errors import ConfigurationError
from oss_tldr.secrets import resolve_secret
from oss_tldr.settings import Settings

PROXY = Settings(
    db_proxy_endpoint="oss-tldr.proxy-abc123.us-east-1.rds.amazonaws.com",
    db_user="oss_tldr_app",
    db_name="oss_tldr",
    db_port=5432,
    aws_region="us-east-1",
    in_aws=True,
)


class _Captured(Exception):
    pass


def _connect_params(engine) -> dict:
    """The keyword arguments psycopg.connect would receive for a new connection (none is opened)."""
    seen: dict = {}

    @event.listens_for(engine, "do_connect")
    def _capture(dialect, conn_rec, cargs, cparams):
        seen.update(cparams)
        raise _Captured

    with pytest.raises(_Captured):
        engine.connect()
    return seen


def test_proxy_url_requires_tls_and_has_no_password():
    url = database_url(PROXY)
    assert url.drivername == "postgresql+psycopg"
    assert url.host == PROXY.db_proxy_endpoint and url.port == 5432 and url.database == "oss_tldr"
    assert url.query["sslmode"] == "require"
    assert url.password is None


@mock_aws
def test_proxy_connections_use_a_fresh_iam_token_as_password():
    engine = build_engine(PROXY)
    cparams = _connect_params(engine)
    token = cparams["password"]
    assert token.startswith(f"{PROXY.db_proxy_endpoint}:5432/?")
    assert "Action=connect" in token and "DBUser=oss_tldr_app" in token and "X-Amz-Signature=" in token
    assert cparams["sslmode"] == "require"
    assert cparams["host"] == PROXY.db_proxy_endpoint and cparams["user"] == "oss_tldr_app"


@mock_aws
def test_no_server_side_prepared_statements_and_no_session_set():
    cparams = _connect_params(build_engine(PROXY))
    # prepare_threshold=None disables psycopg's automatic server-side prepared statements.
    assert "prepare_threshold" in cparams and cparams["prepare_threshold"] is None
    # Statement timeouts come from the role behind the proxy: no startup options, no SET.
    assert "options" not in cparams


def test_engine_connects_without_prepared_statements(engine):
    with engine.connect() as conn:
        for _ in range(8):  # psycopg would prepare from the 5th execution with the default threshold
            conn.execute(text("SELECT 1 WHERE 1 = :x"), {"x": 1})
        prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
        assert conn.connection.dbapi_connection.prepare_threshold is None
    assert prepared == 0


@mock_aws
def test_iam_token_is_reused_for_ten_minutes_then_renewed():
    now = [1000.0]
    provider = RdsIamTokenProvider(
        PROXY, client=boto3.client("rds", region_name="us-east-1"), clock=lambda: now[0]
    )
    first = provider.token()
    now[0] += TOKEN_REUSE_SECONDS - 1
    assert provider.token() is first
    now[0] += 2
    assert provider.token() is not first


def test_in_aws_without_database_configuration_fails_clearly():
    with pytest.raises(ConfigurationError, match="DB_PROXY_ENDPOINT"):
        database_url(Settings(in_aws=True))


def test_database_url_forces_psycopg3_driver():
    url = database_url(Settings(database_url="postgresql://u:p@db.example:5432/x"))
    assert url.drivername == "postgresql+psycopg"


def test_non_postgres_database_url_is_refused():
    with pytest.raises(ConfigurationError):
        database_url(Settings(database_url="mysql://u:p@db/x"))


@mock_aws
def test_secret_comes_from_secrets_manager_when_only_an_arn_is_set():
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = sm.create_secret(Name="oss-tldr/github", SecretString='{"client_secret": "fake-secret-value"}')[
        "ARN"
    ]
    assert resolve_secret(None, arn, field="client_secret") == "fake-secret-value"
    assert resolve_secret("local-fake", arn) == "local-fake"
    assert resolve_secret(None, None) is None
