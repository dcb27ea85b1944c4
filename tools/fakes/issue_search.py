"""GitHub's issue-search query language, as the fakes understand it: one parser for REST and GraphQL search.

``GET /search/issues`` (github_activity.py) and GraphQL ``search(type: ISSUE)`` (github_graphql.py) both
read their ``q``/``query`` string here. Qualifiers: ``repo:owner/name`` (repeatable), ``is:pr`` and
``is:issue`` (``type:`` too), ``is:open``/``is:closed``/``is:merged``/``is:unmerged``, ``author:login``,
``updated:``/``created:``/``closed:``/``merged:`` with ``A..B`` (``*`` for an open end), ``>=``, ``>``,
``<=``, ``<`` or a bare day, dates or full ISO timestamps; ``sort:<key>-<asc|desc>`` (GraphQL has no sort
argument; REST passes ``sort``/``order`` as parameters instead). Other words are ignored.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TimeTest = Callable[[dt.datetime], bool]

# The orders GitHub's issue search offers, by item (REST search-result shape).
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "comments": lambda i: i["comments"],
    "reactions": lambda i: i["reactions"]["total_count"],
    "interactions": lambda i: i["comments"] + i["reactions"]["total_count"],
    "created": lambda i: i["created_at"],
    "updated": lambda i: i["updated_at"],
}
# What GitHub says for a ``repo:`` that does not exist or that the token cannot see (REST and GraphQL).
CANNOT_SEARCH = (
    "The listed users and repositories cannot be searched either because the resources do not exist or "
    "you do not have permission to view them."
)
_RANGE = re.compile(r"^(?P<op>>=|<=|>|<)?(?P<a>[^.]+?)(?:\.\.(?P<b>.+))?$")


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> dt.datetime:
    value = value.strip()
    if "T" not in value:
        value += "T00:00:00Z"
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def time_filter(spec: str) -> TimeTest:
    match = _RANGE.match(spec)
    if not match:
        raise ValueError(spec)
    op, a, b = match["op"], match["a"], match["b"]
    if b is not None:
        low = None if a == "*" else parse_time(a)
        high = None if b == "*" else parse_time(b)
        return lambda t: (low is None or t >= low) and (high is None or t <= high)
    moment = parse_time(a)
    tests: dict[str | None, TimeTest] = {
        ">=": lambda t: t >= moment,
        ">": lambda t: t > moment,
        "<=": lambda t: t <= moment,
        "<": lambda t: t < moment,
        None: lambda t: t.date() == moment.date(),
    }
    return tests[op]


def merged_at(item: dict[str, Any]) -> str | None:
    return (item.get("pull_request") or {}).get("merged_at")


@dataclass
class IssueQuery:
    repos: list[str] = field(default_factory=list)  # as written, in order
    kind: str | None = None  # "pr" | "issue"
    states: list[str] = field(default_factory=list)  # open, closed, merged, unmerged
    authors: list[str] = field(default_factory=list)
    times: list[tuple[str, TimeTest]] = field(default_factory=list)  # (item field, test)
    sort: str | None = None  # a SORT_KEYS key
    descending: bool = True

    def matches(self, item: dict[str, Any]) -> bool:
        if self.kind is not None and ("pull_request" in item) != (self.kind == "pr"):
            return False
        if self.authors and (item.get("user") or {}).get("login") not in self.authors:
            return False
        for state in self.states:
            if state in {"open", "closed"} and item.get("state") != state:
                return False
            if state in {"merged", "unmerged"} and (
                "pull_request" not in item or bool(merged_at(item)) != (state == "merged")
            ):
                return False
        for name, test in self.times:
            raw = merged_at(item) if name == "merged_at" else item.get(name)
            if raw is None or not test(parse_time(raw)):
                return False
        return True

    def select(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The matching items, in the query's order (insertion order without ``sort:``)."""
        return order([item for item in items if self.matches(item)], self.sort, self.descending)


def order(items: list[dict[str, Any]], sort: str | None, descending: bool = True) -> list[dict[str, Any]]:
    if sort in SORT_KEYS:
        items = sorted(items, key=SORT_KEYS[sort], reverse=descending)
    return items


def parse_query(q: str) -> IssueQuery:
    """The qualifiers of ``q``; ``ValueError`` for one GitHub would reject (a malformed date range)."""
    query = IssueQuery()
    for token in shlex.split(q):
        key, _, value = token.partition(":")
        if key == "repo":
            query.repos.append(value)
        elif key in {"is", "type"} and value in {"pr", "issue"}:
            query.kind = value
        elif key == "is" and value in {"open", "closed", "merged", "unmerged"}:
            query.states.append(value)
        elif key == "author" and value:
            query.authors.append(value)
        elif key in {"updated", "created", "closed", "merged"}:
            query.times.append((f"{key}_at", time_filter(value)))
        elif key == "sort":
            name, _, direction = value.partition("-")
            query.sort, query.descending = name, direction != "asc"
    return query
