"""Pull request files and conversation threads on the fake GitHub (the deep dive's data).

``GET /repos/{owner}/{repo}/pulls/{number}/files`` serves the files given to :func:`set_files`, in the shape
of GitHub's REST answer (``sha``, ``filename``, ``status``, ``additions``, ``deletions``, ``changes``,
``blob_url``, ``raw_url``, ``contents_url``, ``patch`` — left out for binary files, as GitHub does), paged by
``per_page`` (≤ 100, default 30) and ``page``, never past GitHub's 3000 files. A repository the token cannot
see, or a number that is no pull request, answers 404. The same items serve GraphQL's ``pullRequest``,
``issue`` and ``issueOrPullRequest`` (tools/fakes/graphql_objects.py): ``headRefOid``, ``changedFiles``, and
the comment and review nodes added here.

    set_files(fake, "octo/hello", 7, [file_entry("src/app.py", "@@ -1,2 +1,3 @@\\n-a\\n+b\\n+c")])
    add_comment(fake, "octo/hello", 7, login="bob", body="Looks good", at=NOW)   # bumps updated_at
    add_review(fake, "octo/hello", 7, login="carol", state="APPROVED", body="Ship it", at=NOW)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

from tools.fakes.github import FakeGitHub, FakeRequest
from tools.fakes.github_activity import _user as rest_user
from tools.fakes.issue_search import iso

MAX_FILES = 3000
_ids = itertools.count(900_000)


def _item(fake: FakeGitHub, full_name: str, number: int) -> dict[str, Any]:
    repo = fake.repos[full_name.lower()]
    return next(item for item in repo.items if item["number"] == number)


def head_sha(item: dict[str, Any]) -> str:
    """The pull request's head commit: what :func:`set_files` last set, else one derived from the item."""
    return item.get("head_sha") or hashlib.sha1(f"{item['id']}".encode()).hexdigest()  # noqa: S324


def file_entry(
    filename: str,
    patch: str | None,
    *,
    status: str = "modified",
    additions: int | None = None,
    deletions: int | None = None,
) -> dict[str, Any]:
    """One file of a pull request as GitHub lists it (``patch`` None: a binary or huge file, no key)."""
    lines = (patch or "").splitlines()
    added = sum(1 for line in lines if line.startswith("+"))
    removed = sum(1 for line in lines if line.startswith("-"))
    sha = hashlib.sha1(f"{filename}\n{patch}".encode()).hexdigest()  # noqa: S324 - a fake blob id
    entry: dict[str, Any] = {
        "sha": sha,
        "filename": filename,
        "status": status,
        "additions": added if additions is None else additions,
        "deletions": removed if deletions is None else deletions,
        "changes": (added if additions is None else additions)
        + (removed if deletions is None else deletions),
    }
    if patch is not None:
        entry["patch"] = patch
    return entry


def set_files(
    fake: FakeGitHub, full_name: str, number: int, files: list[dict[str, Any]], *, head: str | None = None
) -> dict[str, Any]:
    """The pull request's changed files (``file_entry`` dicts) at a new head commit (``head``, or derived
    from the files); returns the item."""
    item = _item(fake, full_name, number)
    item["files"] = files
    item["head_sha"] = head or hashlib.sha1(repr(files).encode()).hexdigest()  # noqa: S324
    return item


def add_comment(
    fake: FakeGitHub, full_name: str, number: int, *, login: str, body: str, at: dt.datetime
) -> None:
    """A comment on the issue or pull request: counted in ``comments``, and its ``updated_at`` moves to it."""
    item = _item(fake, full_name, number)
    item.setdefault("comment_nodes", []).append(
        {
            "id": next(_ids),
            "user": rest_user(login, bot=login.endswith("[bot]")),
            "body": body,
            "created_at": iso(at),
        }
    )
    item["comments"] += 1
    item["updated_at"] = max(item["updated_at"], iso(at))


def add_review(
    fake: FakeGitHub, full_name: str, number: int, *, login: str, state: str, body: str, at: dt.datetime
) -> None:
    """A review of the pull request (``state``: APPROVED, CHANGES_REQUESTED, COMMENTED...)."""
    item = _item(fake, full_name, number)
    item.setdefault("review_nodes", []).append(
        {
            "id": next(_ids),
            "user": rest_user(login, bot=login.endswith("[bot]")),
            "state": state,
            "body": body,
            "submitted_at": iso(at),
        }
    )
    item["updated_at"] = max(item["updated_at"], iso(at))


_NOT_FOUND = {
    "message": "Not Found",
    "documentation_url": "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files",
    "status": "404",
}


def _files(fake: FakeGitHub, req: FakeRequest) -> tuple[int, Any]:
    repo = fake.resolve_repo(f"{req.match['owner']}/{req.match['repo']}")
    if repo is None or not repo.visible(req.token):
        return 404, _NOT_FOUND
    number = int(req.match["number"])
    item = next((i for i in repo.items if i["number"] == number and "pull_request" in i), None)
    if item is None:
        return 404, _NOT_FOUND
    per_page = max(1, min(100, int(req.query.get("per_page", 30))))
    page = max(1, int(req.query.get("page", 1)))
    files = item.get("files", [])[:MAX_FILES]
    base = f"https://github.com/{repo.full_name}"
    sha = head_sha(item)
    chunk = [
        {
            **entry,
            "blob_url": f"{base}/blob/{sha}/{entry['filename']}",
            "raw_url": f"{base}/raw/{sha}/{entry['filename']}",
            "contents_url": f"{fake.url}/repos/{repo.full_name}/contents/{entry['filename']}?ref={sha}",
        }
        for entry in files[(page - 1) * per_page : page * per_page]
    ]
    return 200, chunk


def register(fake: FakeGitHub) -> None:
    fake.route("GET", r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls/(?P<number>\d+)/files$")(_files)
