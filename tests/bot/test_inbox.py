"""The inbox's group commit: concurrent deliveries share a write, keep their order and
are recognised when repeated, even after a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.store import INBOX_ROUTED, Post, Route, Verdict
from bot.store.sqlite import SqliteStore


async def test_concurrent_deliveries_keep_arrival_order_and_repeats_are_recognised(
    tmp_path: Path,
):
    store = await SqliteStore.open(tmp_path / "herald.db")
    keys = [f"delivery-{n % 5}" for n in range(12)]
    ids = await asyncio.gather(*(store.add_delivery("svc", "k", key, "{}") for key in keys))
    assert ids[:5] == sorted(ids[:5])
    assert ids[5:] == [None] * 7
    assert [d.id for d in await store.new_deliveries()] == ids[:5]
    await store.close()

    again = await SqliteStore.open(tmp_path / "herald.db")
    assert await again.add_delivery("svc", "k", "delivery-3", "{}") is None
    assert await again.add_delivery("svc", "k", "delivery-9", "{}") is not None
    await again.close()


async def test_pruning_forgets_old_finished_work_and_quiet_cards_but_keeps_the_queue(
    tmp_path: Path,
):
    store = await SqliteStore.open(tmp_path / "herald.db")
    old = await store.add_delivery("svc", "k", "old", "{}")
    fresh = await store.add_delivery("svc", "k", "fresh", "{}")
    event = {"item": "svc:1", "kind": "k"}
    await store.record_routing(
        [
            Verdict(old, INBOX_ROUTED, event=event, routes=(Route("console", "c", 1),)),
            Verdict(fresh, INBOX_ROUTED, event=event, routes=(Route("console", "d", 1),)),
        ]
    )
    (done,) = await store.lane_rows("console", "c", time.time())
    await store.complete([done.id], Post("b1:card", "console", "c", "m1", item="svc:1"))
    await store.prune(time.time() + 1)

    assert await store.card("console", "c", "svc:1") is None, "its item is forgotten too"
    assert await store.pending_count() == 1, "the row still to deliver stays"
    assert await store.add_delivery("svc", "k", "old", "{}") is not None, "forgotten"
    await store.close()
