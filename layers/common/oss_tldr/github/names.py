"""Repository references: every form the contract accepts, validated against GitHub's own rules.

Accepted: ``owner/repo`` and ``https://github.com/owner/repo`` with or without ``.git``, a trailing slash,
``www.``, a deeper path (``/tree/main/src``, ``/issues/1``), a query or a fragment. ``http://`` and a
scheme-less ``github.com/owner/repo`` are accepted too. Anything else (other hosts, credentials or ports
in the URL, other schemes, names GitHub would refuse) is :class:`BadRequest` with code ``invalid_repo``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from oss_tldr.errors import BadRequest

MAX_REF_CHARS = 512
GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})
# GitHub logins and organisation names: letters, digits and hyphens, not starting with a hyphen, <= 39.
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
# Repository names: letters, digits, '.', '-', '_', <= 100, and never '.' or '..'.
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")


def _invalid(
    detail: str = "Not a GitHub repository: use owner/repo or https://github.com/owner/repo.",
) -> BadRequest:
    return BadRequest(detail, code="invalid_repo")


def validate_owner_repo(owner: str, repo: str) -> tuple[str, str]:
    """``(owner, repo)`` unchanged when both are names GitHub allows; :class:`BadRequest` otherwise."""
    if not isinstance(owner, str) or not isinstance(repo, str):
        raise _invalid()
    if not _OWNER.fullmatch(owner) or not _REPO.fullmatch(repo) or repo in {".", ".."}:
        raise _invalid()
    return owner, repo


def _strip_git(repo: str) -> str:
    return repo[: -len(".git")] if repo.lower().endswith(".git") and len(repo) > len(".git") else repo


def parse_repo_ref(value: str) -> tuple[str, str]:
    """``(owner, repo)`` from any accepted form (display casing kept); :class:`BadRequest` otherwise."""
    if not isinstance(value, str):
        raise _invalid()
    text = value.strip()
    if not text or len(text) > MAX_REF_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise _invalid()
    if "://" not in text and text.lower().startswith(("github.com/", "www.github.com/")):
        text = "https://" + text
    if "://" in text:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise _invalid() from exc
        if parts.scheme.lower() not in {"http", "https"} or port is not None:
            raise _invalid()
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise _invalid()
        if (parts.hostname or "").lower() not in GITHUB_HOSTS:
            raise _invalid()
        segments = parts.path.split("/")[1:]
        if len(segments) < 2 or any(seg in {".", ".."} for seg in segments):
            raise _invalid()
        # Anything after /owner/repo (tree/main/src, issues/1, a trailing slash) is ignored.
        return validate_owner_repo(segments[0], _strip_git(segments[1]))
    segments = text.split("/")
    if len(segments) == 3 and segments[2] == "":
        segments = segments[:2]
    if len(segments) != 2:
        raise _invalid()
    return validate_owner_repo(segments[0], _strip_git(segments[1]))


def full_name_key(owner: str, repo: str) -> str:
    """The case-insensitive key repositories are stored under (``repositories.full_name``)."""
    return f"{owner}/{repo}".lower()
