"""PostgreSQL's schema, its migrations and the leases several Herald processes share work by."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import pytest

from bot.store.postgres import leases
from bot.store.postgres.migrations import migrate
from bot.store.postgres.schema import MIGRATIONS
from bot.store.sqlite import migrations as sqlite_schema

Connect = Callable[[], Awaitable[asyncpg.Connection]]
LATEST = MIGRATIONS[-1][0]
OWN = {"schema_migrations", "channel_leases", "job_leases"}  # not in SQLite's migrations
# SQLite's implicit rowid, which the store orders a channel's posts by (`card`), is a
# column on PostgreSQL (migration 2): every other column is the same on both.
ROWID = {("posts", "rowid"): ("bigint", False)}
# The PostgreSQL types an SQLite column's declared type may become.
TYPES = {
    "TEXT": {"text"},
    "REAL": {"double precision"},
    "INTEGER": {"integer", "bigint", "boolean"},
    "BLOB": {"bytea"},
}


@pytest.fixture
async def connect(fresh_postgres_url: str) -> AsyncIterator[Connect]:
    """Opens connections to this test's own database, closed after the test."""
    connections: list[asyncpg.Connection] = []

    async def open_connection() -> asyncpg.Connection:
        connection = await asyncpg.connect(fresh_postgres_url)
        connections.append(connection)
        return connection

    yield open_connection
    for connection in connections:
        await connection.close()


@pytest.fixture
async def db(connect: Connect) -> asyncpg.Connection:
    """A connection to a migrated database."""
    connection = await connect()
    await migrate(connection)
    return connection


@pytest.fixture
def sqlite() -> Iterator[sqlite3.Connection]:
    """An SQLite database after all of SQLite's migrations, to compare with.

    A table, column or index PostgreSQL adds or misses fails the comparison: a new SQLite
    migration needs its PostgreSQL twin."""
    db = sqlite3.connect(":memory:")
    for _, sql in sqlite_schema.MIGRATIONS:
        db.executescript(sql)
    yield db
    db.close()


async def applied(db: asyncpg.Connection) -> list[int]:
    return [r["version"] for r in await db.fetch("SELECT version FROM schema_migrations")]


async def test_migrating_again_changes_nothing(connect: Connect) -> None:
    db = await connect()
    assert await migrate(db) == LATEST
    instance = await db.fetchval("SELECT value FROM settings WHERE key = 'instance_id'")

    assert await migrate(db) == LATEST

    assert await applied(db) == [version for version, _ in MIGRATIONS]
    assert await db.fetchval("SELECT value FROM settings WHERE key = 'instance_id'") == instance
    assert len(instance) == 16
    assert int(instance, 16) >= 0


async def test_processes_starting_together_migrate_once(connect: Connect) -> None:
    connections = [await connect() for _ in range(4)]

    versions = await asyncio.gather(*(migrate(c) for c in connections))

    assert versions == [LATEST] * 4
    assert await applied(connections[0]) == [version for version, _ in MIGRATIONS]
    locks = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    assert await connections[0].fetchval(locks) == 0  # each released its lock


async def test_every_table_and_index_exists(
    db: asyncpg.Connection, sqlite: sqlite3.Connection
) -> None:
    tables = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    sqlite_tables = sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    assert {r[0] for r in tables} == {name for (name,) in sqlite_tables} - {"sqlite_sequence"} | OWN
    indexes = await db.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    definitions = {r[0]: r[1] for r in indexes}
    named = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    assert {name for (name,) in sqlite.execute(named)} == {
        name for name in definitions if not name.endswith(("_pkey", "_key"))
    }
    partial = {name: d.partition(" WHERE ")[2] for name, d in definitions.items() if " WHERE " in d}
    assert partial == {
        "inbox_new": "(state = 'new'::text)",
        "outbox_pending": "(state = 'pending'::text)",
        "outbox_dead": "(state = 'dead'::text)",
        "outbox_dead_by_channel": "(state = 'dead'::text)",
        "posts_by_item": "(item IS NOT NULL)",
        "submission_slots_by_submission": "(submission_id IS NOT NULL)",
        "followups_notices": "notice_due",
    }
    unique = {d.partition(" ON public.")[2] for d in definitions.values() if "UNIQUE" in d}
    assert {
        "inbox USING btree (delivery_key)",
        "outbox USING btree (inbox_id, platform, channel_id)",
        "followups USING btree (service, kind, item_id)",
        'pending_uploads USING btree (service, reference, "position")',
        "channel_leases USING btree (platform, channel_id)",
        "job_leases USING btree (name)",
    } <= unique


async def test_the_tables_match_sqlites(db: asyncpg.Connection, sqlite: sqlite3.Connection) -> None:
    rows = await db.fetch(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES'"
        " FROM information_schema.columns WHERE table_schema = 'public'"
    )
    postgres = {(r[0], r[1]): (r[2], r[3]) for r in rows if r[0] not in OWN}
    assert {column: postgres.pop(column, None) for column in ROWID} == ROWID
    tables = sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    expected = {
        (table, column[1]): (column[2], not column[3] and not column[5])  # NOT NULL or key
        for (table,) in tables
        if table != "sqlite_sequence"
        for column in sqlite.execute(f"PRAGMA table_info({table})")
    }

    assert postgres.keys() == expected.keys()
    for column, (declared, nullable) in expected.items():
        assert postgres[column][0] in TYPES[declared], column
        assert postgres[column][1] == nullable, column


