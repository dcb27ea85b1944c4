"""Core descriptions of the tables the hit paths touch, so that a cold start serving a hit never imports
SQLAlchemy's ORM or builds the declarative models (about a fifth of a function's import time; measured in
docs/performance.md, cold start).

Each is a lightweight ``sqlalchemy.table`` clause naming only the columns its statements read or write,
with the column's type where it binds or loads a value (JSONB, timestamps). The schema itself stays in
:mod:`oss_tldr.db.models` and the migrations: ``tests/layer/test_tables.py`` checks every clause here
against the model of the same table (each column exists there, with the same type), so this module cannot
drift from it. Statements that need the ORM's unit of work keep using the models, on the miss paths.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    String,
    TableClause,
    Text,
    column,
    table,
)
from sqlalchemy.dialects.postgresql import JSONB

_TIMESTAMP = DateTime(timezone=True)

users = table(
    "users",
    column("id", BigInteger),
    column("login", String),
    column("name", String),
    column("email", String),
    column("avatar_url", String),
)

sessions = table(
    "sessions",
    column("id", String),
    column("user_id", BigInteger),
    column("expires_at", _TIMESTAMP),
    column("revoked_at", _TIMESTAMP),
)

oauth_states = table(
    "oauth_states",
    column("state_hash", String),
    column("code_verifier", String),
    column("redirect_uri", String),
    column("client_key", String),
    column("created_at", _TIMESTAMP),
    column("expires_at", _TIMESTAMP),
)

github_tokens = table(
    "github_tokens",
    column("user_id", BigInteger),
    column("ciphertext", LargeBinary),
    column("nonce", LargeBinary),
    column("encrypted_data_key", LargeBinary),
    column("key_provider", String),
    column("scopes", String),
)

audit_log = table(
    "audit_log",
    column("actor_user_id", BigInteger),
    column("action", String),
    column("target_type", String),
    column("target_id", String),
    column("details", JSONB),
)


# Repositories (oss_tldr.repos.store: the tracked list, the untracking, the row upsert;
# oss_tldr.repos.names: a repository found by name; reports.access: its visibility).
repositories = table(
    "repositories",
    column("id", Integer),
    column("full_name", String),
    column("owner", String),
    column("name", String),
    column("github_id", BigInteger),
    column("description", Text),
    column("html_url", String),
    column("is_private", Boolean),
    column("is_fork", Boolean),
    column("is_archived", Boolean),
    column("language", String),
    column("stargazers_count", Integer),
    column("github_updated_at", _TIMESTAMP),
)

repository_aliases = table(
    "repository_aliases",
    column("full_name", String),
    column("repository_id", Integer),
)

user_repositories = table(
    "user_repositories",
    column("id", Integer),
    column("user_id", BigInteger),
    column("repository_id", Integer),
    column("added_at", _TIMESTAMP),
)

# Webhook deliveries (oss_tldr.webhooks.deliveries): the delivery's row, and what an activity event marks
# stale: the repository's live shared reports and its deep-dive rows (pr_patch_sets, deep_dives below).
webhook_deliveries = table(
    "webhook_deliveries",
    column("delivery_id", String),
    column("event", String),
    column("action", String),
    column("repository_github_id", BigInteger),
    column("repository_full_name", String),
    column("processed_at", _TIMESTAMP),
)

reports = table(
    "reports",
    column("id", Integer),
    column("repository_id", Integer),
    column("owner_user_id", BigInteger),
    column("expires_at", _TIMESTAMP),
)


# The remembered private-access checks (reports.access).
repository_access_checks = table(
    "repository_access_checks",
    column("user_id", BigInteger),
    column("repository_id", Integer),
    column("verified_at", _TIMESTAMP),
    column("expires_at", _TIMESTAMP),
)

# The daily quotas' counters (reports.quota's counting rule, deepdive.quota).
report_force_usage = table(
    "report_force_usage",
    column("user_id", BigInteger),
    column("day", Date),
    column("count", Integer),
)

deep_dive_usage = table(
    "deep_dive_usage",
    column("user_id", BigInteger),
    column("day", Date),
    column("kind", String),
    column("count", Integer),
)

# The deep dive (deepdive.store, deepdive.flight): patch sets and their patches, explanations, digests and
# the single flight's claims.
pr_patch_sets = table(
    "pr_patch_sets",
    column("id", BigInteger),
    column("repository_id", Integer),
    column("number", Integer),
    column("head_sha", String),
    column("files_total", Integer),
    column("checked_at", _TIMESTAMP),
)

pr_patches = table(
    "pr_patches",
    column("patch_set_id", BigInteger),
    column("position", Integer),
    column("file", Text),
    column("status", String),
    column("additions", Integer),
    column("deletions", Integer),
    column("patch", Text),
    column("patch_hash", String),
)

patch_explanations = table(
    "patch_explanations",
    column("patch_hash", String),
    column("summariser", String),
    column("prompt_version", String),
    column("explanation", Text),
)

deep_dives = table(
    "deep_dives",
    column("repository_id", Integer),
    column("number", Integer),
    column("item_updated_at", _TIMESTAMP),
    column("summariser", String),
    column("prompt_version", String),
    column("body", Text),
    column("checked_at", _TIMESTAMP),
)

deep_dive_claims = table(
    "deep_dive_claims",
    column("key", String),
    column("lease_expires_at", _TIMESTAMP),
    column("claimed_at", _TIMESTAMP),
)


def all_tables() -> dict[str, TableClause]:
    """Every clause of this module by table name (what the agreement test walks)."""
    return {value.name: value for value in globals().values() if isinstance(value, TableClause)}
