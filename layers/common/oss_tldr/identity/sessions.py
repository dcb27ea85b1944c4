"""Session tokens: HS256 JWTs (algorithm pinned) with issuer, audience, expiry, a ``kid`` header selecting
the signing key, and a ``sid`` naming a row of ``sessions``. Logout revokes the row, so a token stops
working before it expires; validation checks the signature, the claims and the row.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt
from sqlalchemy import insert, select, update

from oss_tldr.db.tables import sessions, users
from oss_tldr.errors import Unauthorized
from oss_tldr.identity.keys import jwt_key_ring
from oss_tldr.identity.users import USER_COLUMNS, UserOut, user_out
from oss_tldr.limits import PG_BIGINT_MAX
from oss_tldr.settings import Settings, get_settings

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

ALGORITHM = "HS256"
ISSUER = "oss-tldr"
AUDIENCE = "oss-tldr-api"
LEEWAY_SECONDS = 30
MAX_TOKEN_CHARS = 4096
MAX_USER_ID = PG_BIGINT_MAX  # users.id is a Postgres bigint
MAX_SUB_CHARS = 19  # len(str(MAX_USER_ID)): a longer sub is refused before int() parses it
_REQUIRED = ["exp", "iat", "iss", "aud", "sub", "sid"]
# What new_session_id issues (token_urlsafe: [A-Za-z0-9_-]), within sessions.id's 64 characters: anything
# else in a signed token is a session we never issued (401), not a value for the database to refuse.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class IssuedSession:
    token: str
    session_id: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class SessionClaims:
    user_id: int
    session_id: str


@dataclass(frozen=True)
class ActiveSession:
    user: UserOut
    session_id: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def sign_session_token(
    user_id: int, session_id: str, expires_at: dt.datetime, settings: Settings | None = None
) -> str:
    ring = jwt_key_ring(settings or get_settings())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "sid": session_id,
        "iat": int(_now().timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, ring.active_key, algorithm=ALGORITHM, headers={"kid": ring.active})


def create_session(session: Executor, user_id: int, settings: Settings | None = None) -> IssuedSession:
    """Store a new session row for ``user_id`` and sign its token."""
    settings = settings or get_settings()
    session_id = new_session_id()
    expires_at = _now().replace(microsecond=0) + dt.timedelta(seconds=settings.session_ttl_seconds)
    session.execute(insert(sessions).values(id=session_id, user_id=user_id, expires_at=expires_at))
    return IssuedSession(
        sign_session_token(user_id, session_id, expires_at, settings), session_id, expires_at
    )


def decode_session_token(token: str, settings: Settings | None = None) -> SessionClaims:
    """Check signature and claims (no database). Raises :class:`Unauthorized` for anything wrong."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized("The session token is not valid.", code="invalid_token")
    ring = jwt_key_ring(settings or get_settings())
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or kid not in ring.keys:
            raise Unauthorized("The session token is not valid.", code="invalid_token")
        claims = jwt.decode(
            token,
            ring.keys[kid],
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED},
        )
        sub, session_id = claims["sub"], claims["sid"]
        if not isinstance(sub, str) or not sub.isascii() or not sub.isdigit() or len(sub) > MAX_SUB_CHARS:
            raise ValueError("sub is not a user id")
        user_id = int(sub)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The session has expired; sign in again.", code="session_expired") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise Unauthorized("The session token is not valid.", code="invalid_token") from exc
    # ``sub`` is a GitHub user id, a positive bigint in the database: anything else, even validly signed,
    # is not a session we issued (and would make the session lookup fail instead of finding nothing).
    if (
        not 1 <= user_id <= MAX_USER_ID
        or not isinstance(session_id, str)
        or not _SESSION_ID.fullmatch(session_id)
    ):
        raise Unauthorized("The session token is not valid.", code="invalid_token")
    return SessionClaims(user_id=user_id, session_id=session_id)


def load_active_session(session: Executor, claims: SessionClaims) -> ActiveSession:
    """The signed-in user behind valid claims; :class:`Unauthorized` if the session ended."""
    s = sessions.c
    row = session.execute(
        select(*USER_COLUMNS)
        .join_from(sessions, users, s.user_id == users.c.id)
        .where(
            s.id == claims.session_id,
            s.user_id == claims.user_id,
            s.revoked_at.is_(None),
            s.expires_at > _now(),
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("The session has ended; sign in again.", code="session_revoked")
    return ActiveSession(user=user_out(row), session_id=claims.session_id)


def revoke_session(session: Executor, session_id: str) -> bool:
    result = session.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
