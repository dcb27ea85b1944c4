"""IAM auth tokens for RDS Proxy.

A token is a SigV4-presigned request, valid for 15 minutes *to open a connection*; established
connections stay open past it. We reuse one token for at most 10 minutes, so a connection opened at any
time gets a token with at least 5 minutes of validity left. Creating one is a local signing operation
(no network call), done only when a new DBAPI connection is opened.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from oss_tldr.settings import Settings

TOKEN_REUSE_SECONDS = 600
_providers: weakref.WeakSet[RdsIamTokenProvider] = weakref.WeakSet()


def forget_all_tokens() -> None:
    """Every provider of this process issues a new token (and a new RDS client) on its next connection:
    after a SnapStart restore the snapshot's token, signed at snapshot time, may be expired, and the
    client's credentials are the snapshot's (``oss_tldr.api.snapstart``)."""
    for provider in list(_providers):
        provider.forget()


class RdsIamTokenProvider:
    def __init__(self, settings: Settings, *, client: Any | None = None, clock: Any = time.monotonic) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._issued_at = 0.0
        self._own_client = client is None
        _providers.add(self)

    def forget(self) -> None:
        with self._lock:
            self._token = None
            if self._own_client:
                self._client = None

    def _rds(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("rds", region_name=self._settings.aws_region)
        return self._client

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._issued_at >= TOKEN_REUSE_SECONDS:
                self._token = self._rds().generate_db_auth_token(
                    DBHostname=self._settings.db_proxy_endpoint,
                    Port=self._settings.db_port,
                    DBUsername=self._settings.db_user,
                    Region=self._settings.aws_region,
                )
                self._issued_at = now
            return self._token
