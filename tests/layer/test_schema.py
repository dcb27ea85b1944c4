"""The core schema on a real PostgreSQL: keys, uniqueness, cascades and triggers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from oss_tldr.db.models import Report, Repository, User, UserReportAccess, UserRepository

NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def _user(db, uid=1, login="octocat"):
    db.execute(insert(User).values(id=uid, login=login))
    return uid


def _repo(db, full_name="octo/hello"):
    owner, name = full_name.split("/")
    return db.execute(
        insert(Repository)
        .values(full_name=full_name, owner=owner, name=name, html_url=f"https://github.com/{full_name}")
        .returning(Repository.id)
    ).scalar_one()


def _report(db, repo_id, start=NOW - dt.timedelta(days=7), end=NOW):
    return db.execute(
        insert(Report)
        .values(repository_id=repo_id, timeframe="last_week", timeframe_start=start, timeframe_end=end)
        .returning(Report.id)
    ).scalar_one()


def test_tracking_a_repository_twice_keeps_one_row(db):
    uid, rid = _user(db), _repo(db)
    for _ in range(2):
        db.execute(pg_insert(UserRepository).values(user_id=uid, repository_id=rid).on_conflict_do_nothing())
    db.commit()
    assert db.scalar(select(func.count()).select_from(UserRepository)) == 1


def test_duplicate_tracking_row_is_refused_by_the_constraint(db):
    uid, rid = _user(db), _repo(db)
    db.execute(insert(UserRepository).values(user_id=uid, repository_id=rid))
    with pytest.raises(IntegrityError, match="uq_user_repositories_user_id_repository_id"):
        db.execute(insert(UserRepository).values(user_id=uid, repository_id=rid))


def test_second_report_with_same_cache_key_is_refused(db):
    rid = _repo(db)
    _report(db, rid)
    with pytest.raises(IntegrityError, match="uq_reports_repository_id_timeframe"):
        _report(db, rid)


def test_report_for_another_window_is_a_separate_row(db):
    rid = _repo(db)
    _report(db, rid)
    _report(db, rid, start=NOW - dt.timedelta(days=6), end=NOW + dt.timedelta(days=1))
    assert db.scalar(select(func.count()).select_from(Report)) == 2


def test_repository_full_name_is_unique(db):
    _repo(db)
    with pytest.raises(IntegrityError):
        _repo(db)


def test_unknown_timeframe_is_refused(db):
    rid = _repo(db)
    with pytest.raises(IntegrityError, match="timeframe_known"):
        db.execute(
            insert(Report).values(
                repository_id=rid, timeframe="last_decade", timeframe_start=NOW, timeframe_end=NOW
            )
        )


def test_report_sections_default_to_empty_arrays(db):
    report_id = _report(db, _repo(db))
    row = db.get(Report, report_id)
    assert (row.prs, row.issues, row.people) == ([], [], [])


def test_deleting_a_user_cascades_to_tracking_and_access(db):
    uid, rid = _user(db), _repo(db)
    report_id = _report(db, rid)
    db.execute(insert(UserRepository).values(user_id=uid, repository_id=rid))
    db.execute(insert(UserReportAccess).values(user_id=uid, report_id=report_id))
    db.commit()
    db.execute(text("DELETE FROM users WHERE id = :id"), {"id": uid})
    db.commit()
    assert db.scalar(select(func.count()).select_from(UserRepository)) == 0
    assert db.scalar(select(func.count()).select_from(UserReportAccess)) == 0
    assert db.scalar(select(func.count()).select_from(Report)) == 1  # shared reports stay


def test_deleting_a_repository_cascades_to_reports_tracking_and_access(db):
    uid, rid = _user(db), _repo(db)
    report_id = _report(db, rid)
    db.execute(insert(UserRepository).values(user_id=uid, repository_id=rid))
    db.execute(insert(UserReportAccess).values(user_id=uid, report_id=report_id))
    db.commit()
    db.execute(text("DELETE FROM repositories WHERE id = :id"), {"id": rid})
    db.commit()
    for model in (Report, UserRepository, UserReportAccess):
        assert db.scalar(select(func.count()).select_from(model)) == 0
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_updated_at_trigger_moves_forward_on_update(db):
    uid = _user(db)
    db.commit()
    before = db.scalar(select(User.updated_at).where(User.id == uid))
    db.execute(text("SELECT pg_sleep(0.01)"))
    db.execute(update(User).where(User.id == uid).values(name="The Octocat"))
    db.commit()
    after = db.scalar(select(User.updated_at).where(User.id == uid))
    assert after > before


def test_own_copies_and_the_shared_report_of_one_key_are_separate_rows(db):
    """0005: a user's own (imported) copy never collides with the shared row of its key; one copy per user."""
    rid, alice, bob = _repo(db), _user(db, 1, "alice"), _user(db, 2, "bob")
    key = {"repository_id": rid, "timeframe": "last_week", "timeframe_start": NOW, "timeframe_end": NOW}
    for owner in (None, alice, bob):
        db.execute(insert(Report).values(owner_user_id=owner, **key))
    with pytest.raises(IntegrityError, match="uq_reports_owner_user_id_repository_id_timeframe"):
        db.execute(insert(Report).values(owner_user_id=alice, **key))
    db.rollback()


def test_deleting_a_user_deletes_their_own_reports_and_keeps_shared_ones(db):
    rid, uid = _repo(db), _user(db)
    shared = _report(db, rid)
    db.execute(
        insert(Report).values(
            repository_id=rid,
            timeframe="last_week",
            timeframe_start=NOW,
            timeframe_end=NOW,
            owner_user_id=uid,
        )
    )
    db.commit()
    db.execute(text("DELETE FROM users WHERE id = :id"), {"id": uid})
    db.commit()
    assert db.scalars(select(Report.id)).all() == [shared]
