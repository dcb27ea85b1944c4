"""Users: the GitHub profile kept current at every sign-in (GitHub id is the key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oss_tldr.db.models import User
from oss_tldr.github.payloads import UserProfile, user_profile


class UserOut(BaseModel):
    """``User`` of the contract."""

    id: int
    login: str
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None


def upsert_user(session: Session, profile: UserProfile | Mapping[str, Any]) -> User:
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
    stmt = insert(User).values(id=profile.id, **values)
    upsert = stmt.on_conflict_do_update(index_elements=[User.id], set_=values).returning(User)
    user: User = session.scalars(upsert, execution_options={"populate_existing": True}).one()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.scalar(select(User).where(User.id == user_id))


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, login=user.login, name=user.name, email=user.email, avatar_url=user.avatar_url)
