"""Authentication shared by every protected route of every function.

Each function declares who may call each of its routes in one table (route key, exactly as in
template.yaml, to an :class:`Access` level) that its entry point checks before the request is validated
(:mod:`oss_tldr.api.app`): a missing, malformed, tampered, expired or revoked session token is a 401 JSON
error whatever else is wrong with the request. What the check found reaches the route through the
resolver's context: ``current_principal(app)`` gives the caller of a ``SESSION`` route,
``verified_claims(app)`` the token's claims on a ``SIGNED_TOKEN`` route. Both also authenticate on their
own when nothing did yet (defence in depth: a route whose table entry is wrong still refuses an
unauthenticated caller). Admin routes call ``require_admin(principal)`` (403 otherwise).

A hot route that checks the session row in the same statement as its own work (the report sections: one
round trip for a cache hit) is ``SIGNED_TOKEN``: the token's signature and claims are checked before
anything else, without the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from oss_tldr.db.engine import connection_scope
from oss_tldr.errors import Forbidden, Unauthorized
from oss_tldr.identity.sessions import SessionClaims, decode_session_token, load_active_session
from oss_tldr.settings import get_settings

_CONTEXT_KEY = "principal"
_CLAIMS_KEY = "session_claims"


class Access(Enum):
    """Who may call a route (the values of a function's route table)."""

    PUBLIC = "public"  # anyone: no authentication
    # A validly signed, unexpired session token (no database): the route checks the session row itself,
    # in the statement that does its work.
    SIGNED_TOKEN = "signed_token"  # noqa: S105 - an access level, not a secret
    SESSION = "session"  # an active session: the token and its session row

    @property
    def protected(self) -> bool:
        return self is not Access.PUBLIC


@dataclass(frozen=True)
class Principal:
    user_id: int  # GitHub id
    login: str
    session_id: str
    is_admin: bool  # login in settings.admin_logins


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def token_claims(authorization_header: str | None) -> SessionClaims:
    """The claims of a validly signed, unexpired session token (no database), or 401."""
    token = bearer_token(authorization_header)
    if token is None:
        raise Unauthorized("Sign in first: a Bearer session token is required.", code="unauthorized")
    return decode_session_token(token)


def authenticate(authorization_header: str | None) -> Principal:
    """The signed-in caller, or :class:`Unauthorized` (401)."""
    claims = token_claims(authorization_header)
    with connection_scope() as conn:
        active = load_active_session(conn, claims)
        login = active.user.login
    return Principal(
        user_id=claims.user_id,
        login=login,
        session_id=claims.session_id,
        is_admin=get_settings().is_admin(login),
    )


T = TypeVar("T")


def _once(app: APIGatewayHttpResolver, key: str, kind: type[T], resolve: Callable[[str | None], T]) -> T:
    """What ``resolve`` makes of the request's Authorization header, computed once per request (kept in
    ``app.context``, which Powertools clears after each request)."""
    cached = app.context.get(key)
    if isinstance(cached, kind):
        return cached
    value = resolve(app.current_event.headers.get("authorization"))
    app.context[key] = value
    return value


def current_principal(app: APIGatewayHttpResolver) -> Principal:
    """The caller of the request ``app`` is serving (authenticated once per request)."""
    return _once(app, _CONTEXT_KEY, Principal, authenticate)


def verified_claims(app: APIGatewayHttpResolver) -> SessionClaims:
    """The signed session claims of the request (checked once per request; the session row is not)."""
    return _once(app, _CLAIMS_KEY, SessionClaims, token_claims)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("This route is for administrators.", code="admin_only")


def authenticate_for(access: Access, authorization_header: str | None) -> dict[str, Any]:
    """Authenticate a request for a route of ``access`` (401 otherwise), before anything else is judged;
    returns what to put in the resolver's context for ``current_principal`` / ``verified_claims``."""
    if access is Access.SESSION:
        return {_CONTEXT_KEY: authenticate(authorization_header)}
    if access is Access.SIGNED_TOKEN:
        return {_CLAIMS_KEY: token_claims(authorization_header)}
    return {}


def require_session(app: APIGatewayHttpResolver, next_middleware: Callable[..., Any]) -> Any:
    """A plain Powertools route middleware for a resolver served without a route table (an ad-hoc
    resolver in a test or a tool): authenticate before the route body runs. The functions do not use it;
    their entry point authenticates from their table. CORS preflights carry no credentials and pass."""
    if app.current_event.http_method != "OPTIONS":
        current_principal(app)
    return next_middleware(app)
