"""The inbox's group commit: concurrent deliveries share a write, keep their order and
are recognised when repeated, even after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Store


async def test_concurrent_deliveries_keep_arrival_order_and_repeats_are_recognised(
    tmp_path: Path,
):
    store = await Store.open(tmp_path / "herald.db")
    keys = [f"delivery-{n % 5}" for n in range(12)]
    ids = await asyncio.gather(*(store.add_delivery("svc", "k", key, "{}") for key in keys))
    assert ids[:5] == sorted(ids[:5])
    assert ids[5:] == [None] * 7
    assert [d.id for d in await store.new_deliveries()] == ids[:5]
    await store.close()

    again = await Store.open(tmp_path / "herald.db")
    assert await again.add_delivery("svc", "k", "delivery-3", "{}") is None
    assert await again.add_delivery("svc", "k", "delivery-9", "{}") is not None
    await again.close()
