"""Data access for tracking: ``repositories`` (shared metadata cache) and ``user_repositories``.

Core statements on :mod:`oss_tldr.db.tables`, so the tracked list (a hit path) loads no ORM on a cold
start; each function takes an ``Executor``, so the ORM session of a larger unit of work (the import, the
report generation) runs the same statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.dialects.postgresql import insert

from oss_tldr.db.tables import repositories, repository_aliases, user_repositories
from oss_tldr.github.payloads import RepositoryPayload
from oss_tldr.repos.schemas import REPOSITORY_COLUMNS, row_values

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

_repos, _aliases, _tracking = repositories.c, repository_aliases.c, user_repositories.c


@dataclass(frozen=True)
class KnownRepository:
    id: int
    is_private: bool


def _unlist_name(session: Executor, full_name: str, keep_id: int | None) -> None:
    """Free ``full_name`` for the repository GitHub gives it now: a row of another repository still under
    that name (deleted or renamed away since) keeps its tracking and reports but is no longer found by
    the name (its key becomes ``~<id>/<name>``, which no owner/name can be); an alias of it goes."""
    stale = select(_repos.id).where(_repos.full_name == full_name)
    if keep_id is not None:
        stale = stale.where(_repos.id != keep_id)
    for row_id in session.scalars(stale.with_for_update()).all():
        session.execute(
            update(repositories).where(_repos.id == row_id).values(full_name=f"~{row_id}/{full_name}"[:255])
        )
    session.execute(delete(repository_aliases).where(_aliases.full_name == full_name))


def _alias(session: Executor, name: str, repository_id: int) -> None:
    stmt = insert(repository_aliases).values(full_name=name, repository_id=repository_id)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_aliases.full_name], set_={"repository_id": stmt.excluded.repository_id}
        )
    )


def upsert_repository_row(
    session: Executor, payload: RepositoryPayload | Mapping[str, Any], *, asked: str | None = None
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
            select(_repos.id, _repos.full_name).where(_repos.github_id == github_id).with_for_update()
        ).first()
    if known is not None:
        if known.full_name != name:
            _unlist_name(session, name, keep_id=known.id)
            if not known.full_name.startswith("~"):
                _alias(session, known.full_name, known.id)
        row = session.execute(
            update(repositories)
            .where(_repos.id == known.id)
            .values(**values)
            .returning(_repos.id, _repos.is_private)
        ).one()
    else:
        holder = session.execute(
            select(_repos.id, _repos.github_id).where(_repos.full_name == name).with_for_update()
        ).first()
        if holder is not None and github_id is not None and holder.github_id not in (None, github_id):
            _unlist_name(session, name, keep_id=None)  # the name now belongs to another repository
        session.execute(delete(repository_aliases).where(_aliases.full_name == name))
        stmt = insert(repositories).values(**values)
        row = session.execute(
            stmt.on_conflict_do_update(
                index_elements=[_repos.full_name],
                set_={k: stmt.excluded[k] for k in values if k != "full_name"},
            ).returning(_repos.id, _repos.is_private)
        ).one()
    if asked is not None and asked.lower() != name:
        # GitHub leads the asked name here now: a row still under it (another repository's, renamed since
        # without us knowing) would shadow the alias, and every ask by the name would miss.
        _unlist_name(session, asked.lower(), keep_id=int(row.id))
        _alias(session, asked.lower(), int(row.id))
    return KnownRepository(int(row.id), bool(row.is_private))


def upsert_repository(session: Executor, payload: RepositoryPayload | Mapping[str, Any]) -> int:
    """:func:`upsert_repository_row`'s ``repositories.id``."""
    return upsert_repository_row(session, payload).id


def track(session: Executor, user_id: int, repository_id: int) -> bool:
    """True when a tracking row was added (False: already tracked)."""
    result = session.execute(
        insert(user_repositories)
        .values(user_id=user_id, repository_id=repository_id)
        .on_conflict_do_nothing(index_elements=[_tracking.user_id, _tracking.repository_id])
        .returning(_tracking.id)
    )
    return result.scalar_one_or_none() is not None


def tracked(session: Executor, user_id: int) -> list[Row[*tuple[Any, ...]]]:
    """The user's tracked repositories, newest first, as :data:`~oss_tldr.repos.schemas.REPOSITORY_COLUMNS`
    rows."""
    return list(
        session.execute(
            select(*REPOSITORY_COLUMNS)
            .join_from(user_repositories, repositories, _tracking.repository_id == _repos.id)
            .where(_tracking.user_id == user_id)
            .order_by(_tracking.added_at.desc(), _tracking.id.desc())
        )
    )


def untrack_by_name(session: Executor, user_id: int, full_name_key: str) -> bool:
    ids = select(_repos.id).where(_repos.full_name == full_name_key).scalar_subquery()
    result = session.execute(
        delete(user_repositories)
        .where(_tracking.user_id == user_id, _tracking.repository_id == ids)
        .returning(_tracking.id)
    )
    return bool(result.all())


def untrack_by_github_id(session: Executor, user_id: int, github_id: int) -> bool:
    ids = select(_repos.id).where(_repos.github_id == github_id)
    result = session.execute(
        delete(user_repositories)
        .where(_tracking.user_id == user_id, _tracking.repository_id.in_(ids))
        .returning(_tracking.id)
    )
    return bool(result.all())


def known_repositories(session: Executor, full_name_keys: Iterable[str]) -> dict[str, KnownRepository]:
    keys = list(full_name_keys)
    if not keys:
        return {}
    rows = session.execute(
        select(_repos.full_name, _repos.id, _repos.is_private).where(_repos.full_name.in_(keys))
    )
    return {row.full_name: KnownRepository(row.id, row.is_private) for row in rows}
