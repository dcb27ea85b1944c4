"""Key material for sessions and token encryption: Secrets Manager / KMS in AWS, generated files locally.

JWT signing keys are a key ring ``{"active": kid, "keys": {kid: secret}}``. New tokens are signed with
the active key; any listed key verifies, so adding a key, making it active and removing the old one a day
later (the session lifetime) rotates keys without signing anyone out. In AWS the ring is the JSON secret
behind ``JWT_SECRET_ARN`` (cached five minutes per container); locally it is a generated, git-ignored file
under ``.oss-tldr/``.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from oss_tldr.errors import ConfigurationError
from oss_tldr.secrets import fetch_secret
from oss_tldr.settings import Settings

LOCAL_JWT_KEYS_FILE = "jwt-keys.json"
LOCAL_TOKEN_KEY_FILE = "token-encryption.key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class KeyRing:
    active: str
    keys: Mapping[str, bytes]

    def __repr__(self) -> str:  # never show key material
        return f"KeyRing(active={self.active!r}, kids={sorted(self.keys)!r})"

    @property
    def active_key(self) -> bytes:
        return self.keys[self.active]


@functools.lru_cache(maxsize=4)
def parse_key_ring(raw: str) -> KeyRing:
    """``{"active": kid, "keys": {kid: secret}}``, or the flat ``{"active": kid, kid: secret, ...}`` that
    Secrets Manager's generated secrets produce. Cached by content: every request verifies a token, and the
    secret (cached by Powertools) or the local file only changes on rotation."""
    try:
        data = json.loads(raw)
        active = str(data["active"])
        ring = data["keys"] if "keys" in data else {k: v for k, v in data.items() if k != "active"}
        keys = {str(kid): str(value).encode() for kid, value in dict(ring).items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError('The JWT key ring must be {"active": kid, "keys": {kid: secret}}') from exc
    if active not in keys:
        raise ConfigurationError("The active JWT key id is not in the key ring")
    if any(len(value) < MIN_SECRET_BYTES for value in keys.values()):
        raise ConfigurationError(f"Every JWT signing key must be at least {MIN_SECRET_BYTES} bytes")
    return KeyRing(active=active, keys=keys)


def _write_private(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    try:
        os.link(tmp, path)  # atomic, and never replaces a key another process created first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def _local_file(settings: Settings, name: str, generate: str) -> str:
    path = settings.local_state_dir / name
    if not path.exists():
        _write_private(path, generate)
    return path.read_text()


def jwt_key_ring(settings: Settings) -> KeyRing:
    """The signing key ring: Secrets Manager when ``JWT_SECRET_ARN`` is set, else the local file."""
    if settings.jwt_secret_arn:
        return parse_key_ring(fetch_secret(settings.jwt_secret_arn))
    if settings.in_aws:
        raise ConfigurationError("JWT_SECRET_ARN must be set in AWS")
    fresh = json.dumps({"active": "local-1", "keys": {"local-1": secrets.token_urlsafe(48)}})
    return parse_key_ring(_local_file(settings, LOCAL_JWT_KEYS_FILE, fresh))


def local_token_key(settings: Settings) -> bytes:
    """The local key that wraps token data keys (used only when no KMS key is configured)."""
    if settings.in_aws:
        raise ConfigurationError("TOKEN_KMS_KEY_ID must be set in AWS")
    fresh = base64.b64encode(secrets.token_bytes(32)).decode()
    key = base64.b64decode(_local_file(settings, LOCAL_TOKEN_KEY_FILE, fresh))
    if len(key) != 32:
        raise ConfigurationError(f"{LOCAL_TOKEN_KEY_FILE} must hold a base64 256-bit key")
    return key
