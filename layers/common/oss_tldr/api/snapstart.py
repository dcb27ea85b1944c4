"""SnapStart runtime hooks (template.yaml: ``SnapStart: ApplyOn: PublishedVersions`` on the API functions).

Lambda initialises a function version once, snapshots its memory, and resumes every new execution
environment from that snapshot, possibly hours later and many times over. Whatever the initialisation
cached that is tied to time, to a connection or to credentials is refreshed here:

* before the snapshot: the database engines' pooled connections are closed (none is frozen half-open), and
  the modules the function's miss paths import when they first run (the ORM and its models, the GitHub and
  OpenAI clients: kept off the import so that a cold start without SnapStart serves a hit sooner) are
  imported now, so that a restored environment's first miss does not pay for them;
* after each restore: the pooled connections again (a connection opened since the snapshot is dead in a
  restored copy), the RDS IAM auth tokens and their RDS client (a token is valid 15 minutes), the KMS
  client of the token encryption (its credentials), the secrets cached by Powertools (the session signing
  keys, the OpenAI key, the GitHub client secret: a rotation since the snapshot must be seen), the parsed
  key rings, and the ``random`` generator's state (every restored copy would otherwise draw the same
  retry jitter).

``snapshot_restore_py`` ships with the Lambda Python runtime only: elsewhere (tests, ``make dev``) nothing
is registered, and :func:`before_snapshot` / :func:`after_restore` can be called directly.
"""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Callable
from typing import Any

from oss_tldr import secrets
from oss_tldr.db import engine as db_engine
from oss_tldr.db import iam
from oss_tldr.observability import logger

_registered = False
_primed: list[str] = []  # modules imported before the snapshot (the entry points' ``prime``)


def before_snapshot() -> None:
    for module in _primed:
        importlib.import_module(module)
    orm = sys.modules.get("sqlalchemy.orm")
    if orm is not None:
        orm.configure_mappers()  # what the first ORM query would do
    db_engine.dispose_all_engines()
    iam.forget_all_tokens()


def after_restore() -> None:
    db_engine.dispose_all_engines()
    iam.forget_all_tokens()
    # What a function never imported holds no cache (and importing it now would only slow the restore).
    crypto = sys.modules.get("oss_tldr.identity.crypto")
    if crypto is not None:
        crypto.reset_kms_client()
    keys = sys.modules.get("oss_tldr.identity.keys")
    if keys is not None:
        keys.parse_key_ring.cache_clear()
    secrets.forget_secrets()
    random.seed()
    logger.debug("restored from a SnapStart snapshot: connections, tokens, keys and secrets refreshed")


def _runtime_hooks() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found, unused-ignore]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:  # not the Lambda runtime
        return None
    return register_before_snapshot, register_after_restore


def register(prime: tuple[str, ...] = ()) -> bool:
    """Register the hooks once per process when the runtime offers them; True when registered. ``prime``
    names modules to import before the snapshot (the function's miss paths)."""
    global _registered
    _primed.extend(module for module in prime if module not in _primed)
    if _registered:
        return True
    hooks = _runtime_hooks()
    if hooks is None:
        return False
    register_before_snapshot, register_after_restore = hooks
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    _registered = True
    return True
