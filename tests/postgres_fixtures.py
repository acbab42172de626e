"""PostgreSQL fixtures: one private cluster per session, a fresh database per test.

Registered in ``tests/conftest.py``. Without a PostgreSQL server installed they fail
(with :class:`~simulators.postgres.PostgresUnavailableError`) instead of skipping: CI
installs it (``make deps``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from simulators.postgres import PostgresCluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL server for the session, stopped and removed at its end."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """URL of a new, empty database owned by ``cccd``, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = postgres_cluster.create_database(name)
    yield url
    postgres_cluster.drop_database(name)
