"""The one writer (and reader) of the deep-dive tables: patch sets and their patches, explanations, deep
dives. One short transaction per function; none is open across a GitHub or OpenAI call.

Core statements on :mod:`oss_tldr.db.tables`, on a connection of their own (``connection_scope``): a
shared answer (a stored patch set, explanation or deep dive, or the unknown patch's 404) loads no ORM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oss_tldr.db.engine import connection_scope
from oss_tldr.db.tables import deep_dives, patch_explanations, pr_patch_sets, pr_patches, repositories
from oss_tldr.deepdive.models import NO_PATCH, Patch, PatchSource, patch_hash
from oss_tldr.reports.access import remembered
from oss_tldr.repos.names import repository_id_for

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

MAX_SOURCES = 20  # repositories checked for one patch text (the same patch in many forks)

_sets, _files, _explanations, _dives = pr_patch_sets.c, pr_patches.c, patch_explanations.c, deep_dives.c


def _fresh(column: ColumnElement[dt.datetime], seconds: int) -> ColumnElement[bool]:
    return column >= func.now() - dt.timedelta(seconds=seconds)


def _patches(conn: Executor, patch_set_id: int) -> list[Patch]:
    rows = conn.execute(
        select(_files.file, _files.patch).where(_files.patch_set_id == patch_set_id).order_by(_files.position)
    )
    return [Patch(file=row.file, patch=row.patch if row.patch is not None else NO_PATCH) for row in rows]


# --------------------------------------------------------------------------------- patch sets
def fresh_patch_set(full_name: str, number: int, fresh_seconds: int) -> list[Patch] | None:
    """The newest patch set of the pull request checked against GitHub within ``fresh_seconds``, or None."""
    with connection_scope() as conn:
        found = conn.scalar(
            select(_sets.id)
            .where(
                _sets.repository_id == repository_id_for(full_name),
                _sets.number == number,
                _fresh(_sets.checked_at, fresh_seconds),
            )
            .order_by(_sets.checked_at.desc())
            .limit(1)
        )
        return None if found is None else _patches(conn, found)


def patch_set_at(repository_id: int, number: int, head_sha: str) -> list[Patch] | None:
    """The stored patch set of this head commit (its ``checked_at`` renewed: GitHub just confirmed it)."""
    with connection_scope() as conn:
        found = conn.scalar(
            update(pr_patch_sets)
            .where(
                _sets.repository_id == repository_id,
                _sets.number == number,
                _sets.head_sha == head_sha,
            )
            .values(checked_at=func.now())
            .returning(_sets.id)
        )
        return None if found is None else _patches(conn, found)


def save_patch_set(
    repository_id: int,
    number: int,
    head_sha: str,
    files_total: int,
    files: Sequence[tuple[str, str, int, int, str | None]],
) -> list[Patch]:
    """Store the files ``(file, status, additions, deletions, patch)`` of a head commit; a set stored
    meanwhile by a concurrent request wins (``ON CONFLICT DO NOTHING``) and is returned instead."""
    with connection_scope() as conn:
        created = conn.scalar(
            pg_insert(pr_patch_sets)
            .values(repository_id=repository_id, number=number, head_sha=head_sha, files_total=files_total)
            .on_conflict_do_nothing(index_elements=["repository_id", "number", "head_sha"])
            .returning(_sets.id)
        )
        if created is not None and files:
            conn.execute(
                pg_insert(pr_patches),
                [
                    {
                        "patch_set_id": created,
                        "position": position,
                        "file": file,
                        "status": status,
                        "additions": additions,
                        "deletions": deletions,
                        "patch": patch,
                        "patch_hash": patch_hash(patch) if patch else None,
                    }
                    for position, (file, status, additions, deletions, patch) in enumerate(files)
                ],
            )
    if created is None:
        return patch_set_at(repository_id, number, head_sha) or []
    return [Patch(file=file, patch=patch or NO_PATCH) for file, _, _, _, patch in files]


def patch_sources(digest: str, user_id: int | None) -> list[PatchSource]:
    """The repositories a patch with this hash was served from, each with the user's remembered access,
    public ones first (and the rows whose file the caller named are the caller's to prefer)."""
    with connection_scope() as conn:
        rows = conn.execute(
            select(
                _files.file,
                repositories.c.id,
                repositories.c.full_name,
                repositories.c.owner,
                repositories.c.name,
                repositories.c.is_private,
                remembered(user_id, repositories.c.id).label("access_ok"),
            )
            .select_from(
                pr_patches.join(pr_patch_sets, _sets.id == _files.patch_set_id).join(
                    repositories, repositories.c.id == _sets.repository_id
                )
            )
            .where(_files.patch_hash == digest)
            .order_by(repositories.c.is_private, _sets.checked_at.desc())
            .limit(MAX_SOURCES)
        ).all()
    return [
        PatchSource(
            file=row.file,
            repository_id=row.id,
            full_name=row.full_name,
            owner=row.owner,
            name=row.name,
            is_private=bool(row.is_private),
            access_ok=bool(row.access_ok) and user_id is not None,
        )
        for row in rows
    ]


# --------------------------------------------------------------------------------- explanations
def explanation(digest: str, summariser: str, prompt_version: str) -> str | None:
    with connection_scope() as conn:
        return conn.scalar(
            select(_explanations.explanation).where(
                _explanations.patch_hash == digest,
                _explanations.summariser == summariser,
                _explanations.prompt_version == prompt_version,
            )
        )


def save_explanation(digest: str, summariser: str, prompt_version: str, text: str) -> None:
    with connection_scope() as conn:
        conn.execute(
            pg_insert(patch_explanations)
            .values(patch_hash=digest, summariser=summariser, prompt_version=prompt_version, explanation=text)
            .on_conflict_do_nothing()
        )


# --------------------------------------------------------------------------------- deep dives
def fresh_deep_dive(
    full_name: str, number: int, summariser: str, prompt_version: str, fresh_seconds: int
) -> str | None:
    """The newest deep dive of the item checked against GitHub within ``fresh_seconds``, or None."""
    with connection_scope() as conn:
        return conn.scalar(
            select(_dives.body)
            .where(
                _dives.repository_id == repository_id_for(full_name),
                _dives.number == number,
                _dives.summariser == summariser,
                _dives.prompt_version == prompt_version,
                _fresh(_dives.checked_at, fresh_seconds),
            )
            .order_by(_dives.item_updated_at.desc())
            .limit(1)
        )


def deep_dive_at(
    repository_id: int, number: int, updated_at: dt.datetime, summariser: str, prompt_version: str
) -> str | None:
    """The deep dive of this item version (its ``checked_at`` renewed: GitHub just showed the version)."""
    with connection_scope() as conn:
        body: str | None = conn.scalar(
            update(deep_dives)
            .where(
                _dives.repository_id == repository_id,
                _dives.number == number,
                _dives.item_updated_at == updated_at,
                _dives.summariser == summariser,
                _dives.prompt_version == prompt_version,
            )
            .values(checked_at=func.now())
            .returning(_dives.body)
        )
    return body


def save_deep_dive(
    repository_id: int,
    number: int,
    updated_at: dt.datetime,
    summariser: str,
    prompt_version: str,
    body: str,
) -> None:
    with connection_scope() as conn:
        conn.execute(
            pg_insert(deep_dives)
            .values(
                repository_id=repository_id,
                number=number,
                item_updated_at=updated_at,
                summariser=summariser,
                prompt_version=prompt_version,
                body=body,
            )
            .on_conflict_do_nothing()
        )


# --------------------------------------------------------------------------------- webhooks
def expire_repository(executor: Executor, repository_id: int) -> None:
    """GitHub said something changed in the repository (a webhook, in the delivery's own transaction):
    its stored patch sets and deep dives are no longer fresh, so the next request asks GitHub whether the
    head or the thread moved (one request; nothing is fetched or written again when it did not). Core
    statements (:mod:`oss_tldr.db.tables`), on the delivery's connection."""
    never = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for clause in (pr_patch_sets, deep_dives):
        executor.execute(
            update(clause)
            .where(clause.c.repository_id == repository_id, clause.c.checked_at > never)
            .values(checked_at=never)
        )
