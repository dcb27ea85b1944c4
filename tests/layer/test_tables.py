"""oss_tldr.db.tables, the Core clauses of the hit paths, agree with the ORM models they mirror: the same
table, every column there, with the same type (the models are checked against the migrated schema by
test_migrations, so these are too)."""

from __future__ import annotations

import pytest
from sqlalchemy.types import NullType

from oss_tldr.db import tables
from oss_tldr.db.models import Base

CLAUSES = tables.all_tables()


def test_the_module_describes_tables():
    assert {"users", "sessions", "audit_log"} <= set(CLAUSES)


@pytest.mark.parametrize("name", sorted(CLAUSES))
def test_a_clause_is_a_subset_of_its_model_with_the_same_types(name):
    model = Base.metadata.tables.get(name)
    assert model is not None, f"{name} is not a table of the models"
    for col in CLAUSES[name].c:
        assert col.name in model.c, f"{name}.{col.name} is not a column of the model"
        assert not isinstance(col.type, NullType), f"{name}.{col.name} has no type"
        expected = model.c[col.name].type
        assert type(col.type) is type(expected), f"{name}.{col.name}: {col.type!r} vs {expected!r}"
        if hasattr(expected, "timezone"):
            assert col.type.timezone == expected.timezone, f"{name}.{col.name}: timezone differs"


def test_a_type_mismatch_is_caught():
    """The check above can fail: a clause typed unlike its model is refused."""
    from sqlalchemy import Integer, column, table

    wrong = table("users", column("id", Integer))
    assert type(wrong.c.id.type) is not type(Base.metadata.tables["users"].c.id.type)


def test_one_clause_per_table_named_after_it():
    """A second clause of the same table (another branch's columns) would be a second description to keep."""
    from sqlalchemy import TableClause

    named = {name: value for name, value in vars(tables).items() if isinstance(value, TableClause)}
    assert all(name == clause.name for name, clause in named.items()), named
