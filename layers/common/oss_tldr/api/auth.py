"""Authentication shared by every protected route of every function.

A protected route gets the caller with ``current_principal(app)`` (or the route middleware
``require_session``, which does the same before the route runs). Either way: a missing, malformed,
tampered, expired or revoked session token is a 401 JSON error; the principal is resolved once per
request and kept in ``app.context``. Admin routes call ``require_admin(principal)`` (403 otherwise).

A hot route that checks the session row in the same statement as its own work (the report sections: one
round trip for a cache hit) uses ``require_signed_token`` instead: the token's signature and claims are
checked before anything else, without the database, and ``verified_claims(app)`` gives them to the route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from oss_tldr.db.engine import session_scope
from oss_tldr.errors import Forbidden, Unauthorized
from oss_tldr.identity.sessions import SessionClaims, decode_session_token, load_active_session
from oss_tldr.settings import get_settings

_CONTEXT_KEY = "principal"
_CLAIMS_KEY = "session_claims"


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
    with session_scope() as session:
        active = load_active_session(session, claims)
        login = active.user.login
    return Principal(
        user_id=claims.user_id,
        login=login,
        session_id=claims.session_id,
        is_admin=get_settings().is_admin(login),
    )


def current_principal(app: APIGatewayHttpResolver) -> Principal:
    """The caller of the request ``app`` is serving (authenticated once per request)."""
    cached = app.context.get(_CONTEXT_KEY)
    if isinstance(cached, Principal):
        return cached
    principal = authenticate(app.current_event.headers.get("authorization"))
    app.context[_CONTEXT_KEY] = principal
    return principal


def verified_claims(app: APIGatewayHttpResolver) -> SessionClaims:
    """The signed session claims of the request (checked once per request; the session row is not)."""
    cached = app.context.get(_CLAIMS_KEY)
    if isinstance(cached, SessionClaims):
        return cached
    claims = token_claims(app.current_event.headers.get("authorization"))
    app.context[_CLAIMS_KEY] = claims
    return claims


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("This route is for administrators.", code="admin_only")


def _has_middleware(app: APIGatewayHttpResolver, middleware: Callable[..., Any]) -> bool:
    """Whether the route being served has ``middleware`` (on the route or for the whole app). CORS
    preflights never need authentication: they carry no credentials."""
    if app.current_event.http_method == "OPTIONS":
        return False
    route = app.context.get("_route")
    route_middlewares = getattr(route, "middlewares", None) or []
    return middleware in (*app._router_middlewares, *route_middlewares)


def authenticate_route(app: APIGatewayHttpResolver) -> None:
    """Authenticate the request as its route asks (``require_session`` or ``require_signed_token``), before
    the request body and parameters are validated: a request without a session is a 401 whatever else is
    wrong with it."""
    if _has_middleware(app, require_session):
        current_principal(app)
    elif _has_middleware(app, require_signed_token):
        verified_claims(app)


def require_session(app: APIGatewayHttpResolver, next_middleware: Callable[..., Any]) -> Any:
    """Route (or global) middleware: authenticate before the route body runs. CORS preflights carry no
    credentials and pass through (the resolver answers them)."""
    if app.current_event.http_method != "OPTIONS":
        current_principal(app)
    return next_middleware(app)


def require_signed_token(app: APIGatewayHttpResolver, next_middleware: Callable[..., Any]) -> Any:
    """Route middleware for a route that checks the session row itself: the token's signature and claims
    are checked before the route body runs, without the database."""
    if app.current_event.http_method != "OPTIONS":
        verified_claims(app)
    return next_middleware(app)
