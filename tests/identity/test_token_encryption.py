"""GitHub tokens at rest: envelope-encrypted, bound to the user id, never in clear in the database."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import text, update

from oss_tldr.db.models import GitHubToken
from oss_tldr.identity.crypto import (
    DecryptionFailed,
    KmsKeyProvider,
    LocalKeyProvider,
    seal,
    unseal,
    user_context,
)
from oss_tldr.identity.tokens import github_token_for, load_sealed_token

FAKE_TOKEN = "gho_fake_plaintext_token_0123456789"


def _dump_database_text(db) -> str:
    """Every text, JSON and bytea value of every table, as one string (like grepping a pg_dump)."""
    tables = db.execute(
        text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    ).scalars()
    chunks = []
    for table in tables:
        for row in db.execute(text(f'SELECT * FROM "{table}"')).mappings():
            for value in row.values():
                if isinstance(value, bytes | memoryview):
                    raw = bytes(value)
                    chunks += [raw.decode("latin-1"), raw.hex()]
                else:
                    chunks.append(str(value))
    return "\n".join(chunks)


def test_database_holds_no_plaintext_github_token(make_user, db):
    make_user(id=1, login="alice", github_token=FAKE_TOKEN)
    dump = _dump_database_text(db)
    assert "alice" in dump  # the dump does see the data
    assert FAKE_TOKEN not in dump
    assert FAKE_TOKEN.encode().hex() not in dump
    assert github_token_for(1) == FAKE_TOKEN


def test_user_without_stored_token_has_none(make_user):
    make_user(id=3, github_token=None)
    assert github_token_for(3) is None
    assert github_token_for(999) is None


def test_a_token_row_copied_to_another_user_does_not_decrypt(make_user, db):
    make_user(id=1, login="alice", github_token=FAKE_TOKEN)
    make_user(id=2, login="bob", github_token="gho_fake_bob")
    alice_row = load_sealed_token(db, 1)
    db.execute(
        update(GitHubToken)
        .where(GitHubToken.user_id == 2)
        .values(
            ciphertext=alice_row.ciphertext,
            nonce=alice_row.nonce,
            encrypted_data_key=alice_row.encrypted_data_key,
        )
    )
    db.commit()
    assert github_token_for(2) is None


def test_tampered_ciphertext_does_not_decrypt():
    provider = LocalKeyProvider(b"k" * 32)
    sealed = seal(FAKE_TOKEN, user_context(1), provider)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(DecryptionFailed):
        unseal(
            type(sealed)(flipped, sealed.nonce, sealed.encrypted_data_key, "local"), user_context(1), provider
        )


def test_each_record_gets_its_own_data_key():
    provider = LocalKeyProvider(b"k" * 32)
    a, b = seal(FAKE_TOKEN, user_context(1), provider), seal(FAKE_TOKEN, user_context(1), provider)
    assert a.encrypted_data_key != b.encrypted_data_key
    assert a.ciphertext != b.ciphertext


@mock_aws
def test_kms_envelope_round_trips_and_binds_the_user_id():
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = kms.create_key(Description="fake token key")["KeyMetadata"]["KeyId"]
    provider = KmsKeyProvider(key_id, kms)
    sealed = seal(FAKE_TOKEN, user_context(42), provider)
    assert sealed.key_provider == "kms"
    assert FAKE_TOKEN.encode() not in sealed.ciphertext + sealed.encrypted_data_key
    assert unseal(sealed, user_context(42), provider) == FAKE_TOKEN
    with pytest.raises(DecryptionFailed):
        unseal(sealed, user_context(43), provider)


@mock_aws
def test_sign_in_path_with_kms_configured_stores_only_ciphertext(make_user, db, settings_env):
    from oss_tldr.identity import crypto

    kms = boto3.client("kms", region_name="us-east-1")
    key_id = kms.create_key(Description="fake token key")["KeyMetadata"]["KeyId"]
    settings_env(TOKEN_KMS_KEY_ID=key_id)
    crypto._kms_client.cache_clear()
    try:
        make_user(id=5, login="carol", github_token=FAKE_TOKEN)
        assert db.scalar(text("SELECT key_provider FROM github_tokens WHERE user_id = 5")) == "kms"
        assert FAKE_TOKEN not in _dump_database_text(db)
        assert github_token_for(5) == FAKE_TOKEN
    finally:
        crypto._kms_client.cache_clear()
