"""The item-summary cache on real Postgres: keyed by item version and summariser, idempotent, prunable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from oss_tldr.db.models import ItemSummary
from oss_tldr.reports import item_cache

T1 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(hours=1)
WHO = {"summariser": "openai:gpt-fake", "prompt_version": "v1"}


def test_summaries_are_found_only_for_the_same_item_version_and_summariser(engine):
    assert item_cache.store_summaries("Octo/Hello", {(1, T1): "one", (2, T1): "two"}, **WHO) == 2
    assert item_cache.load_summaries("octo/hello", [(1, T1), (2, T2), (3, T1)], **WHO) == {(1, T1): "one"}
    assert (
        item_cache.load_summaries("octo/hello", [(1, T1)], summariser="extractive", prompt_version="v1") == {}
    )
    assert (
        item_cache.load_summaries("octo/hello", [(1, T1)], summariser=WHO["summariser"], prompt_version="v2")
        == {}
    )
    assert item_cache.load_summaries("octo/other", [(1, T1)], **WHO) == {}


def test_storing_the_same_summary_twice_keeps_one_row(engine, db):
    item_cache.store_summaries("octo/hello", {(1, T1): "one"}, **WHO)
    assert item_cache.store_summaries("octo/hello", {(1, T1): "again"}, **WHO) == 0
    assert db.scalar(select(func.count()).select_from(ItemSummary)) == 1
    assert item_cache.load_summaries("octo/hello", [(1, T1)], **WHO) == {(1, T1): "one"}


def test_nothing_to_load_or_store_touches_nothing(engine):
    assert item_cache.load_summaries("octo/hello", [], **WHO) == {}
    assert item_cache.store_summaries("octo/hello", {}, **WHO) == 0


def test_pruning_deletes_only_old_summaries(engine, db):
    item_cache.store_summaries("octo/hello", {(1, T1): "old", (2, T1): "new"}, **WHO)
    db.execute(
        update(ItemSummary)
        .where(ItemSummary.item_number == 1)
        .values(created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    )
    db.commit()
    assert item_cache.prune_summaries(dt.datetime(2025, 6, 1, tzinfo=dt.UTC)) == 1
    assert item_cache.load_summaries("octo/hello", [(1, T1), (2, T1)], **WHO) == {(2, T1): "new"}
