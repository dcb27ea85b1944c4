"""``X-Hub-Signature-256``: ``sha256=`` and the hex HMAC-SHA256 of the exact bytes GitHub sent, keyed by the
webhook secret (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

The comparison is :func:`hmac.compare_digest` (constant time); a missing header, another algorithm, a
malformed digest or no secret at all never verifies.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "x-hub-signature-256"
_PREFIX = "sha256="


def sign(secret: str, raw_body: bytes) -> str:
    """The header GitHub sends for ``raw_body`` under ``secret`` (``sha256=<hex>``)."""
    return _PREFIX + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | None, raw_body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``raw_body`` under ``secret``. False without a secret."""
    if not secret or not header or not header.startswith(_PREFIX):
        return False
    given = header[len(_PREFIX) :].strip().lower()
    if len(given) != hashlib.sha256().digest_size * 2:
        return False
    expected = sign(secret, raw_body)[len(_PREFIX) :]
    return hmac.compare_digest(given.encode("ascii", "replace"), expected.encode("ascii"))
