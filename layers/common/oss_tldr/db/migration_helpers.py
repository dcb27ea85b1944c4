"""Helpers shared by Alembic revisions (things autogenerate does not see, such as triggers)."""

from __future__ import annotations

from alembic import op

UPDATED_AT_FUNCTION = "set_updated_at"


def create_updated_at_function() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {UPDATED_AT_FUNCTION}() RETURNS trigger AS $$
        BEGIN
            NEW.updated_at = now();
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )


def drop_updated_at_function() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {UPDATED_AT_FUNCTION}()")


def create_updated_at_trigger(table: str) -> None:
    """Keep ``table.updated_at`` current on every UPDATE (the function comes from the first revision)."""
    op.execute(
        f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {UPDATED_AT_FUNCTION}()"
    )


def drop_updated_at_trigger(table: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_updated_at ON {table}")
