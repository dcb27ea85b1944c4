"""The report capability's value types (what its persistence modules return and take) and the cache key.

The cache is made of **shared** rows only (``owner_user_id IS NULL``): every lookup by cache key, the hit,
the generation's upsert and the admin listing see nothing else. A row with an owner is a user's own
imported copy (``oss_tldr.reports.imports``), reachable only by id and only by its owner. Which row of a
key is meant — the shared one or one user's own — is said once, by :func:`report_key_where`.

The hit paths import this module, so it loads no ORM (cold start, docs/performance.md): the name lookup is
Core (:mod:`oss_tldr.db.tables`, a self-contained subquery an ORM statement embeds as well), and the
predicates on the report models' columns, which only the ORM statements of the miss paths use, import the
models when they are built.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, select

from oss_tldr.content_models import ReportStats
from oss_tldr.db.tables import repositories, repository_aliases

if TYPE_CHECKING:
    from oss_tldr.db.models import ReportGeneration, ReportJob

SECTIONS = ("prs", "issues", "people", "tldr")
REPORT_VERSION = 2  # the shape version of the stored JSON (1 = the SPA's localStorage reports)


def repository_id_for(full_name: Any) -> ScalarSelect[Any]:
    """The ``repositories.id`` a name leads to: the row's current name, else a name it had before a rename
    or transfer (``repository_aliases``). The one rule of every lookup by name (the cache hit spells it in
    its SQL: :mod:`oss_tldr.reports.hit`). ``full_name``: a name, or a column of lower-case names."""
    key = full_name.lower() if isinstance(full_name, str) else full_name
    # Each lookup reads its own table, correlated to nothing else but the column it is given: without
    # correlate_except, a column's table (report_jobs) would join each lookup as a FROM of its own (one row
    # per job: "more than one row returned by a subquery" once there are two jobs).
    by_name = select(repositories.c.id).where(repositories.c.full_name == key).correlate_except(repositories)
    by_alias = (
        select(repository_aliases.c.repository_id)
        .where(repository_aliases.c.full_name == key)
        .correlate_except(repository_aliases)
    )
    return select(func.coalesce(by_name.scalar_subquery(), by_alias.scalar_subquery())).scalar_subquery()


def report_key_where(
    repository_id: Any, timeframe: str, start: dt.datetime, end: dt.datetime, *, owner_user_id: int | None
) -> ColumnElement[bool]:
    """The one predicate of "the report row of a key": the shared row (``owner_user_id`` None) or one
    user's own imported copy. ``repository_id`` is an id or a scalar subquery of one."""
    from oss_tldr.db.models import Report  # cold start: ORM statements only (the module docstring)

    owner = Report.owner_user_id.is_(None) if owner_user_id is None else Report.owner_user_id == owner_user_id
    return and_(
        Report.repository_id == repository_id,
        Report.timeframe == timeframe,
        Report.timeframe_start == start,
        Report.timeframe_end == end,
        owner,
    )


@dataclass(frozen=True)
class CacheKey:
    """``(repository, timeframe, window start, window end)``; the repository by its lower-case name,
    which every request knows before anyone has looked the repository up on GitHub."""

    repo: str
    timeframe: str
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "repo", self.repo.lower())

    def columns(self) -> dict[str, Any]:
        """The key as the columns of the rows that carry it (a lease, a job: the same four names)."""
        return {
            "repo": self.repo,
            "timeframe": self.timeframe,
            "timeframe_start": self.start,
            "timeframe_end": self.end,
        }

    def lease_where(self) -> ColumnElement[bool]:
        from oss_tldr.db.models import ReportGeneration  # cold start: ORM statements only (module docstring)

        return self._where(ReportGeneration)

    def job_where(self) -> ColumnElement[bool]:
        """The jobs of the key (every generation it ever had)."""
        from oss_tldr.db.models import ReportJob  # cold start: ORM statements only (module docstring)

        return self._where(ReportJob)

    def _where(self, model: type[ReportGeneration] | type[ReportJob]) -> ColumnElement[bool]:
        return and_(
            model.repo == self.repo,
            model.timeframe == self.timeframe,
            model.timeframe_start == self.start,
            model.timeframe_end == self.end,
        )

    def report_where(self) -> ColumnElement[bool]:
        """The key's shared row: an imported copy is never the cache."""
        repository_id = repository_id_for(self.repo)
        return report_key_where(repository_id, self.timeframe, self.start, self.end, owner_user_id=None)


