"""Migration function: the schema and the application role on every deploy (no HTTP route).

Invoked by the ``DatabaseMigration`` custom resource (Create/Update: ``alembic upgrade <MigrationHead>``
under a lock, then the role; Delete: nothing) or directly (``{"action": "downgrade", "steps": 1}``); see
:mod:`oss_tldr.maintenance.migration` and docs/deployment.md. The package holds ``migrations/`` and
``alembic.ini`` beside this file (symbolic links in the repository, copied by ``sam build``) and alembic
(``requirements.txt``: the layer does not ship it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oss_tldr.maintenance.migration import handle
from oss_tldr.observability import logger

HERE = Path(__file__).resolve().parent


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, root=HERE)
