"""Tracking, listing and finding repositories for the signed-in user.

GitHub is always asked with the caller's own token (so a private repository is found only by someone who
can see it); no database transaction is open during a GitHub call.
"""

from __future__ import annotations

from typing import Any

from oss_tldr.db.engine import connection_scope
from oss_tldr.errors import BadRequest, NotFound
from oss_tldr.github.errors import GitHubForbidden, GitHubUnauthorized
from oss_tldr.github.payloads import RepositoryPayload
from oss_tldr.identity.tokens import github_token_for
from oss_tldr.repo_refs import full_name_key, parse_repo_ref
from oss_tldr.repos import store
from oss_tldr.repos.schemas import RepositoryOut, from_github, from_row

MAX_QUERY_CHARS = 256


def user_github_token(user_id: int) -> str:
    """The caller's GitHub token; 401 (sign in again) when none is usable."""
    token = github_token_for(user_id)
    if token is None:
        raise GitHubUnauthorized()
    return token


def _visible(token: str, owner: str, repo: str) -> RepositoryPayload | None:
    """The repository as the token sees it, or None when it does not exist or is not visible."""
    try:
        from oss_tldr.github import users  # httpx and the GitHub client: these routes only (cold start)

        return users.get_repository(token, owner, repo)
    except (NotFound, GitHubForbidden):
        return None


def lookup(token: str, owner: str, repo: str) -> dict[str, Any] | None:
    """:func:`_visible` as the validated payload's dict (what import hands to the row upsert)."""
    found = _visible(token, owner, repo)
    return None if found is None else found.model_dump()


def track_repository(user_id: int, repo_url: str) -> RepositoryOut:
    owner, repo = parse_repo_ref(repo_url)
    payload = _visible(user_github_token(user_id), owner, repo)
    if payload is None:
        raise NotFound("No such repository, or you cannot see it.", code="repository_not_found")
    with connection_scope() as conn:
        store.track(conn, user_id, store.upsert_repository(conn, payload))
    return from_github(payload)


def tracked_repositories(user_id: int) -> list[RepositoryOut]:
    with connection_scope() as conn:
        return [from_row(row) for row in store.tracked(conn, user_id)]


def untrack_repository(user_id: int, repo_url: str) -> bool:
    owner, repo = parse_repo_ref(repo_url)
    with connection_scope() as conn:
        return store.untrack_by_name(conn, user_id, full_name_key(owner, repo))


def untrack_repository_id(user_id: int, repository_id: int) -> bool:
    """Untrack by the ``id`` the API shows; False when the caller does not track it (only the caller's
    own rows are ever touched, so this says nothing about other users)."""
    with connection_scope() as conn:
        return store.untrack_by_github_id(conn, user_id, repository_id)


def user_repositories(user_id: int, per_page: int) -> list[RepositoryOut]:
    from oss_tldr.github import users  # httpx and the GitHub client: these routes only (cold start)

    items = users.list_user_repositories(user_github_token(user_id), per_page)
    return [from_github(item) for item in items]


def search(user_id: int, query: str, per_page: int) -> tuple[list[RepositoryOut], int]:
    """GitHub search; a query that names a repository (URL or owner/repo) gets that repository first.
    An empty query finds nothing (no GitHub call), as a cleared search box does."""
    query = query.strip()
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"q must be at most {MAX_QUERY_CHARS} characters.", code="invalid_query")
    if not query:
        return [], 0
    token = user_github_token(user_id)
    exact: RepositoryPayload | None = None
    try:
        owner, repo = parse_repo_ref(query)
    except BadRequest:
        search_query = query
    else:
        exact = _visible(token, owner, repo)
        search_query = f"{owner}/{repo}"
    from oss_tldr.github import users  # httpx and the GitHub client: these routes only (cold start)

    total, items = users.search_repositories(token, search_query, per_page)
    results: list[RepositoryOut] = []
    seen: set[int] = set()
    for item in ([exact] if exact else []) + items:
        out = from_github(item)
        if out.id in seen:
            continue
        seen.add(out.id)
        results.append(out)
    results = results[:per_page]
    if exact is not None and not any(i.id == exact.id for i in items):
        total += 1
    return results, max(total, len(results))
