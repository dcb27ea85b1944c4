"""The scheduled cleanup on the deep dive's tables: what nobody asked GitHub about for 30 days goes (a patch
set with its patches), lapsed claims and past days' quota counts go, everything live stays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select

from oss_tldr.db.models import (
    DeepDive,
    DeepDiveClaim,
    DeepDiveUsage,
    FilePatch,
    PatchExplanation,
    PatchSet,
    Repository,
    User,
)
from oss_tldr.maintenance import cleanup

D = dt.timedelta(days=1)


def test_deep_dive_rows_past_their_age_go_and_the_live_ones_stay(engine, db):
    now = db.scalar(select(func.now()))
    today = now.astimezone(dt.UTC).date()
    db.execute(insert(User).values(id=1, login="alice"))
    repository = db.scalar(
        insert(Repository)
        .values(full_name="octo/hello", owner="octo", name="hello", html_url="https://github.com/octo/hello")
        .returning(Repository.id)
    )
    sets = db.scalars(
        insert(PatchSet).returning(PatchSet.id),
        [
            {
                "repository_id": repository,
                "number": 1,
                "head_sha": "a" * 40,
                "files_total": 1,
                "checked_at": now - 31 * D,
            },
            {
                "repository_id": repository,
                "number": 1,
                "head_sha": "b" * 40,
                "files_total": 1,
                "checked_at": now - 29 * D,
            },
        ],
    ).all()
    db.execute(
        insert(FilePatch),
        [
            {
                "patch_set_id": s,
                "position": 0,
                "file": "a.py",
                "status": "modified",
                "patch": "x",
                "patch_hash": "h",
            }
            for s in sets
        ],
    )
    db.execute(
        insert(PatchExplanation),
        [
            {
                "patch_hash": "old",
                "summariser": "s",
                "prompt_version": "v",
                "explanation": "e",
                "created_at": now - 31 * D,
            },
            {
                "patch_hash": "new",
                "summariser": "s",
                "prompt_version": "v",
                "explanation": "e",
                "created_at": now - D,
            },
        ],
    )
    common = {"repository_id": repository, "summariser": "s", "prompt_version": "v", "body": "b"}
    db.execute(
        insert(DeepDive),
        [
            {**common, "number": 1, "item_updated_at": now - 40 * D, "checked_at": now - 31 * D},
            {**common, "number": 1, "item_updated_at": now - 2 * D, "checked_at": now - D},
        ],
    )
    db.execute(
        insert(DeepDiveClaim),
        [
            {"key": "lapsed", "lease_expires_at": now - dt.timedelta(hours=1)},
            {"key": "held", "lease_expires_at": now + dt.timedelta(seconds=30)},
        ],
    )
    db.execute(
        insert(DeepDiveUsage),
        [{"user_id": 1, "day": today - n * D, "kind": "diff", "count": 3} for n in (0, 1, 2)],
    )
    db.commit()

    result = cleanup.run_cleanup()

    assert result.complete is True
    assert {k: result.deleted[k] for k in cleanup.TABLES[-5:]} == {
        "pr_patch_sets": 1,
        "patch_explanations": 1,
        "deep_dives": 1,
        "deep_dive_claims": 1,
        "deep_dive_usage": 1,
    }
    assert db.scalars(select(PatchSet.head_sha)).all() == ["b" * 40]
    assert db.scalars(select(FilePatch.patch_set_id)).all() == [sets[1]]  # the old set's patches went with it
    assert db.scalars(select(PatchExplanation.patch_hash)).all() == ["new"]
    assert db.scalar(select(func.count()).select_from(DeepDive)) == 1
    assert db.scalars(select(DeepDiveClaim.key)).all() == ["held"]
    assert sorted(db.scalars(select(DeepDiveUsage.day)).all()) == [today - D, today]
