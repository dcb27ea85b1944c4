"""The content of a report: its items (pull requests and issues), their authors and the people section.

Part of the dependency-free core (docs/architecture.md): the report generator (reports/content.py) builds
these and the importer (reports/imports.py) validates imported reports against them, so neither capability
has to import the other.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UserRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    login: str
    avatar_url: str | None = None
    profile_url: str | None = None


class Item(BaseModel):
    """A pull request or an issue, with its ≤50-word summary."""

    model_config = ConfigDict(extra="ignore")

    id: str
    number: int
    title: str
    state: str
    summary: str = ""
    html_url: str
    created_at: str
    updated_at: str
    comments: int = 0
    reactions: int = 0
    labels: list[str] = Field(default_factory=list)
    user: UserRef
    assignees: list[UserRef] = Field(default_factory=list)
    is_pull_request: bool = False
    merged: bool = False


def _every_property_required(schema: dict[str, Any]) -> None:
    schema["required"] = list(schema.get("properties", {}))


class ReportStats(BaseModel):
    """GitHub's own counts for a report's window, bots included (the lists leave bots out; these do not):
    pull requests and issues updated in the window, opened in it, and merged or closed inside it. A pull
    request merged years ago and touched in the window counts in ``pull_requests`` only."""

    # Every key is always served (a stored report without counts reads as zeros): required in the schema.
    model_config = ConfigDict(extra="ignore", json_schema_extra=_every_property_required)

    pull_requests: int = 0
    pull_requests_opened: int = 0
    pull_requests_merged: int = 0
    issues: int = 0
    issues_opened: int = 0
    issues_closed: int = 0


class Person(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str
    avatar_url: str | None = None
    profile_url: str | None = None
    tldr: str = ""
    prs: list[Item] = Field(default_factory=list)
    issues: list[Item] = Field(default_factory=list)
    total_items: int = 0
