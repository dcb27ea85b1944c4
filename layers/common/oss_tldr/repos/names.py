"""How a name leads to a repository: the row's current name, else a name it had before a rename or transfer
(``repository_aliases``; :mod:`oss_tldr.repos.store` writes both).

Core, on :mod:`oss_tldr.db.tables`: a hit path that finds a repository by name (a webhook delivery) loads
no ORM for it; the ORM statements of the other paths embed the same subquery.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ScalarSelect, func, select

from oss_tldr.db.tables import repositories, repository_aliases


def repository_id_for(full_name: Any) -> ScalarSelect[Any]:
    """The ``repositories.id`` a name leads to: the row's current name, else a name it had before a rename
    or transfer. The one rule of every lookup by name (the cache hit spells it in its SQL:
    :mod:`oss_tldr.reports.hit`). ``full_name``: a name, or a column of lower-case names."""
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
