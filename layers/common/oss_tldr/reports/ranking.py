"""Which items and people a report shows: ranked by what happened *inside* the window.

* Bots are left out of the lists and of people (a GraphQL ``Bot`` author, or a login ending in ``[bot]``);
  they stay in the window's ``stats``. A deleted account is GitHub's ``ghost`` and is kept.
* An item's activity in the window is its comments, reviews and other timeline events since the window's
  start, plus one for being opened in it. The order is that activity, then the author's standing in the
  project (owner, member, collaborator), then the lifetime comments and reactions, then the most recently
  updated, then the highest number: lifetime totals only break ties, so an item with no activity in the
  window never outranks one with real activity, however long its old thread.
* People are ranked by how many of the window's (non-bot) items they authored, then by the activity those
  items drew in the window, then by login.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from oss_tldr.github.activity_payloads import ActivityItem, Author
from oss_tldr.windows import Window

TOP_ITEMS = 10
TOP_PEOPLE = 5
ITEMS_PER_PERSON = 5
STANDING = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


def is_bot(author: Author) -> bool:
    return author.is_bot or author.login.lower().endswith("[bot]")


def activity_in(item: ActivityItem, window: Window) -> int:
    """Comments, reviews and events inside the window, and one for being opened in it."""
    opened = 1 if window.start <= item.created_at < window.end else 0
    return item.window_activity + opened


def merged_in(item: ActivityItem, window: Window) -> bool:
    return item.merged_at is not None and window.start <= item.merged_at < window.end


_Key = tuple[int, int, int, dt.datetime, int]


def _order(window: Window) -> Callable[[ActivityItem], _Key]:
    def key(item: ActivityItem) -> _Key:
        return (
            activity_in(item, window),
            1 if item.association in STANDING else 0,
            item.comments + item.reactions,
            item.updated_at,
            item.number,
        )

    return key


def without_bots(items: Iterable[ActivityItem]) -> list[ActivityItem]:
    return [item for item in items if not is_bot(item.author)]


def rank(items: Iterable[ActivityItem], window: Window, limit: int = TOP_ITEMS) -> list[ActivityItem]:
    """The ``limit`` most active items of the window, most active first."""
    return sorted(items, key=_order(window), reverse=True)[:limit]


@dataclass
class Contributor:
    login: str
    author: Author
    prs: list[ActivityItem] = field(default_factory=list)
    issues: list[ActivityItem] = field(default_factory=list)
    total_items: int = 0  # all their items in the window, before ``prs``/``issues`` are cut
    activity: int = 0


def top_contributors(
    prs: Sequence[ActivityItem],
    issues: Sequence[ActivityItem],
    window: Window,
    limit: int = TOP_PEOPLE,
    items_per_person: int = ITEMS_PER_PERSON,
) -> list[Contributor]:
    """The ``limit`` most active authors, each with their most active ``items_per_person`` PRs and issues."""
    people: dict[str, Contributor] = {}
    for kind, items in (("prs", prs), ("issues", issues)):
        for item in items:
            if is_bot(item.author):
                continue
            login = item.author.login
            person = people.setdefault(login.lower(), Contributor(login=login, author=item.author))
            getattr(person, kind).append(item)
            person.total_items += 1
            person.activity += activity_in(item, window)
    ranked = sorted(people.values(), key=lambda p: (-p.total_items, -p.activity, p.login.lower()))[:limit]
    for person in ranked:
        person.prs = rank(person.prs, window, limit=items_per_person)
        person.issues = rank(person.issues, window, limit=items_per_person)
    return ranked
