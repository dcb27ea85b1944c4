"""Authentication shared by every protected route of every function.

A protected route gets the caller with ``current_principal(app)`` (or the route middleware
``require_session``, which does the same before the route runs). Either way: a missing, malformed,
tampered, expired or revoked session token is a 401 JSON error; the principal is resolved once per
request and kept in ``app.context``. Admin routes call ``require_admin(principal)`` (403 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from oss_tldr.db.engine import session_scope
from oss_tldr.errors import Forbidden, Unauthorized
from oss_tldr.identity.sessions import decode_session_token, load_active_session
from oss_tldr.settings import get_settings

_CONTEXT_KEY = "principal"


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


def authenticate(authorization_header: str | None) -> Principal:
    """The signed-in caller, or :class:`Unauthorized` (401)."""
    token = bearer_token(authorization_header)
    if token is None:
        raise Unauthorized("Sign in first: a Bearer session token is required.", code="unauthorized")
    claims = decode_session_token(token)
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


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("This route is for administrators.", code="admin_only")


def requires_session(app: APIGatewayHttpResolver) -> bool:
    """Whether the route being served has ``require_session`` (on the route or for the whole app).
    CORS preflights never do: they carry no credentials."""
    if app.current_event.http_method == "OPTIONS":
        return False
    route = app.context.get("_route")
    route_middlewares = getattr(route, "middlewares", None) or []
    return require_session in (*app._router_middlewares, *route_middlewares)


def require_session(app: APIGatewayHttpResolver, next_middleware: Callable[..., Any]) -> Any:
    """Route (or global) middleware: authenticate before the route body runs. CORS preflights carry no
    credentials and pass through (the resolver answers them)."""
    if app.current_event.http_method != "OPTIONS":
        current_principal(app)
    return next_middleware(app)
