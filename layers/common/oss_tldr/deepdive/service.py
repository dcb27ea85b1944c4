"""The deep dive's three requests: a pull request's patches, one patch explained, a thread's digest.

Each is shared like a report. What is stored is served to anyone who may see the repository (public, or
private with the caller's own access shown: :mod:`oss_tldr.reports.visibility`'s rules, not a copy) without
asking GitHub while it is fresh (``DEEPDIVE_FRESH_SECONDS``); after that one GitHub request tells whether the
pull request's head or the thread changed, and only a new head or a new item version is fetched or written
again. GitHub is asked with the caller's own token, so a private repository's patches and deep dives reach
only callers whose token reaches it; anyone else gets the missing repository's 404.

``POST /diff`` explains only a patch this service served (known by its SHA-256 in ``pr_patches``, from a
repository the caller may see): an unknown patch is a 404 that costs no model request, so the route is no
open proxy to the model. Model work runs under the single flight of :mod:`oss_tldr.deepdive.flight` (at most
one model request per distinct patch — per repository for a private one — or item version, retries aside)
and counts against the caller's daily quota only when it runs (:mod:`oss_tldr.deepdive.quota`); each text
has a budget of :data:`MODEL_REQUESTS` chat completions (one answer and one retry).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from oss_tldr.deepdive import flight, store
from oss_tldr.deepdive.hunks import excerpt
from oss_tldr.deepdive.models import (
    MAX_FILE_CHARS,
    MAX_PATCH_CHARS,
    MAX_PATCHES_RESPONSE_BYTES,
    NO_PATCH_EXPLANATION,
    NUMBER_PATTERN,
    Patch,
    PatchSource,
    patch_hash,
)
from oss_tldr.deepdive.quota import DailyQuota, Kind
from oss_tldr.deepdive.summarise import get_summariser, identity, render
from oss_tldr.errors import BadRequest, DomainError, NotFound
from oss_tldr.observability import MetricUnit, metrics
from oss_tldr.repo_refs import parse_repo_ref
from oss_tldr.reports import access, visibility
from oss_tldr.reports.summarise import LLMBudget
from oss_tldr.reports.visibility import Requester
from oss_tldr.settings import get_settings

MODEL_REQUESTS = 2
T = TypeVar("T")

__all__ = ["Requester", "deep_dive", "explain", "parse_number", "patches"]


def _count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def parse_number(value: str) -> int:
    """An issue or pull request number sent as a string (``"123"``): 1 to 2^31-1 written without leading
    zeros (:data:`~oss_tldr.deepdive.models.NUMBER_PATTERN`), else 400."""
    if not re.fullmatch(NUMBER_PATTERN, value):
        raise BadRequest("Not an issue or pull request number.", code="invalid_number")
    return int(value)


def unknown_patch() -> NotFound:
    """The one 404 of ``/diff``: a patch never served, or served from a repository the caller cannot see."""
    return NotFound(
        "Unknown patch: explain a patch this service returned from /patches.", code="patch_not_found"
    )


def _target(repo_url: str, number: str) -> tuple[str, str, int]:
    owner, repo = parse_repo_ref(repo_url)
    return owner, repo, parse_number(number)


def _may_serve_stored(requester: Requester, full_name: str) -> bool:
    """Whether what is stored for ``full_name`` may be served without asking GitHub: a public repository, or
    a private one the caller's access to was shown (and remembered)."""
    known = access.repository_visibility(full_name, requester.user_id)
    return known is not None and (not known.is_private or known.access_ok)


def _github_not_found(exc: NotFound) -> NotFound:
    """GitHub's 404 of the repository is the missing repository's 404 (private and missing alike); an item
    that is not there keeps its own."""
    return visibility.repository_not_found() if exc.code == "github_not_found" else exc


def _produce(requester: Requester, kind: Kind, write: Callable[[LLMBudget], T]) -> Callable[[], T]:
    """The work of the request holding the claim: counted against the caller's quota first, given back if
    it fails; its model requests and tokens counted in the metrics."""

    def produce() -> T:
        quota = DailyQuota(requester.user_id, kind)
        quota.take()
        budget = LLMBudget(max_requests=MODEL_REQUESTS)
        try:
            result = write(budget)
        except Exception:
            quota.give_back()
            raise
        finally:
            _count("LLMRequests", budget.requests)
            _count("LLMTokens", budget.tokens)
        return result

    return produce


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


# --------------------------------------------------------------------------------- POST /patches
def _encoded_size(text: str) -> int:
    """What ``text`` weighs in the Lambda response: a JSON string inside the body, itself a JSON string."""
    return len(json.dumps(json.dumps(text)))


def within_response(
    files: Sequence[tuple[str, str, int, int, str | None]],
) -> list[tuple[str, str, int, int, str | None]]:
    """The files in order, each patch kept while the patches so far fit in
    :data:`~oss_tldr.deepdive.models.MAX_PATCHES_RESPONSE_BYTES`; the rest listed without their patch."""
    used = 0
    kept: list[tuple[str, str, int, int, str | None]] = []
    for file, status, additions, deletions, patch in files:
        size = _encoded_size(patch) if patch else 0
        if patch and used + size > MAX_PATCHES_RESPONSE_BYTES:
            patch = None
        else:
            used += size
        kept.append((file, status, additions, deletions, patch))
    return kept


