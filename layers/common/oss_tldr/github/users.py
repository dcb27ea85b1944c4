"""GitHub calls made on behalf of a signed-in user: the OAuth code exchange, the profile, the user's
repositories, repository search and a direct repository lookup. All go through :class:`GitHubClient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oss_tldr.errors import BadRequest, ServiceUnavailable, UpstreamUnavailable
from oss_tldr.github.client import GitHubClient
from oss_tldr.observability import logger
from oss_tldr.secrets import resolve_secret
from oss_tldr.settings import Settings, get_settings


@dataclass(frozen=True)
class OAuthGrant:
    access_token: str
    scope: str | None

    def __repr__(self) -> str:  # never show the token
        return f"OAuthGrant(scope={self.scope!r})"


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uri: str | None

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r})"


def oauth_app(settings: Settings | None = None) -> OAuthApp:
    """The OAuth app's credentials; 503 when sign-in is not configured."""
    settings = settings or get_settings()
    secret = resolve_secret(settings.github_client_secret, settings.github_client_secret_arn)
    if not settings.github_client_id or not secret:
        raise ServiceUnavailable("GitHub sign-in is not configured.", code="oauth_not_configured")
    return OAuthApp(settings.github_client_id, secret, settings.oauth_redirect_uri)


def api_client(token: str | None, settings: Settings | None = None) -> GitHubClient:
    settings = settings or get_settings()
    return GitHubClient(settings.github_api_url, token, max_retries=settings.github_max_retries)


def exchange_oauth_code(
    app: OAuthApp, code: str, code_verifier: str, settings: Settings | None = None
) -> OAuthGrant:
    """``POST {GITHUB_WEB_URL}/login/oauth/access_token`` with the PKCE verifier. Not retried: a code is
    single-use, so a retry after a lost answer could only fail. A refused code is a 400."""
    settings = settings or get_settings()
    client = GitHubClient(settings.github_web_url, None, max_retries=0)
    body: dict[str, str] = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code": code,
        "code_verifier": code_verifier,
    }
    if app.redirect_uri:
        body["redirect_uri"] = app.redirect_uri
    response = client.request(
        "POST",
        "/login/oauth/access_token",
        json=body,
        headers={"Accept": "application/json"},
        url=f"{settings.github_web_url}/login/oauth/access_token",
    )
    data = response.data if isinstance(response.data, Mapping) else {}
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        error = str(data.get("error") or "no_token")
        logger.info("oauth code exchange refused", extra={"error": error[:64]})
        if error in {"incorrect_client_credentials", "redirect_uri_mismatch"}:
            raise UpstreamUnavailable(
                "GitHub refused the OAuth app configuration.", code="oauth_misconfigured"
            )
        raise BadRequest("The sign-in code is invalid or has expired; sign in again.", code="invalid_code")
    scope = data.get("scope")
    return OAuthGrant(access_token=token, scope=str(scope) if scope is not None else None)


def fetch_authenticated_user(token: str) -> dict[str, Any]:
    """``GET /user`` with the user's token."""
    data = api_client(token).get("/user").data
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), int) or not data.get("login"):
        raise UpstreamUnavailable("GitHub returned an unexpected user profile.")
    return dict(data)


def list_user_repositories(token: str, per_page: int) -> list[dict[str, Any]]:
    """``GET /user/repos``: the repositories the user owns, collaborates on or sees through an org."""
    data = (
        api_client(token)
        .get(
            "/user/repos",
            params={
                "per_page": per_page,
                "sort": "updated",
                "affiliation": "owner,collaborator,organization_member",
            },
        )
        .data
    )
    return [dict(item) for item in data if isinstance(item, Mapping)] if isinstance(data, list) else []


def search_repositories(token: str, query: str, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    """``GET /search/repositories``: ``(total_count, items)``."""
    data = api_client(token).get("/search/repositories", params={"q": query, "per_page": per_page}).data
    if not isinstance(data, Mapping):
        return 0, []
    items = [dict(item) for item in data.get("items") or [] if isinstance(item, Mapping)]
    total = data.get("total_count")
    return (total if isinstance(total, int) else len(items)), items


def get_repository(token: str | None, owner: str, repo: str) -> dict[str, Any]:
    """``GET /repos/{owner}/{repo}`` with the caller's token: 404 (:class:`NotFound`) when the repository
    does not exist *or* the caller cannot see it."""
    data = api_client(token).get(f"/repos/{owner}/{repo}").data
    if not isinstance(data, Mapping) or not data.get("full_name"):
        raise UpstreamUnavailable("GitHub returned an unexpected repository.")
    return dict(data)
