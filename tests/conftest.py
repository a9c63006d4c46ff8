"""Shared fixtures: a migrated context store on SQLite and on PostgreSQL, and a tenant in it.

The PostgreSQL database is created once per test session (its name carries the pid so parallel
sessions do not collide) and truncated between tests.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import text

from bots.support import bot as support_bot
from core.model.gateway import OpenAIGateway
from core.records import Principal, Role
from core.scripted_model import Script, ScriptedModelServer
from core.settings import ModelSettings
from core.store.context import ContextStore
from core.store.database import Database
from core.store.migrate import migrate
from core.store.schema import metadata

PG_ADMIN_URL = os.environ.get("SWITCHBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# The fast subset, `pytest -m "not slow"`, leaves out what the full suite's durations
# (`--durations=0` on a 2-core machine) show to cost most: on top of the tests marked slow in their
# modules (worker processes: the crash matrix, worker death, delivery faults, 10,000 waiting runs),
# the PostgreSQL half of every parametrised test (about half the suite's time, each case taking
# about twice its SQLite twin), the browser tests, and these:
_SLOW_MODULES = (
    "tests/channels/api/test_schemathesis.py",  # every API operation fuzzed: 110 s
    "tests/scale/test_celery_queue.py",  # Celery worker processes: 15 s
    "tests/service/cli/",  # `switchboard` in real processes, a served API behind them: 90 s
    "tests/service/test_shutdown.py",  # `switchboard serve` started and interrupted: 24 s
)
_SLOW_TESTS = (
    "test_500_schedules_in_one_minute_all_fire_within_the_tenant_limits",  # 16 s on SQLite
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path, _, name = item.nodeid.partition("::")
        if (
            item.get_closest_marker("postgres") is not None
            or item.get_closest_marker("browser") is not None
            or path.startswith(_SLOW_MODULES)
            or name.split("[")[0] in _SLOW_TESTS
        ):
            item.add_marker(pytest.mark.slow)


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable")
    name = f"switchboard_test_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    async def _migrate() -> None:
        db = Database(url)
        await migrate(db)
        await db.close()

    asyncio.run(_migrate())
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/switchboard.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ContextStore]:
    store = ContextStore.open(database_url)
    if database_url.startswith("sqlite"):
        await migrate(store.db)
    else:
        truncate = text("TRUNCATE " + ", ".join(t.name for t in metadata.sorted_tables) + " CASCADE")
        await store.db.run(lambda conn: conn.execute(truncate))
    yield store
    await store.close()


@dataclass(frozen=True)
class TenantFixture:
    id: str
    member: Principal
    other_member: Principal
    admin: Principal


async def make_tenant(store: ContextStore, name: str = "acme") -> TenantFixture:
    tenant_id = await store.directory.create_tenant(name)
    alice = await store.directory.create_user(tenant_id, "alice")
    bob = await store.directory.create_user(tenant_id, "bob")
    root = await store.directory.create_user(tenant_id, "root", Role.ADMIN)
    return TenantFixture(
        id=tenant_id,
        member=Principal(tenant_id, alice.id, Role.MEMBER),
        other_member=Principal(tenant_id, bob.id, Role.MEMBER),
        admin=Principal(tenant_id, root.id, Role.ADMIN),
    )


@pytest.fixture
async def tenant(store: ContextStore) -> TenantFixture:
    return await make_tenant(store)


# The support bot's offline demo script on the scripted model server, through the real openai client.
@pytest.fixture(scope="module")
def demo_server() -> Iterator[ScriptedModelServer]:
    assert support_bot.demo_script is not None
    with ScriptedModelServer(Script.from_yaml(support_bot.demo_script)) as server:
        yield server


@pytest.fixture
async def demo_model(demo_server: ScriptedModelServer) -> AsyncIterator[OpenAIGateway]:
    demo_server.reset()
    async with OpenAIGateway(ModelSettings(base_url=demo_server.base_url, max_retries=0)) as gateway:
        yield gateway
