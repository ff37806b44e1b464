"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect

from storage import migrate
from storage.database import make_engine
from storage.models import Base


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_single_head() -> None:
    assert migrate.head() == "0012"


def test_upgrade_builds_the_models_schema(empty_database_url: str) -> None:
    assert migrate.current(empty_database_url) is None
    migrate.upgrade(empty_database_url)
    assert migrate.current(empty_database_url) == migrate.head()
    assert _differences(empty_database_url) == []


def test_check_constraints_and_partial_index_exist(database_url: str) -> None:
    """Autogenerate ignores CHECK constraints and index predicates: compare them here."""
    engine = make_engine(database_url)
    try:
        inspector = inspect(engine)
        for table in Base.metadata.sorted_tables:
            expected = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
            found = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert found == expected, table.name
        [index] = [
            i for i in inspector.get_indexes("checkins") if i["name"] == "uq_checkins_one_active"
        ]
        assert index["unique"]
        where = index["dialect_options"].get(f"{engine.dialect.name}_where")
        assert where is not None and "active" in str(where)
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_reverses_it(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    migrate.upgrade(empty_database_url)
    command.downgrade(migrate.alembic_config(empty_database_url), "base")
    engine = make_engine(empty_database_url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(empty_database_url)
    assert _differences(empty_database_url) == []


@pytest.mark.slow
def test_concurrent_upgrades_at_start_up(empty_database_url: str) -> None:
    """Several processes starting together must not trip over each other's migrations."""
    code = "import sys; from storage.migrate import upgrade; upgrade(sys.argv[1])"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, empty_database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert migrate.current(empty_database_url) == migrate.head()
    assert _differences(empty_database_url) == []
