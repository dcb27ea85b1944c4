"""Typed settings, read from the environment once per container.

Nothing else in the code base reads ``os.environ``: call :func:`get_settings` (cached) or build a
:class:`Settings` from an explicit mapping in tests with :meth:`Settings.from_env`.

Each variable is declared once, on its field: :func:`setting` records the variable's name (or names, the
first non-empty one wins), its default and its parser (which carries the minimum) in the field's
metadata, and :meth:`Settings.from_env` is one loop over the fields. The two fields computed from
several variables (``in_aws``, ``tracing_enabled``) declare their rule with :func:`derived`.
``tests/layer/test_settings.py`` checks that the variables read are the ones ``docs/configuration.md``
lists.

Why field metadata and not pydantic-settings (measured: median of 7 fresh processes each, the three
variants interleaved, two runs on the shared 2-core dev machine): ``python -c "import oss_tldr.settings;
oss_tldr.settings.get_settings()"`` takes 70-71 ms with the old hand parser, 69-72 ms with this module
(``python -c pass``: 34-42 ms), and 385-484 ms with a ``BaseSettings`` of the same fields; even in a
process that has already imported pydantic (the API's does), pydantic-settings adds 180-210 ms
(pydantic-settings, python-dotenv, the schema build) against 6-9 ms here, on every cold start. It would
also be a new layer dependency, ``Settings(field=...)`` (which tests use) would read the process
environment as well, and its errors are pydantic's rather than the ``ConfigurationError`` texts below.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oss_tldr.errors import ConfigurationError

DEFAULT_CORS_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")

Parser = Callable[[str, str], Any]
"""``parse(variable_name, raw_value)``: the typed value, or :class:`ConfigurationError`."""


# --- parsers -------------------------------------------------------------------------------------------


def _text(name: str, raw: str) -> str:
    return raw


def _path(name: str, raw: str) -> Path:
    return Path(raw)


def _flag(raw: str | None) -> bool:
    return raw is not None and raw.strip().lower() in {"1", "true", "yes", "on"}


def _boolean(name: str, raw: str) -> bool:
    return _flag(raw)


def _integer(minimum: int = 0) -> Parser:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
        if value < minimum:
            raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
        return value

    return parse


def _number(minimum: float = 0.0) -> Parser:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
        if not math.isfinite(value) or value < minimum:
            raise ConfigurationError(f"{name} must be a finite number >= {minimum}, got {raw!r}")
        return value

    return parse


def _url(name: str, raw: str) -> str:
    value = raw.rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def _csv(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _logins(name: str, raw: str) -> frozenset[str]:
    return frozenset(login.lower() for login in _csv(name, raw))


# --- declarations --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variable:
    names: tuple[str, ...]
    parse: Parser
    keep_empty: bool  # an empty value is a value (an empty list), not "unset"


@dataclass(frozen=True)
class _Derived:
    rule: Callable[[Mapping[str, str], Mapping[str, Any]], Any]  # (environment, fields read so far)


_META = "oss_tldr.setting"


def setting(
    names: str | tuple[str, ...],
    default: Any = None,
    parse: Parser = _text,
    *,
    secret: bool = False,
    keep_empty: bool = False,
) -> Any:
    """A field read from ``names`` (the first one set and non-empty wins), else ``default``."""
    names = (names,) if isinstance(names, str) else names
    variable = _Variable(names, parse, keep_empty)
    return dataclasses.field(default=default, repr=not secret, metadata={_META: variable})


def derived(rule: Callable[[Mapping[str, str], Mapping[str, Any]], Any], default: Any) -> Any:
    """A field computed from the environment and the fields declared above it."""
    return dataclasses.field(default=default, metadata={_META: _Derived(rule)})


def _in_aws(env: Mapping[str, str], _: Mapping[str, Any]) -> bool:
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and not _flag(env.get("OSS_TLDR_LOCAL"))


def _tracing(env: Mapping[str, str], values: Mapping[str, Any]) -> bool:
    return bool(values["in_aws"]) and not _flag(env.get("POWERTOOLS_TRACE_DISABLED"))


LOCAL_ENVIRONMENTS = frozenset({"local", "dev", "test", "demo"})


def _environment(env: Mapping[str, str], values: Mapping[str, Any]) -> str:
    """``OSS_TLDR_ENV`` (lower-cased) when set, else ``aws`` in a Lambda and ``local`` elsewhere."""
    named = (env.get("OSS_TLDR_ENV") or "").strip().lower()
    return named or ("aws" if values["in_aws"] else "local")


@dataclass(frozen=True)
class Settings:
    # --- database -------------------------------------------------------------------------
    database_url: str | None = setting("DATABASE_URL")
    db_proxy_endpoint: str | None = setting("DB_PROXY_ENDPOINT")
    db_name: str = setting("DB_NAME", "oss_tldr")
    db_user: str = setting("DB_USER", "oss_tldr_app")
    db_port: int = setting("DB_PORT", 5432, _integer(minimum=1))
    db_pool_size: int = setting("DB_POOL_SIZE", 2, _integer(minimum=1))
    db_max_overflow: int = setting("DB_MAX_OVERFLOW", 8, _integer())
    db_statement_timeout_ms: int = setting("DB_STATEMENT_TIMEOUT_MS", 15000, _integer())
    aws_region: str = setting(("AWS_REGION", "AWS_DEFAULT_REGION"), "us-east-1")
    # setting() returns a dataclasses.field, and Path is immutable: RUF009 does not know either
    local_state_dir: Path = setting("OSS_TLDR_STATE_DIR", Path(".oss-tldr"), _path)  # noqa: RUF009
    # --- GitHub ---------------------------------------------------------------------------
    github_api_url: str = setting("GITHUB_API_URL", "https://api.github.com", _url)
    github_web_url: str = setting("GITHUB_WEB_URL", "https://github.com", _url)
    github_client_id: str | None = setting("GITHUB_CLIENT_ID")
    github_client_secret: str | None = setting("GITHUB_CLIENT_SECRET", secret=True)
    github_client_secret_arn: str | None = setting("GITHUB_CLIENT_SECRET_ARN")
    oauth_redirect_uri: str | None = setting("OAUTH_REDIRECT_URI")
    github_token: str | None = setting("GITHUB_TOKEN", secret=True)
    # POST /webhooks/github checks X-Hub-Signature-256 against it; unset (and no ARN): webhooks refused.
    github_webhook_secret: str | None = setting("GITHUB_WEBHOOK_SECRET", secret=True)
    github_webhook_secret_arn: str | None = setting("GITHUB_WEBHOOK_SECRET_ARN")
    github_timeout_seconds: float = setting("GITHUB_TIMEOUT_SECONDS", 10.0, _number(minimum=0.5))
    github_max_retries: int = setting("GITHUB_MAX_RETRIES", 3, _integer())
    # --- OpenAI ---------------------------------------------------------------------------
    openai_api_key: str | None = setting("OPENAI_API_KEY", secret=True)
    openai_api_key_arn: str | None = setting("OPENAI_API_KEY_ARN")
    openai_base_url: str | None = setting("OPENAI_BASE_URL")
    openai_model: str = setting("OPENAI_MODEL", "gpt-4o-mini")
    openai_timeout_seconds: float = setting("OPENAI_TIMEOUT_SECONDS", 30.0, _number(minimum=0.5))
    # --- identity -------------------------------------------------------------------------
    jwt_secret_arn: str | None = setting("JWT_SECRET_ARN")
    token_kms_key_id: str | None = setting("TOKEN_KMS_KEY_ID")
    session_ttl_seconds: int = setting("SESSION_TTL_SECONDS", 24 * 3600, _integer(minimum=60))
    # --- product --------------------------------------------------------------------------
    admin_logins: frozenset[str] = setting("ADMIN_LOGINS", frozenset(), _logins)
    # an empty CORS_ALLOW_ORIGINS allows no origin (it is not the local default)
    cors_allow_origins: tuple[str, ...] = setting(
        "CORS_ALLOW_ORIGINS", DEFAULT_CORS_ORIGINS, _csv, keep_empty=True
    )
    force_daily_quota: int = setting("FORCE_DAILY_QUOTA", 10, _integer())
    # --- report cache ---------------------------------------------------------------------
    # how long a request waits for a shared generation (API GW caps at 30)
    report_wait_seconds: int = setting("REPORT_WAIT_SECONDS", 25, _integer(minimum=1))
    # a generation lease; renewed with progress, taken over once expired
    report_lease_seconds: int = setting("REPORT_LEASE_SECONDS", 90, _integer(minimum=1))
    # the SQS queue of generations the worker function runs (POST /reports/generate hands a miss to it, and a
    # stale report's refresh goes there); unset: generations run in the request, stale reports are not served
    report_queue_url: str | None = setting("REPORT_QUEUE_URL")
    # receives of one message before SQS moves it to the dead-letter queue (the redrive policy's
    # maxReceiveCount): the worker marks the job failed on the last one
    report_queue_max_receives: int = setting("REPORT_QUEUE_MAX_RECEIVES", 3, _integer(minimum=1))
    # seconds before a transiently failed generation's message comes back (doubled on each receive)
    report_queue_retry_seconds: int = setting("REPORT_QUEUE_RETRY_SECONDS", 10, _integer())
    # how long a positive private-repository check is remembered
    private_access_ttl_seconds: int = setting("PRIVATE_ACCESS_TTL_SECONDS", 300, _integer())
    # --- deep dive (oss_tldr.deepdive) ------------------------------------------------------
    # deep dives / patch explanations a user may have written by the model per UTC day (shared ones are free)
    deepdive_daily_quota: int = setting("DEEPDIVE_DAILY_QUOTA", 30, _integer())
    diff_daily_quota: int = setting("DIFF_DAILY_QUOTA", 600, _integer())
    # how long stored patches and deep dives are served without asking GitHub whether the item changed
    deepdive_fresh_seconds: int = setting("DEEPDIVE_FRESH_SECONDS", 300, _integer())
    # --- scheduled cleanup ----------------------------------------------------------------
    # days access records (user_report_access) and audit rows are kept (oss_tldr.maintenance.cleanup)
    retention_days: int = setting("RETENTION_DAYS", 90, _integer(minimum=1))
    # --- scheduled warming (oss_tldr.maintenance.warming) -----------------------------------
    # in AWS: the Secrets Manager ARN of the service token (used when GITHUB_TOKEN is unset)
    github_token_arn: str | None = setting("GITHUB_TOKEN_ARN")
    # per run: the repositories warmed at most, the GitHub points and LLM requests it may spend
    warming_max_repositories: int = setting("WARMING_MAX_REPOSITORIES", 50, _integer())
    warming_max_github_points: int = setting("WARMING_MAX_GITHUB_POINTS", 1000, _integer())
    warming_max_llm_requests: int = setting("WARMING_MAX_LLM_REQUESTS", 200, _integer())
    # how far back report openings (user_report_access) count towards popularity
    warming_lookback_days: int = setting("WARMING_LOOKBACK_DAYS", 7, _integer(minimum=1))
    # --- migrations on deploy (oss_tldr.maintenance.migration, MigrationFunction) -------------
    # the cluster's writer endpoint: the migration function connects there as the master user (DDL and a
    # session-level lock do not go through RDS Proxy); unset: DATABASE_URL or the embedded server
    db_cluster_endpoint: str | None = setting("DB_CLUSTER_ENDPOINT")
    # the master secret ({"username", "password"}: DatabaseSecret) the migration function connects with
    db_master_secret_arn: str | None = setting("DB_MASTER_SECRET_ARN")
    # the application role's password (AppUserSecret's "password" in AWS; unset: the role keeps its own)
    db_app_password: str | None = setting("DB_APP_PASSWORD", secret=True)
    db_app_secret_arn: str | None = setting("DB_APP_SECRET_ARN")
    # the application role's idle_in_transaction_session_timeout (statement_timeout: DB_STATEMENT_TIMEOUT_MS)
    db_idle_in_transaction_timeout_ms: int = setting("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 30000, _integer())
    # make the application role a member of rds_iam (sign-in by IAM token only, never by password): for a
    # proxy with end-to-end IAM auth; with the template's proxy (password from AppUserSecret) it must be off
    db_app_rds_iam: bool = setting("DB_APP_RDS_IAM", False, _boolean)
    # --- runtime --------------------------------------------------------------------------
    # in a Lambda (AWS_LAMBDA_FUNCTION_NAME set) unless OSS_TLDR_LOCAL says to behave as local
    in_aws: bool = derived(_in_aws, False)
    # X-Ray in AWS unless POWERTOOLS_TRACE_DISABLED
    tracing_enabled: bool = derived(_tracing, False)
    # which environment this is: local/dev/test/demo allow local sign-in (``make token``), nothing else does
    environment: str = derived(_environment, "local")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            declared = spec.metadata[_META]
            if isinstance(declared, _Derived):
                values[spec.name] = declared.rule(env, values)
                continue
            for name in declared.names:
                raw = env.get(name)
                if raw or (raw is not None and declared.keep_empty):
                    values[spec.name] = declared.parse(name, raw)
                    break
        return cls(**values)

    def is_admin(self, login: str) -> bool:
        return login.lower() in self.admin_logins

    @property
    def local_sign_in_allowed(self) -> bool:
        """``make token`` and ``make demo`` may issue sessions without GitHub: never in AWS, and only in an
        environment named local, dev, test or demo (``OSS_TLDR_ENV``; unset locally means local)."""
        return not self.in_aws and self.environment in LOCAL_ENVIRONMENTS


@functools.cache
def get_settings() -> Settings:
    """The container's settings, validated once at cold start."""
    return Settings.from_env()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
