"""Polling state: what each polled feed has seen."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from bot.store import columns
from bot.store.rows import PolledItem
from bot.store.sqlite.base import SqliteBase


class SqlitePolling(SqliteBase):
    async def feed_primed(self, source: str, feed: str) -> bool:
        """Whether `feed` was read before (its first reading is recorded silently)."""
        async with self._db.execute(
            "SELECT 1 FROM poll_cursors WHERE source = ? AND feed = ?", (source, feed)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def polled(self, source: str, feed: str, ids: Sequence[str]) -> dict[str, PolledItem]:
        """The known items among `ids`."""
        found: dict[str, PolledItem] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            async with self._db.execute(
                "SELECT item_id, state, data FROM poll_items"  # noqa: S608 - placeholders only
                f" WHERE source = ? AND feed = ? AND item_id IN ({marks})",
                (source, feed, *chunk),
            ) as cursor:
                found.update({row["item_id"]: columns.polled(row) async for row in cursor})
        return found

    async def polled_in_states(
        self, source: str, feed: str, states: Sequence[str], limit: int = 1000
    ) -> list[PolledItem]:
        """Known items whose state is one of `states`, most recently changed first."""
        marks = ", ".join("?" * len(states))
        async with self._db.execute(
            "SELECT item_id, state, data FROM poll_items"  # noqa: S608 - placeholders only
            f" WHERE source = ? AND feed = ? AND state IN ({marks})"
            " ORDER BY updated_at DESC LIMIT ?",
            (source, feed, *states, limit),
        ) as cursor:
            return [columns.polled(row) async for row in cursor]

    async def record_polled(self, source: str, feed: str, items: Sequence[PolledItem]) -> None:
        """Store what a reading of `feed` saw, and mark the feed as read, in one transaction."""
        now = time.time()
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO poll_items (source, feed, item_id, state, data, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source, feed, item_id) DO UPDATE SET state = excluded.state,"
                " data = excluded.data, updated_at = excluded.updated_at",
                [(source, feed, i.item_id, i.state, json.dumps(i.data), now) for i in items],
            )
            await db.execute(
                "INSERT INTO poll_cursors (source, feed, primed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (source, feed) DO NOTHING",
                (source, feed, now),
            )

    async def trim_polled(
        self, source: str, feed: str, keep: int, keep_states: Sequence[str]
    ) -> int:
        """Forget all but the `keep` most recently changed items of `feed`.

        Items in `keep_states` (still pending or running) are never forgotten
        and do not count towards `keep`.
        """
        marks = ", ".join("?" * len(keep_states))
        finished = f"source = ? AND feed = ? AND state NOT IN ({marks})"
        async with self.transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM poll_items WHERE {finished} AND item_id NOT IN"  # noqa: S608 - placeholders only
                f" (SELECT item_id FROM poll_items WHERE {finished}"
                "  ORDER BY updated_at DESC LIMIT ?)",
                (source, feed, *keep_states, source, feed, *keep_states, keep),
            )
            return cursor.rowcount
