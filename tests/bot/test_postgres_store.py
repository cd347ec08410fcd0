"""The PostgreSQL store shared by several processes (here: several stores, each with its
own pool, on one database): conditional writes have one winner across them, the
cooldown counts across them, queueing announcements wakes the delivery workers, and two
real Herald processes on one database announce each webhook once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bench.harness import CHANNEL, Herald, Sender, body, discord_env, shown
from bot.filters import Filter
from bot.models import User
from bot.store import DRAFT, INBOX_ROUTED, NewSubmission, Route, Store, Verdict, open_store
from bot.store.postgres.leases import OUTBOX_CHANNEL
from tests.fakes.discord import GUILD_ID, FakeDiscord
from tests.postgres import admin

PROCESSES = 3
ALICE = User("discord", "42", "alice")


@pytest.fixture
async def stores(fresh_postgres_url: str) -> AsyncIterator[list[Store]]:
    """Three stores on one database, as three Herald processes would open it."""
    opened = [await open_store(fresh_postgres_url) for _ in range(PROCESSES)]
    yield opened
    await asyncio.gather(*(store.close() for store in opened))


def draft() -> NewSubmission:
    return NewSubmission(
        "betahub", "bug", DRAFT, "HRLD-1", {}, "bug", "", ALICE, "en", None, None, 1.0
    )


async def test_of_processes_racing_for_a_row_exactly_one_wins(stores: list[Store]) -> None:
    first = stores[0]
    ids = [await first.add_submission(draft()) for _ in range(10)]

    for submission_id in ids[:5]:
        won = await asyncio.gather(*(s.claim_submission(submission_id, DRAFT) for s in stores))
        assert sorted(won) == [False, False, True]
    for submission_id in ids[5:]:
        won = await asyncio.gather(
            stores[0].claim_submission(submission_id, DRAFT),
            stores[1].discard_draft(submission_id),
            stores[2].discard_draft(submission_id),
        )
        assert won.count(True) == 1

    lost = await asyncio.gather(*(s.access_lost("console", "c", "403") for s in stores * 3))
    assert lost.count(True) == 1, "the admin is told once, by one process"


async def test_the_cooldown_counts_every_processs_places(stores: list[Store]) -> None:
    now = time.time()
    taken = await asyncio.gather(
        *(s.reserve_slot("discord", "1", now, 60.0, 4) for s in stores for _ in range(5))
    )
    assert len([t for t in taken if t is not None]) == 4
    assert len(await stores[0].slots_since("discord", "1", 0.0)) == 4
    others = await asyncio.gather(*(s.reserve_slot("discord", "2", now, 60.0, 1) for s in stores))
    assert len([t for t in others if t is not None]) == 1, "per user, across processes"


async def test_deliveries_of_several_processes_are_each_stored_once(stores: list[Store]) -> None:
    keys = [f"d{n % 7}" for n in range(21)]
    ids = await asyncio.gather(
        *(stores[n % PROCESSES].add_delivery("svc", "k", key, "{}") for n, key in enumerate(keys))
    )
    stored = [i for i in ids if i is not None]
    assert len(stored) == len(set(stored)) == 7
    assert [d.id for d in await stores[1].new_deliveries()] == sorted(stored)


async def test_one_processs_many_deliveries_are_grouped_committed_and_in_arrival_order(
    fresh_postgres_url: str,
) -> None:
    """Webhooks arriving in waves while writes are under way: each caller is answered
    once its row is committed, ids grow in arrival order, and a repeat (of a key stored
    before, or queued earlier, in the same write or an earlier one) is answered None."""
    keys = [f"d{n * n % 397}" for n in range(600)]  # repeats near and far
    store = await open_store(fresh_postgres_url)
    reader = await asyncpg.connect(fresh_postgres_url)
    try:
        before = await store.add_delivery("svc", "k", keys[7], "{}")
        calls: list[asyncio.Task[int | None]] = []
        for start in range(0, len(keys), 150):
            wave = keys[start : start + 150]
            calls += [asyncio.create_task(store.add_delivery("svc", "k", k, "{}")) for k in wave]
            await asyncio.sleep(0.002)
        ids = await asyncio.gather(*calls)
        rows = await reader.fetch("SELECT id, delivery_key FROM inbox ORDER BY id")
    finally:
        await reader.close()
        await store.close()
    firsts = {key: n for n, key in reversed(list(enumerate(keys))) if key != keys[7]}
    assert [n for n, i in enumerate(ids) if i is not None] == sorted(firsts.values())
    stored = [i for i in ids if i is not None]
    assert before is not None
    assert stored == sorted(stored)
    assert before < stored[0]
    assert len(set(stored)) == len(stored), "ids are unique"
    assert [(r["id"], r["delivery_key"]) for r in rows] == [
        (before, keys[7]),
        *((ids[n], keys[n]) for n in sorted(firsts.values())),
    ], "every acknowledged row committed, each key once"


async def test_a_write_that_fails_fails_each_of_its_callers_and_keeps_none_of_it(
    fresh_postgres_url: str,
) -> None:
    store = await open_store(fresh_postgres_url)
    try:
        answers = await asyncio.gather(
            *(store.add_delivery("svc", "k", f"d{n}", "{}") for n in range(5)),
            store.add_delivery("svc", "k", "bad", "\x00"),  # text PostgreSQL refuses
            return_exceptions=True,
        )
        assert all(isinstance(a, asyncpg.PostgresError) for a in answers), answers
        assert await store.new_deliveries() == [], "nothing of the write acknowledged"
        again = await asyncio.gather(
            *(store.add_delivery("svc", "k", f"d{n}", "{}") for n in range(5))
        )
        assert [d.id for d in await store.new_deliveries()] == again, "the next is tried anew"
    finally:
        await store.close()


async def test_queueing_announcements_wakes_a_listening_worker(
    stores: list[Store], fresh_postgres_url: str
) -> None:
    listener = await asyncpg.connect(fresh_postgres_url)
    woken: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(OUTBOX_CHANNEL, lambda *args: woken.put_nowait(args[2]))
    try:
        delivery = await stores[0].add_delivery("svc", "k", "d1", "{}")
        assert delivery is not None
        verdict = Verdict(
            delivery, INBOX_ROUTED, event={"item": "svc:1"}, routes=(Route("console", "c", 1),)
        )
        await stores[1].record_routing([verdict])
        assert await asyncio.wait_for(woken.get(), 5) == OUTBOX_CHANNEL

        await stores[2].record_routing([verdict])  # routed again: nothing queued
        await stores[2].record_routing([Verdict(delivery, INBOX_ROUTED)])
        await asyncio.sleep(0.2)
        assert woken.empty(), "nothing new queued, no worker woken"
        assert await stores[0].pending_count() == 1
    finally:
        await listener.close()


async def test_ping_is_false_while_the_database_refuses_connections(
    fresh_postgres_url: str, postgres_server: str
) -> None:
    store = await open_store(fresh_postgres_url)
    name = urlsplit(fresh_postgres_url).path.removeprefix("/")
    try:
        assert await store.ping()
        await admin(
            postgres_server,
            f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",  # noqa: S608 - the test's own database
        )
        assert not await store.ping()
        assert not await store.ping(), "still not, and no error either"
        await admin(postgres_server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert await store.ping(), "back once it answers again"
    finally:
        await store.close()


async def test_two_heralds_on_one_database_announce_each_webhook_once(
    tmp_path: Path, discord: FakeDiscord, fresh_postgres_url: str
) -> None:
    """Webhooks sent to either process are routed once and posted once, by whichever
    process holds the channel."""
    discord.channel_limit = None
    store = await open_store(fresh_postgres_url)
    try:
        await store.add_subscription(
            "discord", str(GUILD_ID), str(CHANNEL), "hacknplan", Filter().to_json(), None
        )
    finally:
        await store.close()
    env = {**discord_env(discord), "DATABASE_URL": fresh_postgres_url}
    heralds = [Herald(env=env, workdir=tmp_path / name) for name in ("a", "b")]
    senders: list[Sender] = []
    try:
        for herald in heralds:
            herald.workdir.mkdir()
            await herald.start()
            senders.append(Sender(f"{herald.url}/webhooks/hacknplan"))
        numbers = range(1, 21)
        statuses = await asyncio.gather(*(senders[n % 2].send(body(n)) for n in numbers))
        assert {status for status, _ in statuses} == {200}
        for herald in heralds:
            await herald.drained()
    finally:
        for sender in senders:
            await sender.close()
        for herald in heralds:
            await herald.stop()
    assert shown(discord, numbers) == dict.fromkeys(numbers, 1)
    assert [h.process.returncode for h in heralds if h.process] == [0, 0]
