"""The outbox: announcements queued per channel, the posts that delivered them, dead
letters and channels Herald lost access to."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bot.store.postgres.base import Connection, Pool, PostgresBase, affected
from bot.store.rows import INBOX_NEW, DeadLetters, DeadRow, LostAccess, OutboxRow, Post


class PostgresOutbox(PostgresBase):
    async def due_lanes(self, platforms: Sequence[str], now: float) -> list[tuple[str, str]]:
        """Channels with announcements due now, on the given platforms."""
        rows = await self._pool.fetch(
            "SELECT DISTINCT platform, channel_id FROM outbox WHERE state = 'pending'"
            " AND next_attempt <= $1 AND platform = ANY($2::text[])",
            now,
            list(platforms),
        )
        return [(r[0], r[1]) for r in rows]

    async def next_due(self, platforms: Sequence[str]) -> float | None:
        at: float | None = await self._pool.fetchval(
            "SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'"
            " AND platform = ANY($1::text[])",
            list(platforms),
        )
        return at

    async def lane_rows(
        self, platform: str, channel_id: str, now: float, limit: int = 500
    ) -> list[OutboxRow]:
        rows = await self._pool.fetch(
            "SELECT o.id, o.platform, o.channel_id, o.item, o.event, o.batch, o.batch_kind,"
            " o.attempts, o.created_at, COALESCE(i.received_at, o.created_at)"
            " FROM outbox o LEFT JOIN inbox i ON i.id = o.inbox_id"
            " WHERE o.platform = $1 AND o.channel_id = $2 AND o.state = 'pending'"
            " AND o.next_attempt <= $3 ORDER BY o.id LIMIT $4",
            platform,
            channel_id,
            now,
            limit,
        )
        return [OutboxRow(*r) for r in rows]

    async def pending_count(self) -> int:
        """Announcements queued for a channel and not delivered yet."""
        return int(await self._pool.fetchval("SELECT COUNT(*) FROM outbox WHERE state = 'pending'"))

    async def outbox_backlog(self) -> dict[str, tuple[int, float | None]]:
        """Per platform: announcements not delivered yet, and when the oldest was queued."""
        rows = await self._pool.fetch(
            "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'"
            " GROUP BY platform"
        )
        return {r[0]: (int(r[1]), r[2]) for r in rows}

    async def assign_batch(self, ids: Sequence[int], batch: int, kind: str) -> None:
        """Fix which rows one delivery covers before sending it, so a retry sends the same."""
        await self._pool.execute(
            "UPDATE outbox SET batch = $1, batch_kind = $2 WHERE id = ANY($3::bigint[])",
            batch,
            kind,
            list(ids),
        )

    async def complete(self, ids: Sequence[int], post: Post | None = None) -> None:
        """Mark rows delivered, recording the message that delivered them."""
        async with self.transaction() as db:
            if post is not None:
                await _insert_post(db, post)
            await db.execute(
                "UPDATE outbox SET state = 'done', done_at = $1, error = NULL"
                " WHERE id = ANY($2::bigint[])",
                time.time(),
                list(ids),
            )

    async def retry_later(
        self, platform: str, channel_id: str, ids: Sequence[int], until: float, error: str
    ) -> None:
        """Count a failed attempt for the pending `ids`; hold the channel's queue until `until`."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, error = $1"
                " WHERE state = 'pending' AND id = ANY($2::bigint[])",
                error,
                list(ids),
            )
            await db.execute(
                "UPDATE outbox SET next_attempt = GREATEST(next_attempt, $1)"
                " WHERE platform = $2 AND channel_id = $3 AND state = 'pending'",
                until,
                platform,
                channel_id,
            )

    async def expire(
        self,
        platform: str,
        channel_id: str,
        max_attempts: int,
        created_before: float,
        too_old: str,
    ) -> int:
        """Give up a channel's pending rows tried `max_attempts` times or created before
        `created_before`; each keeps its last error. How many were given up."""
        status = await self._pool.execute(
            "UPDATE outbox SET state = 'dead', done_at = $1, error = CASE"
            " WHEN attempts >= $2 THEN 'gave up after ' || attempts::text || ' attempts: '"
            " || COALESCE(error, 'failed')"
            " ELSE $3::text || COALESCE(': ' || error, '') END"
            " WHERE platform = $4 AND channel_id = $5 AND state = 'pending'"
            " AND (attempts >= $2 OR created_at < $6)",
            time.time(),
            max_attempts,
            too_old,
            platform,
            channel_id,
            created_before,
        )
        return affected(status)

    async def drop(self, ids: Sequence[int], reason: str) -> None:
        """Rows the platform refused for their content: dead, the channel still served."""
        await self._pool.execute(
            "UPDATE outbox SET state = 'dead', error = $1, done_at = $2"
            " WHERE id = ANY($3::bigint[])",
            reason,
            time.time(),
            list(ids),
        )

    async def give_up(self, platform: str, channel_id: str, reason: str) -> int:
        """The channel refuses Herald for good: its queue is dead, its subscriptions paused."""
        async with self.transaction() as db:
            status = await db.execute(
                "UPDATE outbox SET state = 'dead', error = $1, done_at = $2"
                " WHERE platform = $3 AND channel_id = $4 AND state = 'pending'",
                reason,
                time.time(),
                platform,
                channel_id,
            )
            await db.execute(
                "UPDATE subscriptions SET paused = $1"
                " WHERE platform = $2 AND channel_id = $3 AND paused IS NULL",
                reason,
                platform,
                channel_id,
            )
        return affected(status)

    async def revive(
        self,
        platform: str,
        *,
        scope: str | None = None,
        channel_id: str | None = None,
        since: float | None = None,
    ) -> int:
        """Queue dead rows again (of one guild or workspace, one channel, since a time),
        as new: no attempts counted, their age counted from now."""
        status = await self._pool.execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = 0,"
            " error = NULL, done_at = NULL, created_at = $1"
            " WHERE state = 'dead' AND platform = $2"
            " AND ($3::text IS NULL"
            "  OR subscription_id IN (SELECT id FROM subscriptions WHERE scope = $3))"
            " AND ($4::text IS NULL OR channel_id = $4)"
            " AND ($5::double precision IS NULL OR created_at >= $5)",
            time.time(),
            platform,
            scope,
            channel_id,
            since,
        )
        return affected(status)

    async def dead_rows(
        self, platform: str, scope: str, channel_id: str | None = None, limit: int = 10
    ) -> list[DeadRow]:
        """The latest undeliverable announcements of a guild or workspace, newest first."""
        rows = await self._pool.fetch(
            "SELECT o.id, o.channel_id, o.event, o.error, o.done_at FROM outbox o"
            " JOIN subscriptions s ON s.id = o.subscription_id"
            " WHERE o.state = 'dead' AND o.platform = $1 AND s.scope = $2"
            " AND ($3::text IS NULL OR o.channel_id = $3)"
            " ORDER BY o.done_at DESC, o.id DESC LIMIT $4",
            platform,
            scope,
            channel_id,
            limit,
        )
        return [DeadRow(r[0], r[1], r[2], r[3], float(r[4] or 0)) for r in rows]

    async def access_lost(self, platform: str, channel_id: str, error: str) -> bool:
        """Note that Herald may not post to a channel; True the first time in this
        outage (when the admin is to be told). Of processes noting it together, the
        row lock lets exactly one see it untold."""
        now = time.time()
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO channel_access (platform, channel_id, lost_at, error)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (platform, channel_id)"
                " DO UPDATE SET error = excluded.error",
                platform,
                channel_id,
                now,
                error,
            )
            status = await db.execute(
                "UPDATE channel_access SET told_at = $1"
                " WHERE platform = $2 AND channel_id = $3 AND told_at IS NULL",
                now,
                platform,
                channel_id,
            )
        return affected(status) == 1

    async def access_back(self, platform: str, channel_id: str) -> bool:
        """A post went through: the outage (if any) is over. True if there was one."""
        status = await self._pool.execute(
            "DELETE FROM channel_access WHERE platform = $1 AND channel_id = $2",
            platform,
            channel_id,
        )
        return affected(status) == 1

    async def has_lost_access(self, platform: str, channel_id: str) -> bool:
        return bool(
            await self._pool.fetchval(
                "SELECT true FROM channel_access WHERE platform = $1 AND channel_id = $2",
                platform,
                channel_id,
            )
        )

    async def lost_access(self, platform: str, scope: str) -> list[LostAccess]:
        """Subscribed channels of a guild or workspace that Herald may not post to now."""
        rows = await self._pool.fetch(
            "SELECT a.channel_id, a.error, a.lost_at, (SELECT COUNT(*) FROM outbox o"
            "  WHERE o.platform = a.platform AND o.channel_id = a.channel_id"
            "  AND o.state = 'pending') FROM channel_access a WHERE a.platform = $1"
            " AND a.channel_id IN (SELECT channel_id FROM subscriptions"
            "  WHERE platform = $1 AND scope = $2) ORDER BY a.channel_id",
            platform,
            scope,
        )
        return [LostAccess(r[0], r[1], float(r[2]), int(r[3])) for r in rows]

    async def dead_letters(self, platform: str, scope: str) -> list[DeadLetters]:
        rows = await self._pool.fetch(
            "SELECT o.channel_id, COUNT(*), MAX(o.error), MAX(o.done_at) FROM outbox o"
            " JOIN subscriptions s ON s.id = o.subscription_id"
            " WHERE o.state = 'dead' AND s.platform = $1 AND s.scope = $2"
            " GROUP BY o.channel_id ORDER BY o.channel_id",
            platform,
            scope,
        )
        return [DeadLetters(r[0], int(r[1]), r[2], float(r[3] or 0)) for r in rows]

    # --- posts-------------------------------------------------------------

    async def post(self, key: str) -> Post | None:
        return await self._post("key = $1", key)

    async def card(self, platform: str, channel_id: str, item: str) -> Post | None:
        """The message that shows `item` in a channel: the latest post made for it."""
        return await self._post(
            "platform = $1 AND channel_id = $2 AND item = $3 ORDER BY posted_at DESC, rowid DESC",
            platform,
            channel_id,
            item,
        )

    async def record_post(self, post: Post) -> None:
        await _insert_post(self._pool, post)

    async def set_thread(self, key: str, thread_id: str | None) -> None:
        await self._pool.execute("UPDATE posts SET thread_id = $1 WHERE key = $2", thread_id, key)

    async def forget_card(self, key: str) -> None:
        """The card's message is gone (deleted by someone): the item needs a new one."""
        await self._pool.execute("UPDATE posts SET item = NULL WHERE key = $1", key)

    async def _post(self, where: str, *args: Any) -> Post | None:
        row = await self._pool.fetchrow(
            "SELECT key, platform, channel_id, message_id, item, thread_id FROM posts"  # noqa: S608 - placeholders only
            f" WHERE {where} LIMIT 1",
            *args,
        )
        return Post(*row) if row else None

    async def prune(self, before: float, dead_before: float | None = None) -> None:
        """Forget finished work older than `before`, and dead rows older than `dead_before`
        (see `bot.store.sqlite.outbox`); a pending row is never touched."""
        dead_before = before if dead_before is None else dead_before
        async with self.transaction() as db:
            await db.execute("DELETE FROM outbox WHERE state = 'done' AND done_at < $1", before)
            await db.execute(
                "DELETE FROM outbox WHERE state = 'dead' AND done_at < $1", dead_before
            )
            await db.execute(
                "DELETE FROM inbox WHERE state <> $1 AND received_at < $2", INBOX_NEW, before
            )
            await db.execute("DELETE FROM items WHERE updated_at < $1", before)
            await db.execute(
                "DELETE FROM posts WHERE posted_at < $1 AND (item IS NULL"
                " OR item NOT IN (SELECT item FROM items))",
                before,
            )


async def _insert_post(db: Connection | Pool, post: Post) -> None:
    await db.execute(
        "INSERT INTO posts (key, platform, channel_id, message_id, item, thread_id, posted_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING",
        post.key,
        post.platform,
        post.channel_id,
        post.message_id,
        post.item,
        post.thread_id,
        time.time(),
    )
