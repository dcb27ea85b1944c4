"""The deep dive's GitHub requests (:mod:`oss_tldr.deepdive`): a pull request's head and changed files, and
an issue's or pull request's whole thread.

* :func:`pull_request_head` — one GraphQL query: the repository (GitHub's id, its visibility, the name it
  has now) and the pull request's head commit and ``changedFiles``. A repository the token cannot see is
  ``null`` with ``NOT_FOUND`` (404, as every missing repository); a number that is no pull request of it is
  a 404 ``pull_request_not_found``.
* :func:`pull_request_files` — ``GET /repos/{o}/{r}/pulls/{n}/files?per_page=100&page=k``, as many pages as
  ``changedFiles`` needs, never past GitHub's own limit of 3000 files (30 pages). Binary files and diffs
  too large for GitHub come without ``patch``.
* :func:`thread` — one GraphQL query (:data:`THREAD_QUERY`): the repository and the item with its body,
  the :data:`MAX_COMMENTS` most recent comments and (a pull request) the :data:`MAX_REVIEWS` most recent
  reviews, beside their totals, so the digest can say how much of the thread it read. It asks ``closed``
  rather than ``state``: the two types' ``state`` fields have different enum types, which one selection
  cannot ask for under one name (GitHub refuses the query).

Answers are shape-checked here (:mod:`oss_tldr.github.thread_payloads`, :mod:`oss_tldr.github.payloads`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

from oss_tldr.errors import NotFound
from oss_tldr.github import graphql, payloads
from oss_tldr.github.activity import missing_repository
from oss_tldr.github.activity_payloads import REPOSITORY_FIELDS
from oss_tldr.github.client import GitHubClient
from oss_tldr.github.payloads import Count, RepositoryPayload, _optional_text, _text
from oss_tldr.github.thread_payloads import PullHeadAnswer, Thread, ThreadAnswer, to_thread
from oss_tldr.observability import logger

MAX_FILES = 3000  # GitHub lists at most this many files of a pull request
FILES_PER_PAGE = 100
MAX_COMMENTS = 60
MAX_REVIEWS = 30
MAX_FILE_NAME = 1024
# A patch longer than this (decoded) is stored and served without its text, like GitHub's own huge files.
MAX_PATCH_CHARS = 200_000

PULL_REQUEST_HEAD_QUERY = f"""
query PullRequestHead($owner: String!, $name: String!, $number: Int!) {{
  repository(owner: $owner, name: $name) {{{REPOSITORY_FIELDS}
    pullRequest(number: $number) {{ number headRefOid changedFiles }}
  }}
}}
"""

_THREAD_FIELDS = """
      number title url closed body createdAt updatedAt
      author { __typename login }
      comments(last: $comments) { totalCount nodes { author { __typename login } body createdAt } }"""

THREAD_QUERY = f"""
query DeepDiveThread($owner: String!, $name: String!, $number: Int!, $comments: Int!, $reviews: Int!) {{
  repository(owner: $owner, name: $name) {{{REPOSITORY_FIELDS}
    issueOrPullRequest(number: $number) {{
      __typename
      ... on Issue {{{_THREAD_FIELDS}
      }}
      ... on PullRequest {{{_THREAD_FIELDS}
        mergedAt isDraft
        reviews(last: $reviews) {{
          totalCount nodes {{ author {{ __typename login }} state body submittedAt }}
        }}
      }}
    }}
  }}
}}
"""

M = TypeVar("M", bound=BaseModel)


def _item_not_found(what: str) -> NotFound:
    return NotFound(f"{what} not found.", code=f"{what.lower().replace(' ', '_')}_not_found")


def _ask(github: GitHubClient, text: str, variables: dict[str, Any], model: type[M]) -> tuple[Any, M]:
    answer = graphql.query(github, text, variables)
    return answer, payloads.parse(model, answer.data, what="GraphQL answer")


@dataclass(frozen=True)
class PullHead:
    repository: RepositoryPayload
    number: int
    head_sha: str
    changed_files: int


def pull_request_head(github: GitHubClient, owner: str, name: str, number: int) -> PullHead:
    """The repository and the pull request's head (one GraphQL request); 404s as the module says."""
    answer, parsed = _ask(
        github,
        PULL_REQUEST_HEAD_QUERY,
        {"owner": owner, "name": name, "number": number},
        PullHeadAnswer,
    )
    if parsed.repository is None:
        raise missing_repository(answer)
    pull = parsed.repository.pullRequest
    if pull is None:
        raise _item_not_found("Pull request")
    return PullHead(parsed.repository.to_payload(), pull.number, pull.headRefOid, pull.changedFiles)


def _file_name(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a file name")
    return value


def _patch(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a patch")
    return value if len(value) <= MAX_PATCH_CHARS else None  # too large to serve: listed without it


class PullFile(BaseModel):
    """An entry of ``GET /repos/{owner}/{repo}/pulls/{number}/files``."""

    model_config = ConfigDict(extra="ignore")

    filename: Annotated[str, _text(MAX_FILE_NAME), BeforeValidator(_file_name)]
    status: Annotated[str, _text(20)] = "modified"
    additions: Count = 0
    deletions: Count = 0
    # Validators run last to first: a patch over the limit is dropped before any text is cut.
    patch: Annotated[str | None, _optional_text(MAX_PATCH_CHARS), BeforeValidator(_patch)] = None


def pull_request_files(
    github: GitHubClient, full_name: str, number: int, changed_files: int
) -> list[PullFile]:
    """The pull request's files in GitHub's order: ⌈changed / 100⌉ pages (at most 30), stopping early at a
    short page."""
    pages = max(1, math.ceil(min(changed_files, MAX_FILES) / FILES_PER_PAGE))
    files: list[PullFile] = []
    for page in range(1, pages + 1):
        answer = github.get(
            f"/repos/{full_name}/pulls/{number}/files", params={"per_page": FILES_PER_PAGE, "page": page}
        )
        if not isinstance(answer.data, list):
            raise payloads.parse_error("pull request files")
        files.extend(payloads.parse(PullFile, entry, what="pull request file") for entry in answer.data)
        if len(answer.data) < FILES_PER_PAGE:
            break
    if len(files) > MAX_FILES:
        files = files[:MAX_FILES]
    logger.info("github pull request files", extra={"files": len(files), "pages": page})
    return files


def thread(github: GitHubClient, owner: str, name: str, number: int) -> tuple[RepositoryPayload, Thread]:
    """The repository and the item's thread (one GraphQL request); 404 ``not_found`` for a repository the
    token cannot see, 404 ``issue_not_found`` for a number that is neither an issue nor a pull request."""
    answer, parsed = _ask(
        github,
        THREAD_QUERY,
        {"owner": owner, "name": name, "number": number, "comments": MAX_COMMENTS, "reviews": MAX_REVIEWS},
        ThreadAnswer,
    )
    if parsed.repository is None:
        raise missing_repository(answer)
    item = parsed.repository.issueOrPullRequest
    if item is None:
        raise _item_not_found("Issue")
    repository = parsed.repository.to_payload()
    return repository, to_thread(
        item, repository.full_name, max_comments=MAX_COMMENTS, max_reviews=MAX_REVIEWS
    )
