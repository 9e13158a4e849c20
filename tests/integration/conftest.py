from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from dialer.config import Settings, SipSettings
from dialer.demo.smsc_sink import SmscSink
from dialer.runtime import create_app
from sip.stack import SipStack
from tests.integration.api_fixtures import make_tenants, with_operators
from tests.integration.servers import Postgres, free_port, postgres_cluster


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


@pytest.fixture
async def tenants(tmp_path):
    """Two projects with a token each on a migrated SQLite file (see api_fixtures)."""
    return await make_tenants(tmp_path)


@pytest.fixture
async def client(aiohttp_client, tenants):
    """The dialer's web app served on loopback for ``tenants``."""
    return await aiohttp_client(create_app(tenants.settings))


@pytest.fixture
async def engine_client(aiohttp_client, tenants):
    """The app with the dialing engine running (no trunk, no phone) and operators anna and boris."""
    await with_operators(tenants)
    settings = Settings(database=tenants.settings.database,
                        sip=SipSettings(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM)))  # fmt: skip
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def stack():
    """A SIP stack on a free loopback port, closed after the test."""
    sip = SipStack()
    await sip.open("127.0.0.1", 0)
    yield sip
    sip.close()


@pytest.fixture
async def smsc(aiohttp_server):
    """The SMSC.ru stand-in on loopback (delivers at once): the sink and its base URL."""
    sink = SmscSink(deliver_after=0.0)
    server = await aiohttp_server(sink.app())
    return sink, str(server.make_url("")).rstrip("/")
