from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration.servers import Postgres, postgres_cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One real PostgreSQL server for the whole session."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres: Postgres) -> Iterator[str]:
    """A fresh empty database on the session's server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres.sql(f'CREATE DATABASE "{name}"')
    yield postgres.url(name)
    postgres.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
