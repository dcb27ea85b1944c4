"""GitHub calls made on behalf of a signed-in user: the OAuth code exchange, the profile, the user's
repositories, repository search and a direct repository lookup. All go through the one client factory
(:func:`oss_tldr.github.client.github_client`) and answer validated models (:mod:`oss_tldr.github.payloads`).
"""

from __future__ import annotations

from dataclasses import dataclass

from oss_tldr.errors import BadRequest, ServiceUnavailable, UpstreamUnavailable
from oss_tldr.github import payloads
from oss_tldr.github.client import GitHubClient, github_client
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
    return github_client(token, settings)


def exchange_oauth_code(
    app: OAuthApp, code: str, code_verifier: str, settings: Settings | None = None
) -> OAuthGrant:
    """``POST {GITHUB_WEB_URL}/login/oauth/access_token`` with the PKCE verifier. Not retried: a code is
    single-use, so a retry after a lost answer could only fail. A refused code is a 400; an answer that
    is not the token JSON is a 502."""
    settings = settings or get_settings()
    client = github_client(None, settings, base_url=settings.github_web_url, max_retries=0)
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
    answer = payloads.oauth_token(response.data)
    if not answer.access_token:
        error = answer.error or "no_token"
        logger.info("oauth code exchange refused", extra={"error": error})
        if error in {"incorrect_client_credentials", "redirect_uri_mismatch"}:
            raise UpstreamUnavailable(
                "GitHub refused the OAuth app configuration.", code="oauth_misconfigured"
            )
        raise BadRequest("The sign-in code is invalid or has expired; sign in again.", code="invalid_code")
    return OAuthGrant(access_token=answer.access_token, scope=answer.scope)


def fetch_authenticated_user(token: str) -> payloads.UserProfile:
    """``GET /user`` with the user's token."""
    return payloads.user_profile(api_client(token).get("/user").data)


def list_user_repositories(token: str, per_page: int) -> list[payloads.RepositoryPayload]:
    """``GET /user/repos``: the repositories the user owns, collaborates on or sees through an org."""
    response = api_client(token).get(
        "/user/repos",
        params={
            "per_page": per_page,
            "sort": "updated",
            "affiliation": "owner,collaborator,organization_member",
        },
    )
    return payloads.repositories(response.data)


def search_repositories(
    token: str, query: str, per_page: int
) -> tuple[int, list[payloads.RepositoryPayload]]:
    """``GET /search/repositories``: ``(total_count, items)``."""
    response = api_client(token).get("/search/repositories", params={"q": query, "per_page": per_page})
    found = payloads.repository_search(response.data)
    return found.total_count, found.items


def get_repository(token: str | None, owner: str, repo: str) -> payloads.RepositoryPayload:
    """``GET /repos/{owner}/{repo}`` with the caller's token: 404 (:class:`NotFound`) when the repository
    does not exist *or* the caller cannot see it."""
    return payloads.repository(api_client(token).get(f"/repos/{owner}/{repo}").data)
