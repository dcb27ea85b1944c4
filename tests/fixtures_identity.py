"""Pytest fixtures for the identity capability (loaded by tests/conftest.py).

``make_user`` stores a user, their GitHub token (encrypted, as sign-in would) and a session, and returns
what a signed-in client holds::

    alice = make_user(id=1, login="alice", github_token="gho_fake_alice")
    handler(http_event("GET", "/api/v1/auth/me", headers=alice.headers), ctx)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class SignedInUser:
    id: int
    login: str
    token: str  # the session JWT
    github_token: str | None
    session_id: str
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def make_user(engine):
    from sqlalchemy.dialects.postgresql import insert

    from oss_tldr.db.engine import session_scope
    from oss_tldr.db.models import User
    from oss_tldr.identity.sessions import create_session
    from oss_tldr.identity.tokens import save_sealed_token, seal_github_token

    def make(
        id: int = 1,
        login: str = "octocat",
        github_token: str | None = "gho_fake_octocat_token",
        *,
        name: str | None = None,
        email: str | None = None,
    ) -> SignedInUser:
        sealed = seal_github_token(id, github_token) if github_token else None
        with session_scope() as session:
            profile = {"login": login, "name": name, "email": email}
            session.execute(
                insert(User)
                .values(id=id, avatar_url=f"https://avatars.githubusercontent.com/u/{id}?v=4", **profile)
                .on_conflict_do_update(index_elements=[User.id], set_=profile)
            )
            if sealed is not None:
                save_sealed_token(session, id, sealed)
            issued = create_session(session, id)
        return SignedInUser(
            id=id,
            login=login,
            token=issued.token,
            github_token=github_token,
            session_id=issued.session_id,
            headers={"authorization": f"Bearer {issued.token}"},
        )

    return make


OAUTH_ENV = {
    "GITHUB_CLIENT_ID": "fake-client-id",
    "GITHUB_CLIENT_SECRET": "fake-client-secret",
    "OAUTH_REDIRECT_URI": "http://localhost:5173/auth/callback",
}


@pytest.fixture
def oauth_github(fake_github, settings_env, engine):
    """The fake GitHub with the OAuth app configured (client id/secret, redirect URI) in the settings."""
    settings_env(**OAUTH_ENV)
    return fake_github
