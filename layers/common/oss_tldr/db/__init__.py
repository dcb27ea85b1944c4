"""Database access: the engine (one per container), sessions, ORM models and migrations."""

from oss_tldr.db.engine import database_url, get_engine, ping, reset_engine, session_scope

__all__ = ["database_url", "get_engine", "ping", "reset_engine", "session_scope"]
