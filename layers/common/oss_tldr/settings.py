"""Typed settings, read from the environment once per container.

Nothing else in the code base reads ``os.environ``: call :func:`get_settings` (cached) or build a
:class:`Settings` from an explicit mapping in tests with :meth:`Settings.from_env`.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oss_tldr.errors import ConfigurationError

DEFAULT_CORS_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")


def _csv(value: str | None, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    if value is None:
        return default
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value) or value < minimum:
        raise ConfigurationError(f"{name} must be a finite number >= {minimum}, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(f"{name} must be an http(s) URL, got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    # --- database -------------------------------------------------------------------------
    database_url: str | None = None
    db_proxy_endpoint: str | None = None
    db_name: str = "oss_tldr"
    db_user: str = "oss_tldr_app"
    db_port: int = 5432
    db_pool_size: int = 2
    db_max_overflow: int = 8
    db_statement_timeout_ms: int = 15000
    aws_region: str = "us-east-1"
    local_state_dir: Path = field(default_factory=lambda: Path(".oss-tldr"))
    # --- GitHub ---------------------------------------------------------------------------
    github_api_url: str = "https://api.github.com"
    github_web_url: str = "https://github.com"
    github_client_id: str | None = None
    github_client_secret: str | None = field(default=None, repr=False)
    github_client_secret_arn: str | None = None
    oauth_redirect_uri: str | None = None
    github_token: str | None = field(default=None, repr=False)
    github_webhook_secret: str | None = field(default=None, repr=False)
    github_timeout_seconds: float = 10.0
    github_max_retries: int = 3
    # --- OpenAI ---------------------------------------------------------------------------
    openai_api_key: str | None = field(default=None, repr=False)
    openai_api_key_arn: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = 30.0
    # --- identity -------------------------------------------------------------------------
    jwt_secret_arn: str | None = None
    token_kms_key_id: str | None = None
    session_ttl_seconds: int = 24 * 3600
    # --- product --------------------------------------------------------------------------
    admin_logins: frozenset[str] = frozenset()
    cors_allow_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    force_daily_quota: int = 10
    # --- report cache ---------------------------------------------------------------------
    report_wait_seconds: int = 25  # how long a request waits for a shared generation (API GW caps at 30)
    report_lease_seconds: int = 90  # a generation lease; renewed with progress, taken over once expired
    private_access_ttl_seconds: int = 300  # how long a positive private-repository check is remembered
    # --- runtime --------------------------------------------------------------------------
    in_aws: bool = False
    tracing_enabled: bool = False
    environment: str = "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        in_aws = bool(env.get("AWS_LAMBDA_FUNCTION_NAME")) and not _bool(env, "OSS_TLDR_LOCAL", False)
        settings = cls(
            database_url=env.get("DATABASE_URL") or None,
            db_proxy_endpoint=env.get("DB_PROXY_ENDPOINT") or None,
            db_name=env.get("DB_NAME") or cls.db_name,
            db_user=env.get("DB_USER") or cls.db_user,
            db_port=_int(env, "DB_PORT", cls.db_port, minimum=1),
            db_pool_size=_int(env, "DB_POOL_SIZE", cls.db_pool_size, minimum=1),
            db_max_overflow=_int(env, "DB_MAX_OVERFLOW", cls.db_max_overflow),
            db_statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", cls.db_statement_timeout_ms),
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or cls.aws_region,
            local_state_dir=Path(env.get("OSS_TLDR_STATE_DIR") or ".oss-tldr"),
            github_api_url=_url(env, "GITHUB_API_URL", cls.github_api_url),
            github_web_url=_url(env, "GITHUB_WEB_URL", cls.github_web_url),
            github_client_id=env.get("GITHUB_CLIENT_ID") or None,
            github_client_secret=env.get("GITHUB_CLIENT_SECRET") or None,
            github_client_secret_arn=env.get("GITHUB_CLIENT_SECRET_ARN") or None,
            oauth_redirect_uri=env.get("OAUTH_REDIRECT_URI") or None,
            github_token=env.get("GITHUB_TOKEN") or None,
            github_webhook_secret=env.get("GITHUB_WEBHOOK_SECRET") or None,
            github_timeout_seconds=_float(
                env, "GITHUB_TIMEOUT_SECONDS", cls.github_timeout_seconds, minimum=0.5
            ),
            github_max_retries=_int(env, "GITHUB_MAX_RETRIES", cls.github_max_retries),
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_api_key_arn=env.get("OPENAI_API_KEY_ARN") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_model=env.get("OPENAI_MODEL") or cls.openai_model,
            openai_timeout_seconds=_float(
                env, "OPENAI_TIMEOUT_SECONDS", cls.openai_timeout_seconds, minimum=0.5
            ),
            jwt_secret_arn=env.get("JWT_SECRET_ARN") or None,
            token_kms_key_id=env.get("TOKEN_KMS_KEY_ID") or None,
            session_ttl_seconds=_int(env, "SESSION_TTL_SECONDS", cls.session_ttl_seconds, minimum=60),
            admin_logins=frozenset(login.lower() for login in _csv(env.get("ADMIN_LOGINS"))),
            cors_allow_origins=_csv(env.get("CORS_ALLOW_ORIGINS"), DEFAULT_CORS_ORIGINS),
            force_daily_quota=_int(env, "FORCE_DAILY_QUOTA", cls.force_daily_quota),
            report_wait_seconds=_int(env, "REPORT_WAIT_SECONDS", cls.report_wait_seconds, minimum=1),
            report_lease_seconds=_int(env, "REPORT_LEASE_SECONDS", cls.report_lease_seconds, minimum=1),
            private_access_ttl_seconds=_int(
                env, "PRIVATE_ACCESS_TTL_SECONDS", cls.private_access_ttl_seconds
            ),
            in_aws=in_aws,
            tracing_enabled=in_aws and not _bool(env, "POWERTOOLS_TRACE_DISABLED", False),
            environment=env.get("ENVIRONMENT") or ("aws" if in_aws else "local"),
        )
        return settings

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def is_admin(self, login: str) -> bool:
        return login.lower() in self.admin_logins


@functools.cache
def get_settings() -> Settings:
    """The container's settings, validated once at cold start."""
    return Settings.from_env()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
