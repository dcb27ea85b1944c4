"""Data access for tracking: ``repositories`` (shared metadata cache) and ``user_repositories``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from oss_tldr.db.models import Repository, RepositoryAlias, UserRepository
from oss_tldr.github.payloads import RepositoryPayload
from oss_tldr.repos.schemas import row_values


@dataclass(frozen=True)
class KnownRepository:
    id: int
    is_private: bool


def _unlist_name(session: Session, full_name: str, keep_id: int | None) -> None:
    """Free ``full_name`` for the repository GitHub gives it now: a row of another repository still under
    that name (deleted or renamed away since) keeps its tracking and reports but is no longer found by
    the name (its key becomes ``~<id>/<name>``, which no owner/name can be); an alias of it goes."""
    stale = select(Repository.id).where(Repository.full_name == full_name)
    if keep_id is not None:
        stale = stale.where(Repository.id != keep_id)
    for row_id in session.scalars(stale.with_for_update()).all():
        session.execute(
            update(Repository).where(Repository.id == row_id).values(full_name=f"~{row_id}/{full_name}"[:255])
        )
    session.execute(delete(RepositoryAlias).where(RepositoryAlias.full_name == full_name))


def _alias(session: Session, name: str, repository_id: int) -> None:
    stmt = insert(RepositoryAlias).values(full_name=name, repository_id=repository_id)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[RepositoryAlias.full_name], set_={"repository_id": stmt.excluded.repository_id}
        )
    )


def upsert_repository_row(
    session: Session, payload: RepositoryPayload | Mapping[str, Any], *, asked: str | None = None
) -> KnownRepository:
    """Insert or refresh the cached metadata of a GitHub repository payload (the one mapping of a payload
    to a ``repositories`` row, shared by tracking, import and report generation).

    The row is found by GitHub's immutable id first: a renamed or transferred repository keeps its one row
    (and its reports and trackers), its former name becomes an alias. ``asked``, the name the caller asked
    GitHub by, becomes an alias too when GitHub answers with another name (GitHub follows renames), so
    asking by it again finds the row without a GitHub call."""
    values = row_values(payload)
    name, github_id = values["full_name"], values["github_id"]
    known = None
    if github_id is not None:
        known = session.execute(
            select(Repository.id, Repository.full_name)
            .where(Repository.github_id == github_id)
            .with_for_update()
        ).first()
    if known is not None:
        if known.full_name != name:
            _unlist_name(session, name, keep_id=known.id)
            if not known.full_name.startswith("~"):
                _alias(session, known.full_name, known.id)
        row = session.execute(
            update(Repository)
            .where(Repository.id == known.id)
            .values(**values)
            .returning(Repository.id, Repository.is_private)
        ).one()
    else:
        holder = session.execute(
            select(Repository.id, Repository.github_id).where(Repository.full_name == name).with_for_update()
        ).first()
        if holder is not None and github_id is not None and holder.github_id not in (None, github_id):
            _unlist_name(session, name, keep_id=None)  # the name now belongs to another repository
        session.execute(delete(RepositoryAlias).where(RepositoryAlias.full_name == name))
        stmt = insert(Repository).values(**values)
        row = session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Repository.full_name],
                set_={k: stmt.excluded[k] for k in values if k != "full_name"},
            ).returning(Repository.id, Repository.is_private)
        ).one()
    if asked is not None and asked.lower() != name:
        # GitHub leads the asked name here now: a row still under it (another repository's, renamed since
        # without us knowing) would shadow the alias, and every ask by the name would miss.
        _unlist_name(session, asked.lower(), keep_id=int(row.id))
        _alias(session, asked.lower(), int(row.id))
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
