"""Users: the GitHub profile kept current at every sign-in (GitHub id is the key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert

from oss_tldr.db.tables import users
from oss_tldr.github.payloads import UserProfile, user_profile

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

# What a user is to the API: the columns of ``UserOut``, in its order.
USER_COLUMNS = (users.c.id, users.c.login, users.c.name, users.c.email, users.c.avatar_url)


class UserOut(BaseModel):
    """``User`` of the contract."""

    id: int
    login: str
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None


def user_out(row: Row[*tuple[Any, ...]]) -> UserOut:
    """The user of a row selected with :data:`USER_COLUMNS`."""
    return UserOut(id=row.id, login=row.login, name=row.name, email=row.email, avatar_url=row.avatar_url)


def upsert_user(session: Executor, profile: UserProfile | Mapping[str, Any]) -> UserOut:
    """Insert or refresh the user of a GitHub ``/user`` payload (validated by
    :class:`~oss_tldr.github.payloads.UserProfile`: strings cleaned and within their columns, the avatar
    only when it is GitHub's)."""
    profile = user_profile(profile)
    values = {
        "login": profile.login,
        "name": profile.name or None,
        "email": profile.email or None,
        "avatar_url": profile.avatar_url,
    }
    stmt = insert(users).values(id=profile.id, **values)
    upsert = stmt.on_conflict_do_update(index_elements=[users.c.id], set_=values).returning(*USER_COLUMNS)
    return user_out(session.execute(upsert).one())


def get_user(session: Executor, user_id: int) -> UserOut | None:
    row = session.execute(select(*USER_COLUMNS).where(users.c.id == user_id)).one_or_none()
    return None if row is None else user_out(row)
