"""Pytest fixtures for the identity capability (loaded by tests/conftest.py).

``make_user`` stores a user, their GitHub token (encrypted, as sign-in would) and a session, and returns
what a signed-in client holds::

    alice = make_user(id=1, login="alice", github_token="gho_fake_alice")
    handler(http_event("GET", "/api/v1/auth/me", headers=alice.headers), ctx)

The signed-in users a module's tests take as fixtures, ``alice``, ``bob``, ``carol`` and ``admin``, are
declared once here; each module says who they are (ids and tokens its assertions rely on) in a ``USERS``
constant the fixtures read::

    USERS = Cast(alice=Account(501, ALICE_GH), bob=Account(502, BOB_GH), after=("gh",))

``after`` names fixtures set up before anyone signs in (the module's fake GitHub world); with
``origin=ORIGIN`` the fixtures give the request headers (session and ``Origin``) that HTTP-level tests send
instead of the :class:`SignedInUser`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Account:
    """Who one of a module's user fixtures signs in; ``login`` defaults to the fixture's name.
    ``on_github``: also known to the fake GitHub (``add_user``) even when the test does not use the fake
    otherwise (a test that uses it gets every account's token known to it)."""

    id: int
    github_token: str
    login: str | None = None
    on_github: bool = False


class Cast:
    """A module's signed-in users by fixture name (``USERS = Cast(alice=Account(...), ...)``)."""

    def __init__(
        self, *, after: tuple[str, ...] = (), origin: str | None = None, **accounts: Account
    ) -> None:
        self.accounts: Mapping[str, Account] = accounts
        self.after = after
        self.origin = origin

    def with_accounts(self, **accounts: Account) -> Cast:
        """The same cast with more users (a module that extends another's)."""
        return Cast(after=self.after, origin=self.origin, **{**self.accounts, **accounts})


def _sign_in(request: pytest.FixtureRequest, name: str) -> Any:
    cast = getattr(request.module, "USERS", None)
    if not isinstance(cast, Cast) or name not in cast.accounts:
        pytest.fail(
            f"{request.module.__name__} takes the {name!r} fixture: declare it in USERS", pytrace=False
        )
    for fixture in cast.after:
        request.getfixturevalue(fixture)
    account = cast.accounts[name]
    login = account.login or name
    if account.on_github or "fake_github" in request.fixturenames:
        # A signed-in user's stored token is one GitHub issued: the fake GitHub knows it (GraphQL refuses
        # tokens it does not know, as GitHub does), unless the module's world already added it.
        fake = request.getfixturevalue("fake_github")
        if account.github_token not in fake.users:
            fake.add_user(login, account.github_token, id=account.id)
    user = request.getfixturevalue("make_user")(id=account.id, login=login, github_token=account.github_token)
    if cast.origin is not None:
        return {**user.headers, "Origin": cast.origin}
    return user


@pytest.fixture
def alice(request):
    return _sign_in(request, "alice")


@pytest.fixture
def bob(request):
    return _sign_in(request, "bob")


@pytest.fixture
def carol(request):
    return _sign_in(request, "carol")


@pytest.fixture
def admin(request):
    return _sign_in(request, "admin")
