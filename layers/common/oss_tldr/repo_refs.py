"""Repository references: every form the contract accepts, validated against GitHub's own rules.

Accepted: ``owner/repo`` and ``https://github.com/owner/repo`` with or without ``.git``, a trailing slash,
``www.``, a deeper path (``/tree/main/src``, ``/issues/1``), a query or a fragment. ``http://`` and a
scheme-less ``github.com/owner/repo`` are accepted too. Anything else (other hosts, credentials or ports
in the URL, other schemes, names GitHub would refuse) is :class:`BadRequest` with code ``invalid_repo``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from oss_tldr.errors import BadRequest

MAX_REF_CHARS = 512
GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})
# GitHub logins and organisation names: letters, digits and hyphens, not starting with a hyphen, <= 39.
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
# Repository names: letters, digits, '.', '-', '_', <= 100, and never '.' or '..'.
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")


# The same rules as JSON Schema patterns, for the OpenAPI description. _REF is the accepted forms of
# parse_repo_ref as one regular expression (all but repository names starting with "..", left out because
# "..git" would strip to "."): owner/repo, a trailing slash, .git, surrounding whitespace, and
# [http[s]://][www.]github.com/owner/repo followed by any path, query or fragment.
OWNER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$"
REPO_PATTERN = (  # 1-100 of letters, digits, '.', '-', '_'; never '.' or '..'
    r"^(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,98}|\.\.[A-Za-z0-9._-]{1,98})$"
)
_OWNER_REPO = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?:[A-Za-z0-9_-]|\.[A-Za-z0-9_-])[A-Za-z0-9._-]{0,98}(?:\.git)?"
_URL = r"(?:[hH][tT][tT][pP][sS]?://)?(?:[wW][wW][wW]\.)?[gG][iI][tT][hH][uU][bB]\.[cC][oO][mM]/"
# Python's whitespace (str.isspace, what parse_repo_ref strips and refuses inside), spelled out: regular
# expression engines disagree on \s.
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CHAR = rf"[^{_SPACE}\x00-\x1f]"
_SEGMENT = rf"[^{_SPACE}\x00-\x1f/.?#][^{_SPACE}\x00-\x1f/?#]*"
_REST = rf"(?:[?#]{_CHAR}*|/(?:{_SEGMENT}/?)*(?:[?#]{_CHAR}*)?)?"
_REF = rf"(?:{_OWNER_REPO}/?|{_URL}{_OWNER_REPO}{_REST})"
REPO_REF_PATTERN = rf"^[{_SPACE}]*{_REF}[{_SPACE}]*$"
REPO_REF_DOC: dict[str, Any] = {
    "pattern": REPO_REF_PATTERN,
    "maxLength": MAX_REF_CHARS,
    "description": "owner/repo or https://github.com/owner/repo (also with www., http://, .git, a trailing "
    "slash, a deeper path, a query or a fragment); anything else is 400 invalid_repo.",
}
OPTIONAL_REPO_REF_DOC: dict[str, Any] = {
    **REPO_REF_DOC,
    "pattern": rf"^(?:[{_SPACE}]*{_REF}[{_SPACE}]*)?$",
    "description": "Only reports of this repository (empty: all). " + REPO_REF_DOC["description"],
}


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
