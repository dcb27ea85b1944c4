"""The contract's ``Repository`` shape, from a GitHub payload or from a ``repositories`` row.

``id`` is GitHub's repository id (what the SPA gets from search and keeps); ``stargazers_count`` is always
a number (the SPA crashes on a missing one). A GitHub payload is read only through
:class:`~oss_tldr.github.payloads.RepositoryPayload` (one parsing boundary): numbers clamped to the
columns, strings cleaned, ``html_url`` GitHub's own or rebuilt from the full name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row

from oss_tldr import urls
from oss_tldr.db.tables import repositories
from oss_tldr.github import payloads
from oss_tldr.github.payloads import RepositoryPayload
from oss_tldr.timestamps import parse_timestamp

_r = repositories.c
# What a stored repository is to the API: the ``repositories`` columns :func:`from_row` reads.
REPOSITORY_COLUMNS = (
    _r.id,
    _r.github_id,
    _r.name,
    _r.owner,
    _r.description,
    _r.html_url,
    _r.is_private,
    _r.is_fork,
    _r.is_archived,
    _r.language,
    _r.stargazers_count,
    _r.github_updated_at,
)


class RepositoryOut(BaseModel):
    id: int
    name: str
    full_name: str
    owner: str
    description: str | None = None
    html_url: str
    private: bool = False
    fork: bool = False
    archived: bool = False
    language: str | None = None
    stargazers_count: int = 0
    updated_at: str | None = None


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def from_github(payload: RepositoryPayload | Mapping[str, Any]) -> RepositoryOut:
    """The contract's shape of a GitHub repository payload (validated here if it is still a dict)."""
    repo = payloads.repository(payload)
    return RepositoryOut(
        id=repo.id,
        name=repo.name or repo.full_name.partition("/")[2],
        full_name=repo.full_name,
        owner=repo.owner_login,
        description=repo.description,
        html_url=repo.html_url or urls.repository_url(repo.full_name),
        private=repo.private,
        fork=repo.fork,
        archived=repo.archived,
        language=repo.language,
        stargazers_count=repo.stargazers_count,
        updated_at=repo.updated_at,
    )


def from_row(row: Row[*tuple[Any, ...]]) -> RepositoryOut:
    """The contract's shape of a row selected with :data:`REPOSITORY_COLUMNS`."""
    return RepositoryOut(
        id=row.github_id if row.github_id is not None else row.id,
        name=row.name,
        full_name=f"{row.owner}/{row.name}",
        owner=row.owner,
        description=row.description,
        html_url=row.html_url,
        private=row.is_private,
        fork=row.is_fork,
        archived=row.is_archived,
        language=row.language,
        stargazers_count=row.stargazers_count or 0,
        updated_at=_iso(row.github_updated_at),
    )


def row_values(payload: RepositoryPayload | Mapping[str, Any]) -> dict[str, Any]:
    """``repositories`` column values of a GitHub payload (``full_name`` lower-cased: the unique key;
    numbers already clamped to the columns by the payload model)."""
    out = from_github(payload)
    return {
        "full_name": out.full_name.lower(),
        "owner": out.owner[:255],
        "name": out.name[:255],
        "github_id": out.id or None,
        "description": out.description,
        "html_url": out.html_url[:512],
        "is_private": out.private,
        "is_fork": out.fork,
        "is_archived": out.archived,
        "language": (out.language or None) and out.language[:100],
        "stargazers_count": out.stargazers_count,
        "github_updated_at": parse_timestamp(out.updated_at),
    }
