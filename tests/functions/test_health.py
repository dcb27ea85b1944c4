"""The health function, invoked in-process with events/health.json."""

from __future__ import annotations

import json

from helpers import load_event

from tools.lambda_local import load_handler


def test_health_reports_ok_when_database_answers(engine, lambda_context):
    response = load_handler("HealthFunction")(load_event("health.json"), lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok", "database": "ok"}


def test_health_is_503_when_database_is_down(engine, lambda_context, monkeypatch):
    from oss_tldr.db import engine as db_engine
    from oss_tldr.settings import reset_settings_cache

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    reset_settings_cache()
    db_engine.reset_engine()
    try:
        response = load_handler("HealthFunction")(load_event("health.json"), lambda_context)
    finally:
        monkeypatch.undo()
        reset_settings_cache()
        db_engine.reset_engine()
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["database"] == "unavailable"
