"""Users: the GitHub profile kept current at every sign-in (GitHub id is the key)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oss_tldr.db.models import User


class UserOut(BaseModel):
    """``User`` of the contract."""

    id: int
    login: str
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None


def _clip(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value else None


def upsert_user(session: Session, profile: dict[str, Any]) -> User:
    """Insert or refresh the user of a GitHub ``/user`` payload."""
    values = {
        "login": str(profile["login"])[:255],
        "name": _clip(profile.get("name"), 255),
        "email": _clip(profile.get("email"), 255),
        "avatar_url": _clip(profile.get("avatar_url"), 512),
    }
    stmt = insert(User).values(id=int(profile["id"]), **values)
    upsert = stmt.on_conflict_do_update(index_elements=[User.id], set_=values).returning(User)
    user: User = session.scalars(upsert, execution_options={"populate_existing": True}).one()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.scalar(select(User).where(User.id == user_id))


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, login=user.login, name=user.name, email=user.email, avatar_url=user.avatar_url)
