"""Run Alembic migrations programmatically (``make migrate``, ``make dev``, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from oss_tldr.db.engine import get_engine

REPO_ROOT = Path(__file__).resolve().parents[4]


def alembic_config(engine: Engine | None = None, *, root: Path = REPO_ROOT) -> Config:
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.attributes["configure_logging"] = False
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def _with_connection(engine: Engine | None, action: str, target: str) -> None:
    engine = engine or get_engine()
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, target)


def upgrade(engine: Engine | None = None, target: str = "heads") -> None:
    _with_connection(engine, "upgrade", target)


def downgrade(engine: Engine | None = None, target: str = "base") -> None:
    _with_connection(engine, "downgrade", target)
