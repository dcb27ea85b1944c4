"""Who asks for a report, and whether they may see its repository.

A public repository's report is served to anyone signed in; a private one only to a requester whose own
GitHub token was shown to reach it (``GET /repos/{owner}/{repo}`` with that token, remembered for
``PRIVATE_ACCESS_TTL_SECONDS`` by :mod:`oss_tldr.reports.access`). Anyone else gets exactly the missing
repository's 404, whatever is cached or in flight.

Privacy before the single flight (:func:`establish_visibility`): a repository known to be private is
looked up with the caller's own token *before* any lease, wait or job, and an answer that is not the
report (pending, a followed generation's failure) is given only after the caller's visibility is
established.

GitHub tokens: a signed-in user's own (``github_token_for``); the CLI and background jobs use
``settings.github_token`` (or the secret of ``settings.github_token_arn``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oss_tldr.errors import NotFound
from oss_tldr.github.errors import require_token
from oss_tldr.identity.tokens import github_token_for
from oss_tldr.reports import access
from oss_tldr.secrets import resolve_secret
from oss_tldr.settings import Settings, get_settings

if TYPE_CHECKING:  # httpx and the GitHub client are imported on a miss only (cold-start cost)
    from oss_tldr.github.client import GitHubClient


def _no_check() -> None:
    return None


@dataclass(frozen=True)
class Requester:
    """Who asks: a signed-in user (their own GitHub token) or the service (CLI, background jobs).

    ``session_id`` + ``verify_session``: a caller whose token signature was checked but whose session row
    was not yet; the cache-hit statement checks the row itself, anything else calls ``verify_session``
    (the full check, raising 401) first."""

    user_id: int | None
    token: Callable[[], str | None] = field(repr=False)
    session_id: str | None = None
    verify_session: Callable[[], None] = field(default=_no_check, repr=False)

    @classmethod
    def user(
        cls, user_id: int, *, session_id: str | None = None, verify_session: Callable[[], None] = _no_check
    ) -> Requester:
        def token() -> str | None:
            return github_token_for(user_id)

        return cls(user_id=user_id, token=token, session_id=session_id, verify_session=verify_session)

    @classmethod
    def service(cls, settings: Settings | None = None) -> Requester:
        """The service's own token: ``GITHUB_TOKEN`` locally, the secret behind ``GITHUB_TOKEN_ARN`` in AWS
        (read when first needed, cached by :mod:`oss_tldr.secrets`)."""
        settings = settings or get_settings()

        def token() -> str | None:
            return resolve_secret(settings.github_token, settings.github_token_arn)

        return cls(user_id=None, token=token)


def github_client(token: str | None, settings: Settings | None = None) -> GitHubClient:
    """The one GitHub client factory's client for ``token`` (none: :class:`GitHubTokenMissing`, never an
    anonymous call)."""
    from oss_tldr.github.client import github_client as factory  # the one factory; httpx on a miss only

    return factory(require_token(token), settings)


def record_repository(requester: Requester, payload: Any, *, asked: str) -> int:
    """Store what GitHub said of a repository the requester's token reached (its row by GitHub's id; the
    asked name an alias when GitHub calls it otherwise now) and, when private, remember that this user can
    see it. The ``repositories.id``."""
    repository_id, is_private = access.upsert_repository(payload, asked=asked)
    if is_private and requester.user_id is not None:
        ttl = dt.timedelta(seconds=get_settings().private_access_ttl_seconds)
        access.remember_access(requester.user_id, repository_id, ttl)
    return repository_id


def repository_not_found() -> NotFound:
    """The one 404 of a repository the requester cannot see, private or missing alike (same status, code
    and detail): the REST lookup's and the generation's GraphQL request's."""
    return NotFound("Repository not found.", code="not_found")


def lookup(requester: Requester, owner: str, repo: str) -> int:
    """``GET /repos/{owner}/{repo}`` with the requester's token (the one repository lookup,
    :func:`oss_tldr.github.users.get_repository`), recorded by :func:`record_repository`. 404 is "not
    found" (private and missing look the same); 401, 403, 429 and 5xx propagate (fail closed)."""
    from oss_tldr.github.users import get_repository

    try:
        payload = get_repository(require_token(requester.token()), owner, repo)
    except NotFound as exc:
        raise repository_not_found() from exc
    return record_repository(requester, payload, asked=f"{owner}/{repo}")


class NameMoved(NotFound):
    """The name asked by leads GitHub to another repository than the row it found here (a former name,
    taken since by a new repository): the requester reached that one, not the private row's. Exactly the
    missing repository's 404 for whoever does not catch it; the hit path treats it as a miss."""

    def __init__(self) -> None:
        super().__init__("Repository not found.", code="not_found")


def ensure_private_access(requester: Requester, owner: str, repo: str, repository_id: int) -> None:
    """Serve a private repository's report only after the requester's own token reached *that*
    repository (an alias can outlive GitHub's redirect: the name may now be another repository's)."""
    if requester.user_id is not None and access.has_remembered_access(requester.user_id, repository_id):
        return
    if lookup(requester, owner, repo) != repository_id:  # raises for anything but 200
        raise NameMoved()


def establish_visibility(requester: Requester, owner: str, repo: str, *, unknown: bool) -> None:
    """Raise the missing repository's 404 unless the requester may see ``owner/repo``: a public row, or a
    private one with the requester's access remembered, needs nothing; a private one without it is looked
    up with the requester's token. A repository never looked up needs a lookup only when ``unknown``: a
    request about to claim or follow the generation lets that generation's own lookup decide, but one
    about to answer "pending" or a followed failure must know first."""
    known = access.repository_visibility(f"{owner}/{repo}", requester.user_id)
    if known is None and not unknown:
        return
    if known is not None and (not known.is_private or known.access_ok):
        return
    lookup(requester, owner, repo)  # 404 for a repository this token cannot see; 403/429/5xx fail closed


# A follower of a generation whose repository it has never seen looked up waits for that generation's own
# lookup (its first step: the job's progress reaches LOOKED_UP once the row is stored) rather than asking
# GitHub itself, so followers of a new public repository cost no GitHub request. Once the lookup is done and
# the row is still unknown under the asked name (a renamed repository asked by its old name), or if the
# lookup outlasts UNKNOWN_REPOSITORY_GRACE_SECONDS (GitHub's own timeout), the follower looks the repository
# up with its own token: an outsider of a private repository waits at most for the owner's lookup, never
# for the whole generation.
LOOKED_UP = 3
UNKNOWN_REPOSITORY_GRACE_SECONDS = 10.0


class VisibilityGate:
    """``while_following`` of a miss: before (and while) following another request's generation, the
    follower's own access is established — at once for a repository known to be private, once the
    generation's lookup is done for one not yet known. Settled once: a public repository, or the
    follower's access shown."""

    def __init__(self, requester: Requester, owner: str, repo: str) -> None:
        self.requester, self.owner, self.repo = requester, owner, repo
        self.settled = False

    def __call__(self, waited: float, job_id: uuid.UUID) -> None:
        if self.settled:
            return
        from oss_tldr.reports import jobs  # cold start: the jobs' ORM statements, for a follower only

        name = f"{self.owner}/{self.repo}"
        unknown = access.repository_visibility(name, self.requester.user_id) is None
        if unknown and waited < UNKNOWN_REPOSITORY_GRACE_SECONDS and jobs.job_progress(job_id) < LOOKED_UP:
            return  # the generator is still looking the repository up: its row will tell
        establish_visibility(self.requester, self.owner, self.repo, unknown=True)
        self.settled = True
