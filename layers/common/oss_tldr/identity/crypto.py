"""Envelope encryption of GitHub tokens, bound to the user id.

Each record gets a fresh 256-bit data key; the token is sealed with AES-256-GCM under it, with the
encryption context as associated data. The data key is stored only encrypted: by KMS (``GenerateDataKey``
with ``EncryptionContext={"user_id": ...}``) in AWS, or locally by AES-GCM under a generated key file.
A row copied to another user, or a data key replayed with another context, fails to decrypt.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oss_tldr.errors import ServiceUnavailable
from oss_tldr.identity.keys import local_token_key
from oss_tldr.observability import logger
from oss_tldr.settings import Settings, get_settings

NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """The sealed value cannot be opened with this context (tampered, or bound to someone else)."""


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    encrypted_data_key: bytes
    key_provider: str

    def __repr__(self) -> str:
        return f"Sealed(provider={self.key_provider!r}, bytes={len(self.ciphertext)})"


def _aad(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()


class KeyProvider(Protocol):
    name: str

    def new_data_key(self, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        """(plaintext data key, encrypted data key)"""

    def decrypt_data_key(self, encrypted: bytes, context: Mapping[str, str]) -> bytes: ...


class LocalKeyProvider:
    """Data keys wrapped by AES-GCM under the local key file (development and tests)."""

    name = "local"

    def __init__(self, master: bytes) -> None:
        self._master = AESGCM(master)

    def new_data_key(self, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(NONCE_BYTES)
        return data_key, nonce + self._master.encrypt(nonce, data_key, _aad(context))

    def decrypt_data_key(self, encrypted: bytes, context: Mapping[str, str]) -> bytes:
        try:
            return self._master.decrypt(encrypted[:NONCE_BYTES], encrypted[NONCE_BYTES:], _aad(context))
        except InvalidTag as exc:
            raise DecryptionFailed() from exc


class KmsKeyProvider:
    """Data keys from AWS KMS, bound to the encryption context."""

    name = "kms"

    def __init__(self, key_id: str, client: Any) -> None:
        self._key_id = key_id
        self._kms = client

    def new_data_key(self, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        try:
            out = self._kms.generate_data_key(
                KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=dict(context)
            )
        except Exception as exc:  # botocore errors: KMS down or misconfigured
            logger.warning("kms generate_data_key failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailable("Token encryption is unavailable right now.") from exc
        return bytes(out["Plaintext"]), bytes(out["CiphertextBlob"])

    def decrypt_data_key(self, encrypted: bytes, context: Mapping[str, str]) -> bytes:
        try:
            out = self._kms.decrypt(CiphertextBlob=encrypted, EncryptionContext=dict(context))
        except self._kms.exceptions.InvalidCiphertextException as exc:
            raise DecryptionFailed() from exc
        except Exception as exc:
            logger.warning("kms decrypt failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailable("Token decryption is unavailable right now.") from exc
        return bytes(out["Plaintext"])


@functools.cache
def _kms_client(region: str) -> Any:
    import boto3  # only the AWS path needs it

    return boto3.client("kms", region_name=region)


def reset_kms_client() -> None:
    """The next KMS call gets a new client (fresh credentials after a SnapStart restore)."""
    _kms_client.cache_clear()


def key_provider(settings: Settings | None = None) -> KeyProvider:
    settings = settings or get_settings()
    if settings.token_kms_key_id:
        return KmsKeyProvider(settings.token_kms_key_id, _kms_client(settings.aws_region))
    return LocalKeyProvider(local_token_key(settings))


def seal(plaintext: str, context: Mapping[str, str], provider: KeyProvider | None = None) -> Sealed:
    provider = provider or key_provider()
    data_key, encrypted_key = provider.new_data_key(context)
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext.encode(), _aad(context))
    return Sealed(ciphertext, nonce, encrypted_key, provider.name)


def unseal(sealed: Sealed, context: Mapping[str, str], provider: KeyProvider | None = None) -> str:
    provider = provider or key_provider()
    data_key = provider.decrypt_data_key(sealed.encrypted_data_key, context)
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, _aad(context)).decode()
    except InvalidTag as exc:
        raise DecryptionFailed() from exc


def user_context(user_id: int) -> dict[str, str]:
    return {"user_id": str(user_id)}
