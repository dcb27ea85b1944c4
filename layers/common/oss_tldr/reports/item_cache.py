"""Data access for cached item summaries (``item_summaries``). Each call is one short transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import and_, delete, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import ItemSummary, Report, Repository
from oss_tldr.text import pg_text

ItemVersion = tuple[int, dt.datetime]  # (item number, GitHub updated_at)


def load_summaries(
    repository: str, versions: Iterable[ItemVersion], *, summariser: str, prompt_version: str
) -> dict[ItemVersion, str]:
    """The cached summaries of these item versions written by this summariser and prompt version."""
    keys = list(dict.fromkeys(versions))
    if not keys:
        return {}
    with session_scope() as session:
        rows = session.execute(
            select(ItemSummary.item_number, ItemSummary.item_updated_at, ItemSummary.summary).where(
                ItemSummary.repository == repository.lower(),
                ItemSummary.summariser == summariser,
                ItemSummary.prompt_version == prompt_version,
                tuple_(ItemSummary.item_number, ItemSummary.item_updated_at).in_(keys),
            )
        ).all()
    return {(number, updated_at): summary for number, updated_at, summary in rows}


def store_summaries(
    repository: str, summaries: Mapping[ItemVersion, str], *, summariser: str, prompt_version: str
) -> int:
    """Insert new summaries (a concurrent writer's identical row wins silently). Returns rows inserted.
    A summary is the model's answer: cleaned of what Postgres cannot store (NUL, lone surrogates)."""
    if not summaries:
        return 0
    rows = [
        {
            "repository": repository.lower(),
            "item_number": number,
            "item_updated_at": updated_at,
            "summariser": summariser,
            "prompt_version": prompt_version,
            "summary": pg_text(summary),
        }
        for (number, updated_at), summary in summaries.items()
    ]
    with session_scope() as session:
        result = session.execute(
            insert(ItemSummary).values(rows).on_conflict_do_nothing().returning(ItemSummary.id)
        )
        return len(result.all())


def prune_summaries(older_than: dt.datetime, *, limit: int | None = None) -> int:
    """Delete summaries written before ``older_than`` that no stored report uses (no report of the
    repository lists the item among its pull requests or issues: the next window of such a report would
    reuse the summary). With ``limit``, at most that many, oldest first, skipping rows another transaction
    holds (``SKIP LOCKED``: overlapping cleanups never wait for each other). Returns rows deleted."""
    item = func.jsonb_build_array(func.jsonb_build_object("number", ItemSummary.item_number))
    in_use = (
        select(Report.id)
        .join(Repository, Repository.id == Report.repository_id)
        .where(
            Repository.full_name == ItemSummary.repository,
            or_(Report.prs.contains(item), Report.issues.contains(item)),
        )
        .exists()
    )
    unused = [ItemSummary.created_at < older_than, ~in_use]
    if limit is None:
        condition = and_(*unused)
    else:
        batch = (
            select(ItemSummary.id)
            .where(*unused)
            .order_by(ItemSummary.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        condition = ItemSummary.id.in_(batch)
    with session_scope() as session:
        result = session.execute(
            delete(ItemSummary)
            .where(condition)
            .returning(ItemSummary.id)
            .execution_options(synchronize_session=False)
        )
        return len(result.all())
