"""The outbox: announcements queued per channel, the posts that delivered them, dead
letters and channels Herald lost access to."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.store.rows import INBOX_NEW, DeadLetters, DeadRow, LostAccess, OutboxRow, Post
from bot.store.sqlite.base import SqliteBase


class SqliteOutbox(SqliteBase):
    async def due_lanes(self, platforms: Sequence[str], now: float) -> list[tuple[str, str]]:
        """Channels with announcements due now, on the given platforms."""
        if not platforms:
            return []
        marks = ",".join("?" * len(platforms))
        async with self._db.execute(
            "SELECT DISTINCT platform, channel_id FROM outbox WHERE state = 'pending'"  # noqa: S608 - placeholders only
            f" AND next_attempt <= ? AND platform IN ({marks})",
            (now, *platforms),
        ) as cursor:
            return [(r[0], r[1]) for r in await cursor.fetchall()]

    async def next_due(self, platforms: Sequence[str]) -> float | None:
        if not platforms:
            return None
        marks = ",".join("?" * len(platforms))
        async with self._db.execute(
            "SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'"  # noqa: S608 - placeholders only
            f" AND platform IN ({marks})",
            tuple(platforms),
        ) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def lane_rows(
        self, platform: str, channel_id: str, now: float, limit: int = 500
    ) -> list[OutboxRow]:
        async with (
            self._lock,
            self._db.execute(
                "SELECT o.id, o.platform, o.channel_id, o.item, o.event, o.batch, o.batch_kind,"
                " o.attempts, o.created_at, COALESCE(i.received_at, o.created_at)"
                " FROM outbox o LEFT JOIN inbox i ON i.id = o.inbox_id"
                " WHERE o.platform = ? AND o.channel_id = ? AND o.state = 'pending'"
                " AND o.next_attempt <= ? ORDER BY o.id LIMIT ?",
                (platform, channel_id, now, limit),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [OutboxRow(*r) for r in rows]

    async def pending_count(self) -> int:
        """Announcements queued for a channel and not delivered yet."""
        async with self._db.execute(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def outbox_backlog(self) -> dict[str, tuple[int, float | None]]:
        """Per platform: announcements not delivered yet, and when the oldest was queued
        (one pass over the `outbox_pending` index's rows)."""
        async with self._db.execute(
            "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'"
            " GROUP BY platform"
        ) as cursor:
            return {r[0]: (int(r[1]), r[2]) for r in await cursor.fetchall()}

    async def assign_batch(self, ids: Sequence[int], batch: int, kind: str) -> None:
        """Fix which rows one delivery covers before sending it, so a retry sends the same."""
        marks = ",".join("?" * len(ids))
        async with self.transaction() as db:
            await db.execute(
                f"UPDATE outbox SET batch = ?, batch_kind = ? WHERE id IN ({marks})",  # noqa: S608
                (batch, kind, *ids),
            )

    async def complete(self, ids: Sequence[int], post: Post | None = None) -> None:
        """Mark rows delivered, recording the message that delivered them."""
        marks = ",".join("?" * len(ids))
        async with self.transaction() as db:
            if post is not None:
                await _insert_post(db, post)
            await db.execute(
                f"UPDATE outbox SET state = 'done', done_at = ?, error = NULL"  # noqa: S608
                f" WHERE id IN ({marks})",
                (time.time(), *ids),
            )

    async def retry_later(
        self, platform: str, channel_id: str, ids: Sequence[int], until: float, error: str
    ) -> None:
        """Count a failed attempt for the pending `ids`; hold the channel's queue until `until`."""
        marks = ",".join("?" * len(ids))
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, error = ?"  # noqa: S608 - placeholders only
                f" WHERE state = 'pending' AND id IN ({marks})",
                (error, *ids),
            )
            await db.execute(
                "UPDATE outbox SET next_attempt = MAX(next_attempt, ?)"
                " WHERE platform = ? AND channel_id = ? AND state = 'pending'",
                (until, platform, channel_id),
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
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE outbox SET state = 'dead', done_at = ?, error = CASE"
                " WHEN attempts >= ? THEN 'gave up after ' || attempts || ' attempts: '"
                " || COALESCE(error, 'failed')"
                " ELSE ? || COALESCE(': ' || error, '') END"
                " WHERE platform = ? AND channel_id = ? AND state = 'pending'"
                " AND (attempts >= ? OR created_at < ?)",
                (
                    time.time(),
                    max_attempts,
                    too_old,
                    platform,
                    channel_id,
                    max_attempts,
                    created_before,
                ),
            )
            return cursor.rowcount

    async def drop(self, ids: Sequence[int], reason: str) -> None:
        """Rows the platform refused for their content: dead, the channel still served."""
        marks = ",".join("?" * len(ids))
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = 'dead', error = ?, done_at = ?"  # noqa: S608 - placeholders only
                f" WHERE id IN ({marks})",
                (reason, time.time(), *ids),
            )

    async def give_up(self, platform: str, channel_id: str, reason: str) -> int:
        """The channel refuses Herald for good: its queue is dead, its subscriptions paused."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE outbox SET state = 'dead', error = ?, done_at = ?"
                " WHERE platform = ? AND channel_id = ? AND state = 'pending'",
                (reason, time.time(), platform, channel_id),
            )
            await db.execute(
                "UPDATE subscriptions SET paused = ?"
                " WHERE platform = ? AND channel_id = ? AND paused IS NULL",
                (reason, platform, channel_id),
            )
            return cursor.rowcount

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
        where = ["state = 'dead'", "platform = ?"]
        args: list[Any] = [platform]
        if scope is not None:
            where.append("subscription_id IN (SELECT id FROM subscriptions WHERE scope = ?)")
            args.append(scope)
        if channel_id is not None:
            where.append("channel_id = ?")
            args.append(channel_id)
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = 0,"  # noqa: S608 - our own conditions
                f" error = NULL, done_at = NULL, created_at = ? WHERE {' AND '.join(where)}",
                (time.time(), *args),
            )
            return cursor.rowcount

    async def dead_rows(
        self, platform: str, scope: str, channel_id: str | None = None, limit: int = 10
    ) -> list[DeadRow]:
        """The latest undeliverable announcements of a guild or workspace, newest first."""
        channel = "" if channel_id is None else " AND o.channel_id = ?"
        async with self._db.execute(
            "SELECT o.id, o.channel_id, o.event, o.error, o.done_at FROM outbox o"  # noqa: S608 - placeholders only
            " JOIN subscriptions s ON s.id = o.subscription_id"
            f" WHERE o.state = 'dead' AND o.platform = ? AND s.scope = ?{channel}"
            " ORDER BY o.done_at DESC, o.id DESC LIMIT ?",
            (platform, scope, *((channel_id,) if channel_id else ()), limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [DeadRow(r[0], r[1], r[2], r[3], float(r[4] or 0)) for r in rows]

    async def access_lost(self, platform: str, channel_id: str, error: str) -> bool:
        """Note that Herald may not post to a channel; True the first time in this
        outage (when the admin is to be told)."""
        now = time.time()
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO channel_access (platform, channel_id, lost_at, error)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (platform, channel_id)"
                " DO UPDATE SET error = excluded.error",
                (platform, channel_id, now, error),
            )
            cursor = await db.execute(
                "UPDATE channel_access SET told_at = ?"
                " WHERE platform = ? AND channel_id = ? AND told_at IS NULL",
                (now, platform, channel_id),
            )
            return cursor.rowcount == 1

    async def access_back(self, platform: str, channel_id: str) -> bool:
        """A post went through: the outage (if any) is over. True if there was one."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM channel_access WHERE platform = ? AND channel_id = ?",
                (platform, channel_id),
            )
            return cursor.rowcount == 1

    async def has_lost_access(self, platform: str, channel_id: str) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM channel_access WHERE platform = ? AND channel_id = ?",
            (platform, channel_id),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def lost_access(self, platform: str, scope: str) -> list[LostAccess]:
        """Subscribed channels of a guild or workspace that Herald may not post to now."""
        async with self._db.execute(
            "SELECT a.channel_id, a.error, a.lost_at, (SELECT COUNT(*) FROM outbox o"
            "  WHERE o.platform = a.platform AND o.channel_id = a.channel_id"
            "  AND o.state = 'pending') FROM channel_access a WHERE a.platform = ?"
            " AND a.channel_id IN (SELECT channel_id FROM subscriptions"
            "  WHERE platform = ? AND scope = ?) ORDER BY a.channel_id",
            (platform, platform, scope),
        ) as cursor:
            rows = await cursor.fetchall()
        return [LostAccess(r[0], r[1], float(r[2]), int(r[3])) for r in rows]

    async def dead_letters(self, platform: str, scope: str) -> list[DeadLetters]:
        async with self._db.execute(
            "SELECT o.channel_id, COUNT(*), MAX(o.error), MAX(o.done_at) FROM outbox o"
            " JOIN subscriptions s ON s.id = o.subscription_id"
            " WHERE o.state = 'dead' AND s.platform = ? AND s.scope = ?"
            " GROUP BY o.channel_id ORDER BY o.channel_id",
            (platform, scope),
        ) as cursor:
            rows = await cursor.fetchall()
        return [DeadLetters(r[0], int(r[1]), r[2], float(r[3] or 0)) for r in rows]

    # --- posts-------------------------------------------------------------

    async def post(self, key: str) -> Post | None:
        return await self._post("key = ?", (key,))

    async def card(self, platform: str, channel_id: str, item: str) -> Post | None:
        """The message that shows `item` in a channel: the latest post made for it."""
        return await self._post(
            "platform = ? AND channel_id = ? AND item = ? ORDER BY posted_at DESC, rowid DESC",
            (platform, channel_id, item),
        )

    async def record_post(self, post: Post) -> None:
        async with self.transaction() as db:
            await _insert_post(db, post)

    async def set_thread(self, key: str, thread_id: str | None) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE posts SET thread_id = ? WHERE key = ?", (thread_id, key))

    async def forget_card(self, key: str) -> None:
        """The card's message is gone (deleted by someone): the item needs a new one."""
        async with self.transaction() as db:
            await db.execute("UPDATE posts SET item = NULL WHERE key = ?", (key,))

    async def _post(self, where: str, args: tuple[Any, ...]) -> Post | None:
        async with (
            self._lock,
            self._db.execute(
                "SELECT key, platform, channel_id, message_id, item, thread_id FROM posts"  # noqa: S608 - placeholders only
                f" WHERE {where} LIMIT 1",
                args,
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return Post(*row) if row else None

    async def prune(self, before: float, dead_before: float | None = None) -> None:
        """Forget finished work older than `before`, and dead rows older than `dead_before`.

        An item quiet since `before` is forgotten, and its card with it (its
        next event posts a new one); a card of an item still talked about
        stays however old. A pending row is never touched.
        """
        dead_before = before if dead_before is None else dead_before
        async with self.transaction() as db:
            await db.execute("DELETE FROM outbox WHERE state = 'done' AND done_at < ?", (before,))
            await db.execute(
                "DELETE FROM outbox WHERE state = 'dead' AND done_at < ?", (dead_before,)
            )
            await db.execute(
                "DELETE FROM inbox WHERE state != ? AND received_at < ?", (INBOX_NEW, before)
            )
            await db.execute("DELETE FROM items WHERE updated_at < ?", (before,))
            await db.execute(
                "DELETE FROM posts WHERE posted_at < ? AND (item IS NULL"
                " OR item NOT IN (SELECT item FROM items))",
                (before,),
            )


async def _insert_post(db: aiosqlite.Connection, post: Post) -> None:
    await db.execute(
        "INSERT OR IGNORE INTO posts (key, platform, channel_id, message_id, item, thread_id,"
        " posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            post.key,
            post.platform,
            post.channel_id,
            post.message_id,
            post.item,
            post.thread_id,
            time.time(),
        ),
    )