@dataclass(frozen=True)
class ReportSlot:
    """Where a report row goes: its repository (by id, once looked up), window, and owner (None for the
    shared cache row). What :func:`oss_tldr.reports.records.write_report` writes into."""

    repository_id: int
    timeframe: str
    start: dt.datetime
    end: dt.datetime
    owner_user_id: int | None = None

    def where(self) -> ColumnElement[bool]:
        return report_key_where(
            self.repository_id, self.timeframe, self.start, self.end, owner_user_id=self.owner_user_id
        )

    def shared(self) -> ReportSlot:
        return ReportSlot(self.repository_id, self.timeframe, self.start, self.end)


@dataclass(frozen=True)
class Fingerprint:
    """What wrote a report's summaries; a report written by anything else is a miss."""

    summariser: str
    prompt_version: str


class ReportPayload(Protocol):
    """What a report row holds (``oss_tldr.reports.content.ReportContent`` satisfies it, and so does an
    imported report)."""

    @property
    def tldr(self) -> str: ...
    @property
    def prs(self) -> Sequence[Any]: ...
    @property
    def issues(self) -> Sequence[Any]: ...
    @property
    def people(self) -> Sequence[Any]: ...
    @property
    def summariser(self) -> str: ...
    @property
    def prompt_version(self) -> str | None: ...
    @property
    def stats(self) -> ReportStats: ...
    @property
    def partial(self) -> bool: ...
    @property
    def fallbacks(self) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class SectionHit:
    report_id: int
    repository_id: int
    is_private: bool
    access_ok: bool  # a remembered positive access check of this user (only meaningful when private)
    session_ok: bool  # the caller's session is live (always true when no session was checked)
    data: str  # JSON text of the section's array, or the TL;DR text
    generated_at: dt.datetime
    expires_at: dt.datetime | None
    stats: str  # JSON text of the window's counts (content_models.ReportStats)
    partial: bool
    stale: bool = False  # served past its expiry (stale-while-revalidate)
    refreshing: bool = False  # stale, and a live lease of the current key says its refresh runs


@dataclass(frozen=True)
class StoredReport:
    id: int
    repository_id: int
    repo: str
    is_private: bool
    timeframe: str
    timeframe_start: dt.datetime
    timeframe_end: dt.datetime
    tldr: str
    prs: list[Any]
    issues: list[Any]
    people: list[Any]
    generated_at: dt.datetime
    expires_at: dt.datetime | None
    version: int
    stats: dict[str, int] = field(default_factory=dict)  # content_models.ReportStats, every key
    partial: bool = False
    owner_user_id: int | None = None  # set: one user's own imported copy, served to that user only
    # The viewer asked about by ``load_report(viewer=)`` has a record of seeing this report: an access row
    # of it, or a remembered positive access check of its repository.
    viewer_seen: bool = False

    def section(self, name: str) -> Any:
        return self.tldr if name == "tldr" else getattr(self, name)

    @property
    def expired(self) -> bool:
        """Past its expiry (read by id, it is served marked ``stale``)."""
        return self.expires_at is not None and self.expires_at <= dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class JobFailure:
    detail: str
    code: str
    status: int
    retry_after: int | None


@dataclass(frozen=True)
class PollState:
    report_id: int | None  # a usable report for the key (or the one the followed job produced)
    lease_job: uuid.UUID | None
    lease_stale: bool
    followed_failure: JobFailure | None  # the followed job failed
    followed_gone: bool = False  # the followed job no longer exists (its generator was refused: 401/403/404)


@dataclass(frozen=True)
class JobView:
    id: uuid.UUID
    status: str
    progress: int
    report_id: int | None
    error: str | None
    repo: str


@dataclass(frozen=True)
class Visibility:
    """What the database knows of a repository for one user, before anything is asked of GitHub."""

    is_private: bool
    access_ok: bool  # a remembered positive access check of this user


@dataclass(frozen=True)
class SummaryRow:
    id: int
    repo: str
    timeframe: str
    timeframe_start: dt.datetime
    timeframe_end: dt.datetime
    generated_at: dt.datetime
    expires_at: dt.datetime | None
    accessed_at: dt.datetime | None
    pr_count: int
    issue_count: int
    people_count: int


Keyset = tuple[dt.datetime, int]  # a listing's position: (moment, row id) of the last row of a page
