"""Which URLs may leave this API.

Every URL a response carries points at GitHub: an item's ``html_url``, a person's ``profile_url`` and
``avatar_url``, a repository's ``html_url``. They come from GitHub payloads and from imported localStorage
exports — both untrusted — and a client renders them as links and images. So a URL is served only when it
is ``https`` on one of GitHub's hosts, or on the configured ``GITHUB_WEB_URL`` host (GitHub Enterprise, or
a fake in development); anything else (``javascript:``, ``data:``, ``http://evil.example``) is dropped or
rebuilt from what it names (the login, the repository and number).
"""

from __future__ import annotations

import functools
import re
from typing import overload
from urllib.parse import quote, urlsplit

from oss_tldr.settings import get_settings

GITHUB_WEB = "https://github.com"
WEB_HOSTS = frozenset({"github.com", "www.github.com"})
# GitHub's avatar hosts (avatars.githubusercontent.com; avatars0-3 in older payloads), not the rest of
# githubusercontent.com (raw., user-images., ... serve user-controlled content).
AVATAR_HOST = re.compile(r"(?:avatars\d?|private-avatars)\.githubusercontent\.com")
MAX_URL_CHARS = 512


@functools.cache
def _configured_origin(web_url: str) -> tuple[str, str]:
    parts = urlsplit(web_url)
    return parts.scheme, parts.netloc.lower()


def _parts(value: object) -> tuple[str, str, str] | None:
    if not isinstance(value, str) or not value or len(value) > MAX_URL_CHARS:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port  # noqa: F841 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.netloc.lower()


def _is_configured_web(scheme: str, netloc: str) -> bool:
    conf_scheme, conf_netloc = _configured_origin(get_settings().github_web_url)
    return scheme == conf_scheme and netloc == conf_netloc


def is_github_web_url(value: object) -> bool:
    """``https`` on github.com (or the configured web host, with its scheme)."""
    parts = _parts(value)
    if parts is None:
        return False
    scheme, host, netloc = parts
    return (scheme == "https" and host in WEB_HOSTS and netloc == host) or _is_configured_web(scheme, netloc)


def is_avatar_url(value: object) -> bool:
    """``https`` on a GitHub avatar host (``avatars.githubusercontent.com``) or a GitHub web host."""
    parts = _parts(value)
    if parts is None:
        return False
    scheme, host, netloc = parts
    if scheme == "https" and netloc == host and AVATAR_HOST.fullmatch(host):
        return True
    return is_github_web_url(value)


@overload
def safe_web_url(value: object, fallback: str) -> str: ...
@overload
def safe_web_url(value: object, fallback: None = None) -> str | None: ...
def safe_web_url(value: object, fallback: str | None = None) -> str | None:
    """``value`` when it is a GitHub web URL, else ``fallback`` (built by the caller from trusted parts)."""
    return value if is_github_web_url(value) and isinstance(value, str) else fallback


def safe_avatar_url(value: object) -> str | None:
    """``value`` when it is a GitHub avatar URL, else None (the SPA shows a placeholder)."""
    return value if is_avatar_url(value) and isinstance(value, str) else None


def profile_url(login: str) -> str:
    """A user's GitHub profile, built from the login alone."""
    return f"{GITHUB_WEB}/{quote(login, safe='')}"


def repository_url(full_name: str) -> str:
    owner, _, name = full_name.partition("/")
    return f"{GITHUB_WEB}/{quote(owner, safe='')}/{quote(name, safe='')}"


def item_url(full_name: str, number: int, *, pull_request: bool) -> str:
    kind = "pull" if pull_request else "issues"
    return f"{repository_url(full_name)}/{kind}/{int(number)}"