async def test_values_come_back_as_written(db: asyncpg.Connection) -> None:
    moment = time.time()
    await db.execute(
        'INSERT INTO pending_uploads (service, reference, position, item_id, step, filename,'
        ' data, "user", state, created_at) VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8, $9)',
        "betahub", "ref", "42", "upload", "crash.dmp", b"\x00\xff", "u1", "pending", moment,
    )  # fmt: skip
    row = await db.fetchrow('SELECT id, data, "user", created_at FROM pending_uploads')
    assert (row["id"], row["data"], row["user"], row["created_at"]) == (
        1,
        b"\x00\xff",
        "u1",
        moment,
    )

    await db.execute(
        "INSERT INTO subscriptions (platform, scope, channel_id, service, filter)"
        " VALUES ('discord', 'g1', 'c1', 'betahub', '{}')"
    )
    created = await db.fetchval("SELECT created_at FROM subscriptions")
    assert time.strptime(created, "%Y-%m-%d %H:%M:%S")


async def test_a_channel_lease_is_one_holders_until_it_expires(db: asyncpg.Connection) -> None:
    lane, kept = ("discord", "c1"), ("discord", "c2")

    assert await leases.acquire_channel_lease(db, *lane, "a", 1) is True
    assert await leases.acquire_channel_lease(db, *lane, "b", 1) is False
    assert await leases.renew_channel_lease(db, *lane, "b", 1) is False
    assert await leases.acquire_channel_lease(db, *kept, "a", 1) is True
    assert await leases.renew_channel_lease(db, *kept, "a", 30) is True
    assert await leases.acquire_channel_lease(db, "slack", "c1", "b", 1) is True  # others free

    await asyncio.sleep(1.1)  # a stopped renewing `lane`

    assert await leases.acquire_channel_lease(db, *kept, "b", 30) is False  # renewed: still a's
    assert await leases.acquire_channel_lease(db, *lane, "b", 30) is True  # expired: taken over
    assert await leases.renew_channel_lease(db, *lane, "a", 30) is False  # a learns it lost it
    assert await leases.release_channel_lease(db, *lane, "a") is False
    assert await leases.release_channel_lease(db, *lane, "b") is True
    assert await leases.acquire_channel_lease(db, *lane, "a", 30) is True  # free again at once


async def test_a_job_runs_on_one_process_and_fails_over(db: asyncpg.Connection) -> None:
    assert await leases.acquire_job(db, "poll:betahub", "a", 1) is True
    assert await leases.acquire_job(db, "poll:betahub", "b", 1) is False
    assert await leases.acquire_job(db, "poll:betahub", "a", 1) is True  # ours: renewed
    assert await leases.acquire_job(db, "retry:uploads", "b", 1) is True

    await asyncio.sleep(1.1)  # a died without releasing
    assert await leases.acquire_job(db, "poll:betahub", "b", 30) is True
    assert await leases.renew_job(db, "poll:betahub", "a", 30) is False
    assert await leases.renew_job(db, "poll:betahub", "b", 30) is True
    assert await leases.release_job(db, "poll:betahub", "b") is True
    assert await leases.acquire_job(db, "poll:betahub", "a", 30) is True


async def queue(db: asyncpg.Connection, lanes: list[tuple[str, str]], next_attempt: float) -> None:
    await db.executemany(
        "INSERT INTO outbox (inbox_id, platform, channel_id, event, next_attempt, created_at)"
        " VALUES ($1, $2, $3, '{}', $4, 0)",
        [(n, platform, channel, next_attempt) for n, (platform, channel) in enumerate(lanes)],
    )


async def test_claiming_hands_each_due_lane_to_one_caller(
    db: asyncpg.Connection, connect: Connect
) -> None:
    lanes = [("discord" if n % 2 else "slack", f"c{n}") for n in range(20)]
    now = time.time()
    await queue(db, lanes, now)
    await queue(db, [("discord", "later")], now + 60)
    await queue(db, [("console", "c0")], now)
    callers = [await connect() for _ in range(3)]

    async def claim_all(caller: asyncpg.Connection, holder: str) -> set[tuple[str, str]]:
        mine: set[tuple[str, str]] = set()
        while True:
            claimed = await leases.claim_due_lanes(
                caller, holder, 30, 3, platforms=["discord", "slack"], now=now
            )
            if mine.issuperset(claimed):  # nothing new: the rest is others'
                return mine
            mine.update(claimed)

    shares = await asyncio.gather(*(claim_all(c, f"p{n}") for n, c in enumerate(callers)))

    assert sum(len(share) for share in shares) == 20
    assert set().union(*shares) == set(lanes)
    holders = await db.fetch("SELECT platform, channel_id, holder FROM channel_leases")
    assert {(r[0], r[1]): r[2] for r in holders} == {
        lane: f"p{n}" for n, share in enumerate(shares) for lane in share
    }
    # A lane claimed is its holder's to claim again, nobody else's.
    again = await leases.claim_due_lanes(db, "p0", 30, 50, platforms=["discord", "slack"], now=now)
    assert set(again) == shares[0]


async def test_an_expired_lane_is_claimed_by_another(db: asyncpg.Connection) -> None:
    now = time.time()
    await queue(db, [("discord", "c1")], now)
    assert await leases.claim_due_lanes(db, "a", 1, 10, platforms=["discord"], now=now) == [
        ("discord", "c1")
    ]
    assert await leases.claim_due_lanes(db, "b", 1, 10, platforms=["discord"], now=now) == []

    await asyncio.sleep(1.1)

    assert await leases.claim_due_lanes(db, "b", 1, 10, platforms=["discord"], now=now) == [
        ("discord", "c1")
    ]


async def test_notify_wakes_a_listener(connect: Connect) -> None:
    listener, writer = await connect(), await connect()
    woken: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(
        leases.OUTBOX_CHANNEL, lambda _conn, _pid, channel, _payload: woken.put_nowait(channel)
    )

    async with writer.transaction():
        await leases.notify_outbox(writer)

    assert await asyncio.wait_for(woken.get(), 5) == "herald_outbox"
