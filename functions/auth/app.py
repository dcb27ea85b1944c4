"""Auth function: GitHub OAuth sign-in (PKCE), session validation, logout and the current user.

``GET /auth/github/login`` and ``POST /auth/github/callback`` are public; ``POST /auth/validate`` answers
200 ``{"valid": false}`` for any unusable token (the SPA relies on it); logout and ``/auth/me`` need a
session (401 otherwise).
"""

from __future__ import annotations

import gc

gc.disable()  # for the import only: the entry point freezes what it built and turns it back on

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access, bearer_token, current_principal
from oss_tldr.api.responses import errors
from oss_tldr.identity import oauth
from oss_tldr.identity.users import UserOut

ROUTES = {
    "GET /api/v1/auth/github/login": Access.PUBLIC,
    "POST /api/v1/auth/github/callback": Access.PUBLIC,
    "POST /api/v1/auth/validate": Access.PUBLIC,  # judges the token itself: 200 {"valid": false}
    "POST /api/v1/auth/logout": Access.SESSION,
    "GET /api/v1/auth/me": Access.SESSION,
}
app = create_app()


class LoginResponse(BaseModel):
    state: str
    auth_url: str


class CallbackRequest(BaseModel):
    code: str | None = None
    state: str | None = None


class CallbackResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: dt.datetime
    user: UserOut


class ValidSession(BaseModel):
    valid: Literal[True] = True
    user: UserOut


class InvalidSession(BaseModel):
    """A missing, bad, expired or revoked token: 200, not 401 (the SPA relies on it)."""

    valid: Literal[False] = False


class LogoutResponse(BaseModel):
    ok: bool


@app.get("/api/v1/auth/github/login", responses=errors())
def login() -> LoginResponse:
    source_ip = app.current_event.request_context.http.source_ip
    start = oauth.start_login(client=oauth.client_key(source_ip))
    return LoginResponse(state=start.state, auth_url=start.auth_url)


@app.post("/api/v1/auth/github/callback", responses=errors(400, 429, 502))
def callback(body: CallbackRequest) -> CallbackResponse:
    signed_in = oauth.complete_login(body.code, body.state)
    return CallbackResponse(
        access_token=signed_in.access_token, expires_at=signed_in.expires_at, user=signed_in.user
    )


@app.post("/api/v1/auth/validate")
def validate() -> ValidSession | InvalidSession:
    user = oauth.validate_session(bearer_token(app.current_event.headers.get("authorization")))
    return InvalidSession() if user is None else ValidSession(user=user)


@app.post("/api/v1/auth/logout")
def logout() -> LogoutResponse:
    principal = current_principal(app)
    oauth.logout(principal.user_id, principal.session_id)
    return LogoutResponse(ok=True)


@app.get("/api/v1/auth/me", responses=errors(404))
def me() -> UserOut:
    return oauth.current_user(current_principal(app).user_id)


# The miss paths' modules, imported at first use (cold start) or before a SnapStart snapshot.
PRIME = ("oss_tldr.github.users",)
lambda_handler = lambda_entrypoint(app, ROUTES, prime=PRIME)
