"""The real PostgreSQL the tests start, and the primitives issue 13's store relies on.

Several Herald instances sharing one PostgreSQL will elect their single pollers with
advisory locks, wake each other with LISTEN/NOTIFY and share out queued work with
`FOR UPDATE SKIP LOCKED`; these tests pin that the server does so, across connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from tests.postgres import NewDatabase

Connect = Callable[[str], Awaitable[asyncpg.Connection]]
LOCK_KEY = 13  # any 64-bit key: Herald will name one per poller


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Opens connections that are closed after the test."""
    connections: list[asyncpg.Connection] = []

    async def open_connection(url: str) -> asyncpg.Connection:
        connection = await asyncpg.connect(url)
        connections.append(connection)
        return connection

    yield open_connection
    for connection in connections:
        await connection.close()


async def test_the_server_is_postgresql_15_or_newer(postgres_url: str, connect: Connect) -> None:
    connection = await connect(postgres_url)
    assert connection.get_server_version().major >= 15
    assert await connection.fetchval("SELECT current_setting('server_encoding')") == "UTF8"


async def test_fresh_databases_start_empty_and_stay_apart(
    new_postgres_database: NewDatabase, connect: Connect
) -> None:
    first = await connect(await new_postgres_database())
    second = await connect(await new_postgres_database())
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert await first.fetchval(tables) == 0
    assert await second.fetchval(tables) == 0

    await first.execute("CREATE TABLE items (id int PRIMARY KEY)")
    await first.execute("INSERT INTO items VALUES (1)")

    assert await first.fetchval("SELECT count(*) FROM items") == 1
    assert await second.fetchval("SELECT to_regclass('items')") is None
    assert await first.fetchval("SELECT current_database()") != await second.fetchval(
        "SELECT current_database()"
    )


async def test_an_advisory_lock_is_held_by_one_connection_until_it_goes(
    fresh_postgres_url: str, connect: Connect
) -> None:
    holder = await connect(fresh_postgres_url)
    other = await connect(fresh_postgres_url)
    try_lock = "SELECT pg_try_advisory_lock($1)"

    assert await holder.fetchval(try_lock, LOCK_KEY) is True
    assert await other.fetchval(try_lock, LOCK_KEY) is False
    assert await other.fetchval(try_lock, LOCK_KEY + 1) is True  # other keys are free

    assert await holder.fetchval("SELECT pg_advisory_unlock($1)", LOCK_KEY) is True
    assert await other.fetchval(try_lock, LOCK_KEY) is True
    assert await holder.fetchval(try_lock, LOCK_KEY) is False

    await other.close()  # a crashed holder's connection ends: its locks go with it
    assert await holder.fetchval(try_lock, LOCK_KEY) is True


async def test_notify_reaches_a_listener_on_another_connection_once_committed(
    fresh_postgres_url: str, connect: Connect
) -> None:
    listener = await connect(fresh_postgres_url)
    sender = await connect(fresh_postgres_url)
    received: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    await listener.add_listener(
        "herald_work", lambda _conn, _pid, channel, payload: received.put_nowait((channel, payload))
    )

    async with sender.transaction():
        await sender.execute("SELECT pg_notify('herald_work', 'pending')")
    rolled_back = sender.transaction()
    await rolled_back.start()
    await sender.execute("SELECT pg_notify('herald_work', 'rolled back')")
    await rolled_back.rollback()
    await sender.execute("SELECT pg_notify('herald_work', 'after')")

    # Delivered in commit order, and the rolled-back one never: it would come between.
    assert await asyncio.wait_for(received.get(), 5) == ("herald_work", "pending")
    assert await asyncio.wait_for(received.get(), 5) == ("herald_work", "after")


async def test_skip_locked_hands_each_connection_a_different_row(
    fresh_postgres_url: str, connect: Connect
) -> None:
    first = await connect(fresh_postgres_url)
    second = await connect(fresh_postgres_url)
    await first.execute("CREATE TABLE jobs (id int PRIMARY KEY)")
    await first.execute("INSERT INTO jobs SELECT generate_series(1, 3)")
    claim = "SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"

    async with first.transaction():
        assert await first.fetchval(claim) == 1
        async with second.transaction():
            assert await second.fetchval(claim) == 2
            with pytest.raises(asyncpg.LockNotAvailableError):
                await second.fetchval("SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT")
        async with second.transaction():
            assert await second.fetchval(claim) == 2  # released with its transaction
    async with second.transaction():
        assert await second.fetchval(claim) == 1  # and so is the first's