def patches(requester: Requester, repo_url: str, number: str) -> list[Patch]:
    """The pull request's changed files with their patches (``""`` for a file GitHub gives none)."""
    owner, repo, pr = _target(repo_url, number)
    full_name = f"{owner}/{repo}"
    if _may_serve_stored(requester, full_name):
        found = store.fresh_patch_set(full_name, pr, get_settings().deepdive_fresh_seconds)
        if found is not None:
            _count("PatchesHits")
            return found
    _count("PatchesMisses")
    from oss_tldr.github import threads  # httpx and the GitHub client: a miss only (cold start)

    github = visibility.github_client(requester.token())
    try:
        head = threads.pull_request_head(github, owner, repo, pr)
        repository_id = visibility.record_repository(requester, head.repository, asked=full_name)
        stored = store.patch_set_at(repository_id, pr, head.head_sha)
        if stored is None:
            files = threads.pull_request_files(github, head.repository.full_name, pr, head.changed_files)
            stored = store.save_patch_set(
                repository_id,
                pr,
                head.head_sha,
                head.changed_files,
                within_response([(f.filename, f.status, f.additions, f.deletions, f.patch) for f in files]),
            )
    except NotFound as exc:  # either request: GitHub's 404 of the repository is the missing one's
        raise _github_not_found(exc) from exc
    finally:
        _count("GitHubRequests", github.requests_made)
    return stored


# --------------------------------------------------------------------------------- POST /diff
def _source(requester: Requester, digest: str, file: str) -> PatchSource:
    """A repository the patch was served from that the caller may see (the one of ``file`` preferred); a
    private one is checked with the caller's own token when nothing else is visible. Whatever that check
    meets (GitHub's 404, but also a revoked token, a rate limit, an outage) is the unknown patch's 404: any
    other answer would tell an outsider that some private repository holds this text."""
    sources = store.patch_sources(digest, requester.user_id)
    visible = [s for s in sources if not s.is_private or s.access_ok]
    if not visible and sources:
        first = sources[0]
        try:
            visibility.ensure_private_access(requester, first.owner, first.name, first.repository_id)
        except DomainError as exc:
            raise unknown_patch() from exc
        visible = [first]
    if not visible:
        raise unknown_patch()
    return next((s for s in visible if s.file == file), visible[0])


def explain(requester: Requester, file: str, patch: str) -> str:
    """The explanation (≤ 50 words) of a patch this service served, written once and shared."""
    if len(file) > MAX_FILE_CHARS or len(patch) > MAX_PATCH_CHARS:
        raise BadRequest(
            "The file name or the patch is longer than any this service serves.", code="invalid_patch"
        )
    if not patch.strip():
        return NO_PATCH_EXPLANATION  # a file GitHub shows without a line diff: nothing to explain
    digest = patch_hash(patch)
    source = _source(requester, digest, file)
    name, version = identity()
    # An explanation is written from its source's file name and text: one written from a private
    # repository's file is that repository's alone (the same text in a public repository, or another private
    # one, gets its own), so it never shows the private file's name to a caller who cannot see it.
    scoped = _key("private", source.repository_id, digest) if source.is_private else digest

    def load() -> str | None:
        return store.explanation(scoped, name, version)

    def write(budget: LLMBudget) -> str:
        text = get_summariser().explain(source.file, excerpt(patch), budget)
        store.save_explanation(scoped, name, version, text)
        return text

    text, produced = flight.once(
        _key("diff", scoped, name, version), load, _produce(requester, "diff", write)
    )
    _count("DiffMisses" if produced else "DiffHits")
    return text


# --------------------------------------------------------------------------------- POST /deepdive
def deep_dive(requester: Requester, repo_url: str, number: str) -> str:
    """The Markdown deep dive of an issue or pull request, per item version, written once and shared."""
    owner, repo, item = _target(repo_url, number)
    full_name = f"{owner}/{repo}"
    name, version = identity()
    if _may_serve_stored(requester, full_name):
        body = store.fresh_deep_dive(full_name, item, name, version, get_settings().deepdive_fresh_seconds)
        if body is not None:
            _count("DeepDiveHits")
            return body
    from oss_tldr.github import threads  # httpx and the GitHub client: a miss only (cold start)

    github = visibility.github_client(requester.token())
    try:
        repository, thread = threads.thread(github, owner, repo, item)
    except NotFound as exc:
        raise _github_not_found(exc) from exc
    finally:
        _count("GitHubRequests", github.requests_made)
    repository_id = visibility.record_repository(requester, repository, asked=full_name)

    def load() -> str | None:
        return store.deep_dive_at(repository_id, item, thread.updated_at, name, version)

    def write(budget: LLMBudget) -> str:
        body = render(thread, get_summariser().sections(thread, budget))
        store.save_deep_dive(repository_id, item, thread.updated_at, name, version, body)
        return body

    key = _key("deepdive", repository_id, item, thread.updated_at.isoformat(), name, version)
    written, produced = flight.once(key, load, _produce(requester, "deepdive", write))
    _count("DeepDiveMisses" if produced else "DeepDiveHits")
    return written
