"""Polling state: what each polled feed has seen."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from bot.store import columns
from bot.store.postgres.base import PostgresBase, affected
from bot.store.rows import PolledItem


class PostgresPolling(PostgresBase):
    async def feed_primed(self, source: str, feed: str) -> bool:
        """Whether `feed` was read before (its first reading is recorded silently)."""
        return bool(
            await self._pool.fetchval(
                "SELECT true FROM poll_cursors WHERE source = $1 AND feed = $2", source, feed
            )
        )

    async def polled(self, source: str, feed: str, ids: Sequence[str]) -> dict[str, PolledItem]:
        """The known items among `ids`."""
        rows = await self._pool.fetch(
            "SELECT item_id, state, data FROM poll_items"
            " WHERE source = $1 AND feed = $2 AND item_id = ANY($3::text[])",
            source,
            feed,
            list(ids),
        )
        return {row["item_id"]: columns.polled(row) for row in rows}

    async def polled_in_states(
        self, source: str, feed: str, states: Sequence[str], limit: int = 1000
    ) -> list[PolledItem]:
        """Known items whose state is one of `states`, most recently changed first."""
        rows = await self._pool.fetch(
            "SELECT item_id, state, data FROM poll_items"
            " WHERE source = $1 AND feed = $2 AND state = ANY($3::text[])"
            " ORDER BY updated_at DESC LIMIT $4",
            source,
            feed,
            list(states),
            limit,
        )
        return [columns.polled(row) for row in rows]

    async def record_polled(self, source: str, feed: str, items: Sequence[PolledItem]) -> None:
        """Store what a reading of `feed` saw, and mark the feed as read, in one transaction."""
        now = time.time()
        async with self.transaction() as db:
            if items:
                await db.executemany(
                    "INSERT INTO poll_items (source, feed, item_id, state, data, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6)"
                    " ON CONFLICT (source, feed, item_id) DO UPDATE SET state = excluded.state,"
                    " data = excluded.data, updated_at = excluded.updated_at",
                    [(source, feed, i.item_id, i.state, json.dumps(i.data), now) for i in items],
                )
            await db.execute(
                "INSERT INTO poll_cursors (source, feed, primed_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (source, feed) DO NOTHING",
                source,
                feed,
                now,
            )

    async def trim_polled(
        self, source: str, feed: str, keep: int, keep_states: Sequence[str]
    ) -> int:
        """Forget all but the `keep` most recently changed items of `feed`.

        Items in `keep_states` (still pending or running) are never forgotten
        and do not count towards `keep`.
        """
        finished = "source = $1 AND feed = $2 AND state <> ALL($3::text[])"
        status = await self._pool.execute(
            f"DELETE FROM poll_items WHERE {finished} AND item_id NOT IN"  # noqa: S608 - placeholders only
            f" (SELECT item_id FROM poll_items WHERE {finished}"
            "  ORDER BY updated_at DESC LIMIT $4)",
            source,
            feed,
            list(keep_states),
            keep,
        )
        return affected(status)
