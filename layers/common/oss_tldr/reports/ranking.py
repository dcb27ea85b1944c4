"""Which items and people a report shows.

* Bots are dropped: a login ending in ``[bot]`` or a user of type ``Bot``.
* An item's score is its engagement (comments + reactions) plus a bonus for an author who stands in the
  project (owner, member, collaborator); ties go to the most recently updated, then the highest number,
  so the order is deterministic.
* People are ranked by activity: how many of the window's (non-bot) items they authored, then by the
  engagement those items drew, then by login.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

TOP_ITEMS = 10
TOP_PEOPLE = 5
ITEMS_PER_PERSON = 5
STANDING_BONUS = {"OWNER": 5, "MEMBER": 5, "COLLABORATOR": 5}


def is_bot(user: dict[str, Any] | None) -> bool:
    if not user:
        return True  # a deleted ("ghost") account carries no user: nothing to attribute
    login = str(user.get("login") or "")
    return login.lower().endswith("[bot]") or user.get("type") == "Bot"


def reactions(item: dict[str, Any]) -> int:
    value = item.get("reactions")
    if isinstance(value, dict):
        return int(value.get("total_count") or 0)
    return int(value or 0)


def engagement(item: dict[str, Any]) -> int:
    return int(item.get("comments") or 0) + reactions(item)


def score(item: dict[str, Any]) -> int:
    return engagement(item) + STANDING_BONUS.get(str(item.get("author_association") or "").upper(), 0)


def _order(item: dict[str, Any]) -> tuple[int, str, int]:
    return (score(item), str(item.get("updated_at") or ""), int(item.get("number") or 0))


def without_bots(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if not is_bot(item.get("user"))]


def rank(items: Iterable[dict[str, Any]], limit: int = TOP_ITEMS) -> list[dict[str, Any]]:
    """The ``limit`` best items, best first."""
    return sorted(items, key=_order, reverse=True)[:limit]


@dataclass
class Contributor:
    login: str
    user: dict[str, Any]
    prs: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    total_items: int = 0  # all their items in the window, before ``prs``/``issues`` are cut
    engagement: int = 0


def top_contributors(
    prs: Sequence[dict[str, Any]],
    issues: Sequence[dict[str, Any]],
    limit: int = TOP_PEOPLE,
    items_per_person: int = ITEMS_PER_PERSON,
) -> list[Contributor]:
    """The ``limit`` most active authors, each with their best ``items_per_person`` PRs and issues."""
    people: dict[str, Contributor] = {}
    for kind, items in (("prs", prs), ("issues", issues)):
        for item in items:
            user = item.get("user") or {}
            login = str(user.get("login") or "")
            if not login or is_bot(user):
                continue
            person = people.setdefault(login.lower(), Contributor(login=login, user=user))
            getattr(person, kind).append(item)
            person.total_items += 1
            person.engagement += engagement(item)
    ranked = sorted(people.values(), key=lambda p: (-p.total_items, -p.engagement, p.login.lower()))[:limit]
    for person in ranked:
        person.prs = rank(person.prs, limit=items_per_person)
        person.issues = rank(person.issues, limit=items_per_person)
    return ranked
