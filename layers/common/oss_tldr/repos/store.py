"""Data access for tracking: ``repositories`` (shared metadata cache) and ``user_repositories``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oss_tldr.db.models import Repository, UserRepository
from oss_tldr.github.payloads import RepositoryPayload
from oss_tldr.repos.schemas import row_values


@dataclass(frozen=True)
class KnownRepository:
    id: int
    is_private: bool


def upsert_repository_row(
    session: Session, payload: RepositoryPayload | Mapping[str, Any]
) -> KnownRepository:
    """Insert or refresh the cached metadata of a GitHub repository payload (the one mapping of a payload
    to a ``repositories`` row, shared by tracking, import and report generation)."""
    values = row_values(payload)
    stmt = insert(Repository).values(**values)
    row = session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Repository.full_name],
            set_={k: stmt.excluded[k] for k in values if k != "full_name"},
        ).returning(Repository.id, Repository.is_private)
    ).one()
    return KnownRepository(int(row.id), bool(row.is_private))


def upsert_repository(session: Session, payload: RepositoryPayload | Mapping[str, Any]) -> int:
    """:func:`upsert_repository_row`'s ``repositories.id``."""
    return upsert_repository_row(session, payload).id


def track(session: Session, user_id: int, repository_id: int) -> bool:
    """True when a tracking row was added (False: already tracked)."""
    result = session.execute(
        insert(UserRepository)
        .values(user_id=user_id, repository_id=repository_id)
        .on_conflict_do_nothing(index_elements=[UserRepository.user_id, UserRepository.repository_id])
        .returning(UserRepository.id)
    )
    return result.scalar_one_or_none() is not None


def tracked(session: Session, user_id: int) -> list[Repository]:
    return list(
        session.scalars(
            select(Repository)
            .join(UserRepository, UserRepository.repository_id == Repository.id)
            .where(UserRepository.user_id == user_id)
            .order_by(UserRepository.added_at.desc(), UserRepository.id.desc())
        )
    )


def untrack_by_name(session: Session, user_id: int, full_name_key: str) -> bool:
    ids = select(Repository.id).where(Repository.full_name == full_name_key).scalar_subquery()
    result = session.execute(
        delete(UserRepository)
        .where(UserRepository.user_id == user_id, UserRepository.repository_id == ids)
        .returning(UserRepository.id)
    )
    return bool(result.all())


def untrack_by_github_id(session: Session, user_id: int, github_id: int) -> bool:
    ids = select(Repository.id).where(Repository.github_id == github_id)
    result = session.execute(
        delete(UserRepository)
        .where(UserRepository.user_id == user_id, UserRepository.repository_id.in_(ids))
        .returning(UserRepository.id)
    )
    return bool(result.all())


def known_repositories(session: Session, full_name_keys: Iterable[str]) -> dict[str, KnownRepository]:
    keys = list(full_name_keys)
    if not keys:
        return {}
    rows = session.execute(
        select(Repository.full_name, Repository.id, Repository.is_private).where(
            Repository.full_name.in_(keys)
        )
    )
    return {row.full_name: KnownRepository(row.id, row.is_private) for row in rows}
