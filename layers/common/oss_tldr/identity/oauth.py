"""The GitHub OAuth web flow with PKCE, and the session lifecycle built on it.

* ``start_login``: a random state (stored only as its SHA-256, ten minutes, single-use) and a PKCE S256
  verifier kept server-side; the authorize URL carries the challenge.
* ``complete_login``: the state is consumed atomically (``DELETE ... RETURNING``) before anything else, so
  a replayed, unknown or expired state is a 400 and creates nothing. The code exchange and ``GET /user``
  happen outside any transaction; then one transaction upserts the user, stores the token sealed,
  opens the session and writes the audit row.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import delete, insert, select

from oss_tldr.db.engine import connection_scope
from oss_tldr.db.tables import oauth_states
from oss_tldr.errors import BadRequest, Unauthorized
from oss_tldr.github.payloads import UserProfile
from oss_tldr.identity import audit
from oss_tldr.identity.crypto import Sealed
from oss_tldr.identity.sessions import (
    IssuedSession,
    create_session,
    decode_session_token,
    load_active_session,
    revoke_session,
)
from oss_tldr.identity.tokens import save_sealed_token, seal_github_token
from oss_tldr.identity.users import UserOut, get_user, upsert_user
from oss_tldr.settings import get_settings
from oss_tldr.text import has_unstorable

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

SCOPE = "repo read:user"
STATE_TTL = dt.timedelta(minutes=10)
MAX_PARAM_CHARS = 512
# Pending sign-ins kept per client (source address): a login beyond it forgets that client's oldest.
# Generous, because an office or a carrier NAT shares one address between many people signing in.
MAX_PENDING_STATES_PER_CLIENT = 20


@dataclass(frozen=True)
class LoginStart:
    state: str
    auth_url: str


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    expires_at: dt.datetime
    user: UserOut


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def client_key(source_ip: str | None) -> str | None:
    """The key that bounds one client's pending sign-ins (a hash, so the address itself is not kept)."""
    return _sha256(source_ip) if source_ip else None


def start_login(client: str | None = None) -> LoginStart:
    """A new sign-in. ``client`` (:func:`client_key`) keeps at most
    :data:`MAX_PENDING_STATES_PER_CLIENT` pending states per client: the oldest beyond it are dropped,
    so repeated unauthenticated calls cannot grow the table."""
    settings = get_settings()
    from oss_tldr.github import (
        users as github_users,  # httpx and the GitHub client: sign-in only (cold start)
    )

    app = github_users.oauth_app(settings)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]: a valid PKCE verifier
    now = dt.datetime.now(dt.UTC)
    with connection_scope() as session:
        states = oauth_states.c
        session.execute(delete(oauth_states).where(states.expires_at < now))  # housekeeping
        session.execute(
            insert(oauth_states).values(
                state_hash=_sha256(state),
                code_verifier=verifier,
                redirect_uri=app.redirect_uri,
                client_key=client,
                expires_at=now + STATE_TTL,
            )
        )
        if client is not None:
            older = (
                select(states.state_hash)
                .where(states.client_key == client)
                .order_by(states.created_at.desc(), states.expires_at.desc())
                .offset(MAX_PENDING_STATES_PER_CLIENT)
            )
            session.execute(delete(oauth_states).where(states.state_hash.in_(older)))
    params = {"client_id": app.client_id}
    if app.redirect_uri:
        params["redirect_uri"] = app.redirect_uri
    params |= {
        "scope": SCOPE,
        "state": state,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    return LoginStart(
        state=state, auth_url=f"{settings.github_web_url}/login/oauth/authorize?{urlencode(params)}"
    )


def _required(value: str | None, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"The {name} is missing.", code=f"missing_{name}")
    if len(value) > MAX_PARAM_CHARS or has_unstorable(value):
        raise BadRequest(f"The {name} is not valid.", code=f"invalid_{name}")
    return value.strip()


def consume_state(state: str) -> str:
    """The PKCE verifier of ``state``, which is deleted in the same statement (single use)."""
    with connection_scope() as session:
        states = oauth_states.c
        row = session.execute(
            delete(oauth_states)
            .where(states.state_hash == _sha256(state))
            .returning(states.code_verifier, states.expires_at)
        ).one_or_none()
    if row is None:
        raise BadRequest(
            "The sign-in state is unknown or was already used; sign in again.", code="invalid_state"
        )
    if row.expires_at <= dt.datetime.now(dt.UTC):
        raise BadRequest("The sign-in state has expired; sign in again.", code="state_expired")
    return str(row.code_verifier)


def complete_login(code: str | None, state: str | None) -> SignedIn:
    state = _required(state, "state")
    code = _required(code, "code")
    from oss_tldr.github import (
        users as github_users,  # httpx and the GitHub client: sign-in only (cold start)
    )

    app = github_users.oauth_app()
    verifier = consume_state(state)
    grant = github_users.exchange_oauth_code(app, code, verifier)
    profile = github_users.fetch_authenticated_user(grant.access_token)
    sealed = seal_github_token(profile.id, grant.access_token)
    with connection_scope() as session:
        user, issued = store_sign_in(session, profile, sealed, grant.scope)
    return SignedIn(access_token=issued.token, expires_at=issued.expires_at, user=user)


def store_sign_in(
    session: Executor,
    profile: UserProfile | Mapping[str, Any],
    sealed: Sealed | None,
    scopes: str | None = None,
    *,
    local: bool = False,
) -> tuple[UserOut, IssuedSession]:
    """The one write of a sign-in, in the caller's transaction: the user upserted, the GitHub token stored
    sealed (when there is one), a session opened and the ``auth.sign_in`` audit row (``local``: issued by
    :mod:`oss_tldr.identity.local`, not through GitHub)."""
    user = upsert_user(session, profile)
    if sealed is not None:
        save_sealed_token(session, user.id, sealed, scopes)
    issued = create_session(session, user.id)
    audit.record_audit(
        session,
        actor_user_id=user.id,
        action=audit.SIGN_IN,
        target_type="session",
        target_id=issued.session_id,
        details={"login": user.login, **({"local": True} if local else {})},
    )
    return user, issued


def validate_session(token: str | None) -> UserOut | None:
    """The user of a valid session token, or None for a missing, bad, expired or revoked one."""
    if not token:
        return None
    try:
        claims = decode_session_token(token)
        with connection_scope() as session:
            return load_active_session(session, claims).user
    except Unauthorized:
        return None


def current_user(user_id: int) -> UserOut:
    with connection_scope() as session:
        user = get_user(session, user_id)
    if user is None:
        raise Unauthorized("The session has ended; sign in again.", code="session_revoked")
    return user


def logout(user_id: int, session_id: str) -> None:
    with connection_scope() as session:
        if revoke_session(session, session_id):
            audit.record_audit(
                session,
                actor_user_id=user_id,
                action=audit.SIGN_OUT,
                target_type="session",
                target_id=session_id,
            )
