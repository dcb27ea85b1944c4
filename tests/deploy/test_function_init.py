"""What a function's initialisation leaves behind (the collector, the SnapStart snapshot), each
checked in a fresh interpreter as a new Lambda environment would start."""

from __future__ import annotations

import pytest
from helpers import fresh_interpreter

_FAILED_IMPORT = """
import gc, json
from tools.lambda_local import load_module
try:
    load_module("HealthFunction")
except Exception as exc:
    failed = type(exc).__name__
else:
    failed = None
print(json.dumps({"failed": failed, "gc_enabled": gc.isenabled()}))
"""

_SNAPSHOT = """
import json, sys, types
hooks = []
fake = types.ModuleType("snapshot_restore_py")
fake.register_before_snapshot = hooks.append
fake.register_after_restore = lambda hook: None
sys.modules["snapshot_restore_py"] = fake
from tools.lambda_local import load_module
load_module(sys.argv[1])
for hook in hooks:
    hook()
print(json.dumps({name: name in sys.modules for name in ("sqlalchemy.orm", "oss_tldr.db.models")}))
"""


def _run(script: str, *args: str, **env: str) -> dict:
    [result] = fresh_interpreter(script, *args, **env)
    return result


def test_a_function_whose_import_fails_leaves_the_collector_on():
    """app.py turns the collector off on its first line and only ``lambda_entrypoint`` (its last) turns it
    back on: an import that raises in between (here a bad setting read by ``create_app``) must not leave a
    host that survives it (``make dev``'s server, ``tools.invoke``, a test process) without a collector."""
    result = _run(_FAILED_IMPORT, SESSION_TTL_SECONDS="1")
    assert result == {"failed": "ConfigurationError", "gc_enabled": True}


@pytest.mark.parametrize(
    ("function", "models"),
    # The deep dive's miss runs an ORM session (the repository's row: reports.access.upsert_repository)
    # but no statement on the models; the reports' and the import's misses use both.
    [("ReportsFunction", True), ("ReposFunction", True), ("DeepDiveFunction", False)],
)
def test_the_snapshot_holds_the_orm_a_miss_uses(function, models):
    """Before the cold-start cut the ORM and the models were imported at initialisation, so a SnapStart
    snapshot held them; the cut moved them onto the miss paths and ``lambda_entrypoint(prime=...)`` was
    added to import them before the snapshot instead (oss_tldr.api.snapstart, docs/architecture.md). A
    function whose miss path runs ORM statements must name them, or a restored environment's first miss
    pays for the ORM's import and mapper configuration again."""
    loaded = _run(_SNAPSHOT, function)
    assert loaded["sqlalchemy.orm"] is True
    if models:
        assert loaded["oss_tldr.db.models"] is True
