"""The one writer (and reader) of the deep-dive tables: patch sets and their patches, explanations, deep
dives. One short transaction per function; none is open across a GitHub or OpenAI call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import DeepDive, FilePatch, PatchExplanation, PatchSet, Repository
from oss_tldr.db.tables import deep_dives, pr_patch_sets
from oss_tldr.deepdive.models import NO_PATCH, Patch, PatchSource, patch_hash
from oss_tldr.reports.access import remembered
from oss_tldr.repos.names import repository_id_for

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor

MAX_SOURCES = 20  # repositories checked for one patch text (the same patch in many forks)


def _fresh(column: InstrumentedAttribute[dt.datetime], seconds: int) -> ColumnElement[bool]:
    return column >= func.now() - dt.timedelta(seconds=seconds)


def _patches(session: Session, patch_set_id: int) -> list[Patch]:
    rows = session.execute(
        select(FilePatch.file, FilePatch.patch)
        .where(FilePatch.patch_set_id == patch_set_id)
        .order_by(FilePatch.position)
    )
    return [Patch(file=row.file, patch=row.patch if row.patch is not None else NO_PATCH) for row in rows]


# --------------------------------------------------------------------------------- patch sets
def fresh_patch_set(full_name: str, number: int, fresh_seconds: int) -> list[Patch] | None:
    """The newest patch set of the pull request checked against GitHub within ``fresh_seconds``, or None."""
    with session_scope() as session:
        found = session.scalar(
            select(PatchSet.id)
            .where(
                PatchSet.repository_id == repository_id_for(full_name),
                PatchSet.number == number,
                _fresh(PatchSet.checked_at, fresh_seconds),
            )
            .order_by(PatchSet.checked_at.desc())
            .limit(1)
        )
        return None if found is None else _patches(session, found)


def patch_set_at(repository_id: int, number: int, head_sha: str) -> list[Patch] | None:
    """The stored patch set of this head commit (its ``checked_at`` renewed: GitHub just confirmed it)."""
    with session_scope() as session:
        found = session.scalar(
            update(PatchSet)
            .where(
                PatchSet.repository_id == repository_id,
                PatchSet.number == number,
                PatchSet.head_sha == head_sha,
            )
            .values(checked_at=func.now())
            .returning(PatchSet.id)
        )
        return None if found is None else _patches(session, found)


def save_patch_set(
    repository_id: int,
    number: int,
    head_sha: str,
    files_total: int,
    files: Sequence[tuple[str, str, int, int, str | None]],
) -> list[Patch]:
    """Store the files ``(file, status, additions, deletions, patch)`` of a head commit; a set stored
    meanwhile by a concurrent request wins (``ON CONFLICT DO NOTHING``) and is returned instead."""
    with session_scope() as session:
        created = session.scalar(
            pg_insert(PatchSet)
            .values(repository_id=repository_id, number=number, head_sha=head_sha, files_total=files_total)
            .on_conflict_do_nothing(index_elements=["repository_id", "number", "head_sha"])
            .returning(PatchSet.id)
        )
        if created is not None and files:
            session.execute(
                pg_insert(FilePatch),
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
    with session_scope() as session:
        rows = session.execute(
            select(
                FilePatch.file,
                Repository.id,
                Repository.full_name,
                Repository.owner,
                Repository.name,
                Repository.is_private,
                remembered(user_id, Repository.id).label("access_ok"),
            )
            .join(PatchSet, PatchSet.id == FilePatch.patch_set_id)
            .join(Repository, Repository.id == PatchSet.repository_id)
            .where(FilePatch.patch_hash == digest)
            .order_by(Repository.is_private, PatchSet.checked_at.desc())
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
    with session_scope() as session:
        return session.scalar(
            select(PatchExplanation.explanation).where(
                PatchExplanation.patch_hash == digest,
                PatchExplanation.summariser == summariser,
                PatchExplanation.prompt_version == prompt_version,
            )
        )


def save_explanation(digest: str, summariser: str, prompt_version: str, text: str) -> None:
    with session_scope() as session:
        session.execute(
            pg_insert(PatchExplanation)
            .values(patch_hash=digest, summariser=summariser, prompt_version=prompt_version, explanation=text)
            .on_conflict_do_nothing()
        )


# --------------------------------------------------------------------------------- deep dives
def fresh_deep_dive(
    full_name: str, number: int, summariser: str, prompt_version: str, fresh_seconds: int
) -> str | None:
    """The newest deep dive of the item checked against GitHub within ``fresh_seconds``, or None."""
    with session_scope() as session:
        return session.scalar(
            select(DeepDive.body)
            .where(
                DeepDive.repository_id == repository_id_for(full_name),
                DeepDive.number == number,
                DeepDive.summariser == summariser,
                DeepDive.prompt_version == prompt_version,
                _fresh(DeepDive.checked_at, fresh_seconds),
            )
            .order_by(DeepDive.item_updated_at.desc())
            .limit(1)
        )


def deep_dive_at(
    repository_id: int, number: int, updated_at: dt.datetime, summariser: str, prompt_version: str
) -> str | None:
    """The deep dive of this item version (its ``checked_at`` renewed: GitHub just showed the version)."""
    with session_scope() as session:
        return session.scalar(
            update(DeepDive)
            .where(
                DeepDive.repository_id == repository_id,
                DeepDive.number == number,
                DeepDive.item_updated_at == updated_at,
                DeepDive.summariser == summariser,
                DeepDive.prompt_version == prompt_version,
            )
            .values(checked_at=func.now())
            .returning(DeepDive.body)
        )


def save_deep_dive(
    repository_id: int,
    number: int,
    updated_at: dt.datetime,
    summariser: str,
    prompt_version: str,
    body: str,
) -> None:
    with session_scope() as session:
        session.execute(
            pg_insert(DeepDive)
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
