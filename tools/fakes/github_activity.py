"""GitHub issue search on the fake GitHub, and realistic seeded activity.

``GET /search/issues`` serves ``FakeRepo.items`` (the search-result shape of issues and pull requests)
understanding the qualifiers of tools/fakes/issue_search.py (``repo:``, ``is:``, ``updated:``, ``created:``,
``closed:``, ``merged:``, ...) with the ``sort`` (comments, reactions, interactions, created, updated),
``order``, ``per_page`` (≤ 100) and ``page`` parameters. A private repository the token cannot see
answers 422, as GitHub does. GraphQL ``search`` (github_graphql.py) serves the same items.

    seed_activity(fake, "octo/hello", now=NOW, prs=15, issues=12, bots=3, seed=7)
    add_item(fake, "octo/hello", kind="pr", login="alice", comments=9, updated_at=NOW - 1 day, ...)
    add_item(fake, "octo/hello", ghost=True, events=[("ISSUE_COMMENT", NOW), ("PULL_REQUEST_REVIEW", NOW)])

``events`` is the item's GraphQL timeline (``(item type, moment)``, the types of ``timelineItems``'s
``itemTypes``); without it the timeline is synthesised from the item (tools/fakes/graphql_objects.py).
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from typing import Any

from tools.fakes.github import FakeGitHub, FakeRepo, FakeRequest
from tools.fakes.issue_search import CANNOT_SEARCH, iso, order, parse_query

ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE")
LABELS = ("bug", "enhancement", "documentation", "performance", "good first issue", "needs triage")
HUMANS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
BOTS = ("dependabot[bot]", "renovate[bot]", "github-actions[bot]")
PR_TOPICS = (
    "Add streaming support to the HTTP client",
    "Fix race condition in the connection pool",
    "Speed up JSON decoding for large payloads",
    "Document the retry configuration",
    "Drop support for Python 3.8",
    "Refactor the plugin loader",
    "Cache compiled templates between requests",
    "Handle timezone-aware timestamps in exports",
)
ISSUE_TOPICS = (
    "Crash when the config file is empty",
    "Memory grows without bound under load",
    "Feature request: export reports as CSV",
    "Docs: the quickstart example fails",
    "Support for ARM64 wheels",
    "Flaky test in the scheduler suite",
)


# GitHub's placeholder for a deleted account, as REST shows it.
GHOST: dict[str, Any] = {
    "login": "ghost",
    "id": 10137,
    "node_id": "MDQ6VXNlcjEwMTM3",
    "avatar_url": "https://avatars.githubusercontent.com/u/10137?v=4",
    "html_url": "https://github.com/ghost",
    "type": "User",
    "site_admin": False,
}


def _user(login: str, *, bot: bool = False) -> dict[str, Any]:
    uid = zlib.crc32(login.encode()) % 10_000_000
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "html_url": f"https://github.com/{login}",
        "type": "Bot" if bot else "User",
        "site_admin": False,
    }


def _repo(fake: FakeGitHub, full_name: str) -> FakeRepo:
    return fake.repos.get(full_name.lower()) or fake.add_repo(full_name)


def add_item(
    fake: FakeGitHub,
    full_name: str,
    *,
    kind: str = "pr",
    number: int | None = None,
    title: str | None = None,
    body: str | None = "",
    login: str = "alice",
    user_type: str = "User",
    association: str = "CONTRIBUTOR",
    comments: int = 0,
    reactions: int = 0,
    labels: tuple[str, ...] = (),
    assignees: tuple[str, ...] = (),
    state: str = "open",
    merged: bool = False,
    created_at: dt.datetime,
    updated_at: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
    ghost: bool = False,
    events: list[tuple[str, dt.datetime]] | None = None,
) -> dict[str, Any]:
    """Append one issue or pull request (search-result shape) to the repository; returns it.

    ``ghost``: the author's account was deleted (REST shows GitHub's ``ghost`` user, GraphQL a null
    ``author``). ``events``: the GraphQL timeline, ``[("ISSUE_COMMENT", moment), ...]``."""
    repo = _repo(fake, full_name)
    number = number or (max((i["number"] for i in repo.items), default=0) + 1)
    item_id = fake.next_id() * 1000 + number
    updated_at = updated_at or created_at
    if merged or state == "closed":
        state = "closed"
        closed_at = closed_at or updated_at
    base = f"https://github.com/{repo.full_name}"
    path = "pull" if kind == "pr" else "issues"
    user = dict(GHOST) if ghost else _user(login, bot=user_type == "Bot")
    item: dict[str, Any] = {
        "url": f"{fake.url}/repos/{repo.full_name}/issues/{number}",
        "html_url": f"{base}/{path}/{number}",
        "id": item_id,
        "node_id": f"{'PR' if kind == 'pr' else 'I'}_kw{item_id}",
        "number": number,
        "title": title or f"{'PR' if kind == 'pr' else 'Issue'} {number}",
        "user": user,
        "labels": [
            {"id": 500 + i, "name": name, "color": "ededed", "default": False}
            for i, name in enumerate(labels)
        ],
        "state": state,
        "state_reason": "completed" if state == "closed" and kind == "issue" else None,
        "locked": False,
        "assignee": _user(assignees[0]) if assignees else None,
        "assignees": [_user(a) for a in assignees],
        "comments": comments,
        "created_at": iso(created_at),
        "updated_at": iso(updated_at),
        "closed_at": iso(closed_at) if closed_at else None,
        "author_association": association,
        "body": body,
        "reactions": {
            "url": f"{fake.url}/repos/{repo.full_name}/issues/{number}/reactions",
            "total_count": reactions,
            "+1": reactions - reactions // 3,
            "-1": 0,
            "laugh": 0,
            "hooray": reactions // 3,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        },
        "score": 1.0,
    }
    if kind == "pr":
        item["draft"] = False
        item["pull_request"] = {
            "url": f"{fake.url}/repos/{repo.full_name}/pulls/{number}",
            "html_url": f"{base}/pull/{number}",
            "diff_url": f"{base}/pull/{number}.diff",
            "patch_url": f"{base}/pull/{number}.patch",
            "merged_at": iso(closed_at) if merged and closed_at else None,
        }
    repo.items.append(item)
    if events is not None:
        repo.timelines[number] = sorted(events, key=lambda event: event[1])
    return item


def seed_activity(
    fake: FakeGitHub,
    full_name: str,
    *,
    now: dt.datetime,
    prs: int = 15,
    issues: int = 12,
    bots: int = 3,
    old: int = 4,
    seed: int = 1,
) -> FakeRepo:
    """Realistic activity: ``prs`` and ``issues`` by humans in the last month, ``bots`` bot pull requests,
    and ``old`` items last touched more than a year ago (outside every window)."""
    rng = random.Random(seed)
    repo = _repo(fake, full_name)

    def body(topic: str) -> str:
        return (
            "<!-- Thanks for contributing! Please fill in the template. -->\n"
            f"## Summary\n{topic}. This change is needed because users hit it in production "
            f"and reported it in the forum. It touches the {rng.choice(['core', 'cli', 'docs', 'api'])} "
            "module.\n\n```python\nprint('example')\n```\n- [x] Tests added\n"
        )

    def moments(max_days: float) -> tuple[dt.datetime, dt.datetime]:
        created = now - dt.timedelta(hours=rng.uniform(2, max_days * 24))
        updated = created + dt.timedelta(hours=rng.uniform(0, (now - created).total_seconds() / 3600))
        return created, min(updated, now - dt.timedelta(minutes=5))

    for i in range(prs):
        created, updated = moments(30)
        merged = rng.random() < 0.6
        add_item(
            fake,
            full_name,
            kind="pr",
            title=f"{rng.choice(PR_TOPICS)} ({i})",
            body=body(rng.choice(PR_TOPICS)),
            login=rng.choice(HUMANS[:7]),
            association=rng.choice(ASSOCIATIONS),
            comments=rng.randint(0, 25),
            reactions=rng.randint(0, 15),
            labels=tuple(rng.sample(LABELS, rng.randint(0, 2))),
            assignees=tuple(rng.sample(HUMANS, rng.randint(0, 2))),
            merged=merged,
            state="closed" if merged or rng.random() < 0.2 else "open",
            created_at=created,
            updated_at=updated,
        )
    for i in range(issues):
        created, updated = moments(30)
        add_item(
            fake,
            full_name,
            kind="issue",
            title=f"{rng.choice(ISSUE_TOPICS)} ({i})",
            body=body(rng.choice(ISSUE_TOPICS)) if rng.random() < 0.8 else None,
            login=rng.choice(HUMANS),
            association=rng.choice(ASSOCIATIONS),
            comments=rng.randint(0, 30),
            reactions=rng.randint(0, 20),
            labels=tuple(rng.sample(LABELS, rng.randint(0, 3))),
            state="closed" if rng.random() < 0.3 else "open",
            created_at=created,
            updated_at=updated,
        )
    for i in range(bots):
        created, updated = moments(7)
        add_item(
            fake,
            full_name,
            kind="pr",
            title=f"Bump dependency-{i} from 1.{i}.0 to 1.{i}.1",
            body="Bumps dependency. Dependabot will resolve any conflicts.",
            login=BOTS[i % len(BOTS)],
            user_type="Bot",
            association="NONE",
            comments=rng.randint(20, 60),  # noisy: would rank first if bots were kept
            reactions=rng.randint(10, 30),
            created_at=created,
            updated_at=updated,
        )
    for i in range(old):
        created = now - dt.timedelta(days=800 + i)
        add_item(
            fake,
            full_name,
            kind="pr" if i % 2 else "issue",
            title=f"Ancient item {i}",
            login=rng.choice(HUMANS),
            comments=99,
            reactions=99,
            created_at=created,
            updated_at=created + dt.timedelta(days=3),
        )
    return repo


# --- the search route -------------------------------------------------------------------------


def _search(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any]:
    try:
        query = parse_query(req.query.get("q", ""))
    except ValueError:
        return 422, {"message": "Validation Failed", "errors": [{"field": "q", "code": "invalid"}]}
    repo: FakeRepo | None = None
    for name in query.repos:
        repo = fake.repos.get(name.lower())
        if repo is None or not repo.visible(req.token):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"message": CANNOT_SEARCH, "resource": "Search", "field": "q", "code": "invalid"}],
            }
    if repo is None:
        return 422, {"message": "Validation Failed", "errors": [{"field": "q", "code": "missing"}]}

    found = order(
        [item for item in repo.items if query.matches(item)],
        req.query.get("sort"),
        req.query.get("order", "desc") != "asc",
    )
    per_page = max(1, min(100, int(req.query.get("per_page", 30))))
    page = max(1, int(req.query.get("page", 1)))
    chunk = found[(page - 1) * per_page : page * per_page]
    return 200, {"total_count": len(found), "incomplete_results": False, "items": chunk}


def register(fake: FakeGitHub) -> None:
    fake.route("GET", r"^/search/issues$")(_search)
