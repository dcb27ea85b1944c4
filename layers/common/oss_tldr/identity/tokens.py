"""Users' GitHub access tokens: sealed before they reach the database, opened only when a call needs one.

Encryption (a KMS round trip in AWS) happens outside any database transaction; the data access functions
only move sealed bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from oss_tldr.db.engine import connection_scope
from oss_tldr.db.tables import github_tokens
from oss_tldr.identity.crypto import DecryptionFailed, Sealed, key_provider, seal, unseal, user_context
from oss_tldr.observability import logger

if TYPE_CHECKING:
    from oss_tldr.db.engine import Executor


def seal_github_token(user_id: int, token: str) -> Sealed:
    return seal(token, user_context(user_id))


def save_sealed_token(session: Executor, user_id: int, sealed: Sealed, scopes: str | None = None) -> None:
    values = {
        "ciphertext": sealed.ciphertext,
        "nonce": sealed.nonce,
        "encrypted_data_key": sealed.encrypted_data_key,
        "key_provider": sealed.key_provider,
        "scopes": scopes,
    }
    session.execute(
        insert(github_tokens)
        .values(user_id=user_id, **values)
        .on_conflict_do_update(index_elements=[github_tokens.c.user_id], set_=values)
    )


def load_sealed_token(session: Executor, user_id: int) -> Sealed | None:
    t = github_tokens.c
    row = session.execute(
        select(t.ciphertext, t.nonce, t.encrypted_data_key, t.key_provider).where(t.user_id == user_id)
    ).one_or_none()
    if row is None:
        return None
    return Sealed(row.ciphertext, row.nonce, row.encrypted_data_key, row.key_provider)


def github_token_for(user_id: int) -> str | None:
    """The user's GitHub token in clear, or None when none is stored or it cannot be opened.

    Uses its own short database session, closed before decryption (and before any GitHub call)."""
    with connection_scope() as session:
        sealed = load_sealed_token(session, user_id)
    if sealed is None:
        return None
    provider = key_provider()
    if sealed.key_provider != provider.name:
        logger.warning("stored token sealed by another key provider", extra={"user_id": user_id})
        return None
    try:
        return unseal(sealed, user_context(user_id), provider)
    except DecryptionFailed:
        logger.warning("stored token could not be decrypted", extra={"user_id": user_id})
        return None
