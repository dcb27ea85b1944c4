"""Local sign-in without a GitHub OAuth app: ``make token LOGIN=...``, ``make invoke`` and ``make demo``.

A session is issued for a user of the configured database (created when missing) through the same
write as the OAuth flow (:func:`~oss_tldr.identity.oauth.store_sign_in`), so the token is an ordinary
session: it expires, ``/auth/logout`` revokes it, and ``/auth/validate`` accepts it. Refused unless the
settings say this is a local environment (:attr:`Settings.local_sign_in_allowed`: never in AWS, and only
when ``OSS_TLDR_ENV`` is unset or names local, dev, test or demo).

A user that does not exist yet gets the id ``github_id`` when the caller knows it (the demo: the fake
GitHub's id, so that signing in through OAuth later is the same user), else a stable id derived from the
login above GitHub's range (GitHub ids are far below 2**53), so it never collides with a real account.
A GitHub token, when given, is stored sealed as sign-in stores it: the routes that call GitHub for the
user then work (the private-repository checks included).
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from sqlalchemy import func, select

from oss_tldr.db.engine import connection_scope
from oss_tldr.db.tables import users
from oss_tldr.errors import BadRequest, Forbidden
from oss_tldr.identity.oauth import store_sign_in
from oss_tldr.identity.sessions import IssuedSession
from oss_tldr.identity.tokens import seal_github_token
from oss_tldr.identity.users import USER_COLUMNS
from oss_tldr.settings import get_settings

LOCAL_USER_ID_BASE = 2**62  # above every GitHub id, below Postgres' bigint maximum (2**63 - 1)
# GitHub's own rule for logins: letters, digits and single hyphens, at most 39 characters.
LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")


def local_user_id(login: str) -> int:
    """The stable id of a local user that GitHub did not number."""
    return LOCAL_USER_ID_BASE + zlib.crc32(login.lower().encode())


def issue_local_session(
    login: str,
    *,
    github_id: int | None = None,
    github_token: str | None = None,
    name: str | None = None,
) -> IssuedSession:
    """A session for ``login`` (the user created if missing), refused outside local environments."""
    settings = get_settings()
    if not settings.local_sign_in_allowed:
        raise Forbidden(
            f"Local sign-in is refused in the {settings.environment!r} environment; "
            "sign in through GitHub instead (OSS_TLDR_ENV, docs/configuration.md).",
            code="local_sign_in_refused",
        )
    if not LOGIN.fullmatch(login or ""):
        raise BadRequest(f"{login!r} is not a GitHub login.", code="invalid_login")
    with connection_scope() as session:
        existing = session.execute(
            select(*USER_COLUMNS)
            .where(func.lower(users.c.login) == login.lower())
            .order_by(users.c.id)
            .limit(1)
        ).one_or_none()
        # An existing user keeps the profile their last GitHub sign-in stored.
        profile: dict[str, Any] = (
            {"id": existing.id, "login": existing.login, "name": existing.name}
            | {"email": existing.email, "avatar_url": existing.avatar_url}
            if existing is not None and github_id in (None, existing.id)
            else {"id": github_id or local_user_id(login), "login": login, "name": name}
        )
    # Sealing may be a KMS round trip: outside the transaction, as complete_login does it.
    sealed = seal_github_token(profile["id"], github_token) if github_token else None
    with connection_scope() as session:
        _, issued = store_sign_in(session, profile, sealed, local=True)
    return issued
