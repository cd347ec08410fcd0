"""Processes sharing one PostgreSQL database share the work: each outbox lane and each job
is one process's at a time, taken over when its holder stops renewing, and a NOTIFY wakes
every process's delivery worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from bot.coordination import Job, Lane
from bot.store.postgres import leases
from bot.store.postgres.coordination import PostgresCoordination
from bot.store.postgres.migrations import migrate
from tests.bot.test_postgres_schema import queue

PLATFORMS = ["discord", "slack"]

Coordinations = Callable[[str, float], PostgresCoordination]


@pytest.fixture
async def pool(fresh_postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a migrated database of the test's own."""
    async with asyncpg.create_pool(fresh_postgres_url, min_size=1, max_size=6) as pool:
        async with pool.acquire() as connection:
            await migrate(connection)
        yield pool


@pytest.fixture
async def process(pool: asyncpg.Pool) -> AsyncIterator[Coordinations]:
    """Makes the coordination of one process (a holder), closed after the test."""
    made: list[PostgresCoordination] = []

    def make(holder: str, lease_seconds: float) -> PostgresCoordination:
        coordination = PostgresCoordination(pool, holder, lease_seconds)
        made.append(coordination)
        return coordination

    yield make
    for coordination in made:
        await coordination.close()


async def test_two_processes_never_drain_the_same_lane(
    pool: asyncpg.Pool, process: Coordinations
) -> None:
    lanes = [(PLATFORMS[n % 2], f"c{n}") for n in range(20)]
    now = time.time()
    async with pool.acquire() as db:
        await queue(db, lanes, now)
    a, b = process("a", 30), process("b", 30)

    async def claim_all(coordination: PostgresCoordination) -> set[Lane]:
        mine: set[Lane] = set()
        while True:
            claimed = await coordination.claim_lanes(PLATFORMS, now, 3)
            if mine.issuperset(claimed):  # nothing new: the rest is the other's
                return mine
            mine.update(claimed)
            await asyncio.sleep(0)

    shares = await asyncio.gather(claim_all(a), claim_all(b))

    assert not shares[0] & shares[1]
    assert shares[0] | shares[1] == set(lanes)
    for lane in shares[0]:
        assert await a.renew_lane(lane) is True
        assert await b.renew_lane(lane) is False


async def test_a_lane_whose_holder_stops_renewing_is_taken_over(
    pool: asyncpg.Pool, process: Coordinations
) -> None:
    now = time.time()
    async with pool.acquire() as db:
        await queue(db, [("discord", "c1"), ("discord", "c2")], now)
    a, b = process("a", 1), process("b", 1)
    assert await a.claim_lanes(PLATFORMS, now, 10) == [("discord", "c1"), ("discord", "c2")]
    assert await b.claim_lanes(PLATFORMS, now, 10) == []

    await a.release_lane(("discord", "c2"))  # drained: free at once
    assert await b.claim_lanes(PLATFORMS, now, 10) == [("discord", "c2")]
    await asyncio.sleep(1.2)  # a stopped renewing c1 (killed, say)

    assert await b.claim_lanes(PLATFORMS, now, 10) == [("discord", "c1"), ("discord", "c2")]
    assert await a.renew_lane(("discord", "c1")) is False  # a learns it lost it: it stops


async def test_a_job_runs_on_one_process_and_fails_over(process: Coordinations) -> None:
    a, b = process("a", 1), process("b", 1)
    recovered: list[str] = []

    def job(coordination: PostgresCoordination) -> Job:
        async def recover() -> None:
            recovered.append(coordination.holder)

        return Job(lambda: coordination, "submissions-betahub", 0.0, gained=recover)

    on_a, on_b = job(a), job(b)
    assert await on_a.held() is True
    assert await on_b.held() is False
    assert await on_a.held() is True
    assert recovered == ["a"]  # only the holder recovers the rows left sending

    await asyncio.sleep(1.2)  # a stopped renewing

    assert await on_b.held() is True
    assert await on_a.held() is False
    assert recovered == ["a", "b"]
    assert on_b.standby == 0.0

    await b.close()  # a process stopping gives its jobs up: no wait for the lease's end
    assert await on_a.held() is True
    assert recovered == ["a", "b", "a"]


async def test_a_job_lease_lasts_its_interval_plus_the_lease(process: Coordinations) -> None:
    a, b = process("a", 1), process("b", 1)
    assert await a.hold_job("betahub-releases", 1) is True

    await asyncio.sleep(1.2)  # the next round is due, not yet late by the lease

    assert await b.hold_job("betahub-releases", 1) is False
    await asyncio.sleep(1)
    assert await b.hold_job("betahub-releases", 1) is True


async def test_a_notification_wakes_the_worker_even_after_the_connection_is_lost(
    pool: asyncpg.Pool, process: Coordinations
) -> None:
    coordination = process("a", 30)
    woken = asyncio.Event()
    coordination.on_wake(woken.set)
    await coordination.start()
    await asyncio.wait_for(woken.wait(), 5)  # listening: it looks once for rows missed
    woken.clear()

    async with pool.acquire() as writer, writer.transaction():
        await leases.notify_outbox(writer)
    await asyncio.wait_for(woken.wait(), 5)

    woken.clear()
    killed = await pool.fetchval(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    )
    assert killed is True
    await asyncio.wait_for(woken.wait(), 5)  # listening again, and looking for rows missed
    woken.clear()
    async with pool.acquire() as writer:
        await leases.notify_outbox(writer)
    await asyncio.wait_for(woken.wait(), 5)
