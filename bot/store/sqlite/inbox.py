"""The inbox: accepted deliveries, grouped into one write while one is under way,
and their routing into the outbox."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite

from bot.events import KnownItem
from bot.store import columns
from bot.store.columns import INBOX_BATCH, NewDelivery, delivery_ids, dump, first_arrivals
from bot.store.groupcommit import GroupCommit
from bot.store.rows import INBOX_NEW, INBOX_ROUTED, Delivery, Route, Verdict
from bot.store.sqlite.base import SqliteBase


class SqliteInbox(SqliteBase):
    """`add_delivery` queues its row, and the store's one `inbox writer` task inserts
    whatever queued meanwhile in one statement (`bot.store.groupcommit`)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        super().__init__(db)
        self._arrivals = GroupCommit(self._insert_deliveries, INBOX_BATCH, "inbox writer")

    async def close(self) -> None:
        await self._arrivals.drain()
        await super().close()

    async def add_delivery(
        self, source: str, kind: str, key: str, payload: str, state: str = INBOX_NEW
    ) -> int | None:
        """Store an accepted delivery; None when `key` was stored before (a repeat).

        Deliveries arriving while a write is under way are committed together
        with the next one (group commit): one statement for many webhooks,
        each caller still answered only once its row is committed.
        """
        return await self._arrivals.submit(
            NewDelivery(source, kind, key, payload, time.time(), state)
        )

    async def _insert_deliveries(self, rows: list[NewDelivery]) -> list[int | None]:
        """Insert rows in one statement; each row's id, or None for a repeat."""
        unique = first_arrivals(rows)  # in arrival order, so ids (and routing) follow it
        values = ",".join(["(?, ?, ?, ?, ?, ?)"] * len(unique))
        async with self._lock:
            # One trip to SQLite's thread (execute, fetch and close together): this
            # is the path every acknowledged webhook waits on.
            returned = await self._db.execute_fetchall(
                "INSERT INTO inbox (source, kind, delivery_key, payload, received_at, state)"  # noqa: S608 - placeholders only
                f" VALUES {values} ON CONFLICT (delivery_key) DO NOTHING"
                " RETURNING id, delivery_key",
                [field for row in unique for field in row],
            )
        return delivery_ids(rows, returned)

    async def new_deliveries(self, limit: int = 100, source: str | None = None) -> list[Delivery]:
        """The oldest deliveries not routed yet, of one source or of all."""
        where, args = (
            ("state = ? AND source = ?", (INBOX_NEW, source))
            if source
            else ("state = ?", (INBOX_NEW,))
        )
        async with self._lock:
            rows = await self._db.execute_fetchall(
                f"SELECT id, source, kind, payload FROM inbox WHERE {where} ORDER BY id LIMIT ?",  # noqa: S608 - placeholders only
                (*args, limit),
            )
        return [Delivery(r["id"], r["source"], r["kind"], r["payload"]) for r in rows]

    async def unrouted_sources(self) -> list[str]:
        """Sources with deliveries not routed yet."""
        async with self._db.execute(
            "SELECT DISTINCT source FROM inbox WHERE state = ?", (INBOX_NEW,)
        ) as cursor:
            return [r[0] for r in await cursor.fetchall()]

    async def unrouted_count(self) -> int:
        """Deliveries accepted and not routed to channels yet."""
        async with self._db.execute(
            "SELECT COUNT(*) FROM inbox WHERE state = ?", (INBOX_NEW,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def known_item(self, item: str) -> KnownItem | None:
        async with self._db.execute(
            "SELECT title, url, attributes FROM items WHERE item = ?", (item,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return KnownItem(row["title"], row["url"], json.loads(row["attributes"]))

    async def record_routing(self, verdicts: Sequence[Verdict]) -> None:
        """Queue the outbox rows of routed deliveries and close them, in one transaction.

        After a crash a delivery is either still new (and routed again) or
        fully queued; the outbox's unique key makes routing again harmless.
        """
        now = time.time()
        rows, items, closed = columns.routing(verdicts, now)
        async with self.transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO outbox (inbox_id, platform, channel_id, subscription_id,"
                " item, event, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*row, now) for row in rows],
            )
            await db.executemany(
                "INSERT INTO items (item, title, url, attributes, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (item) DO UPDATE SET"
                " title = excluded.title, url = excluded.url,"
                " attributes = excluded.attributes, updated_at = excluded.updated_at",
                items,
            )
            await db.executemany("UPDATE inbox SET state = ?, note = ? WHERE id = ?", closed)

    async def amend_routing(
        self,
        delivery: Delivery,
        events: Mapping[str, dict[str, Any]],
        edits: Mapping[str, dict[str, Any]],
        routes: Sequence[Route],
        known: tuple[str, KnownItem] | None,
    ) -> int:
        """A routed delivery's card came out better late: give the channels the better one.

        `events` are the better event in each language `routes` speak. Rows not
        sent yet take theirs in place. Where the card is posted or being posted,
        their `edits` one (a `CARD` event about the same item) is queued under an
        inbox row of its own, so the delivery worker edits the card. Channels
        that got the delivery in a digest, or not at all, are left alone. The
        number of channels amended.
        """
        now = time.time()
        item = next(iter(events.values())).get("item")
        wanted = {(r.platform, r.channel_id): r for r in routes}

        def spoken(versions: Mapping[str, dict[str, Any]], row: aiosqlite.Row) -> str:
            return dump(versions[wanted[(row["platform"], row["channel_id"])].language])

        async with self.transaction() as db:
            async with db.execute(
                "SELECT id, platform, channel_id, state, batch, batch_kind FROM outbox"
                " WHERE inbox_id = ?",
                (delivery.id,),
            ) as cursor:
                rows = [r for r in await cursor.fetchall() if (r[1], r[2]) in wanted]
            waiting = [r for r in rows if r["state"] == "pending" and r["batch"] is None]
            await db.executemany(
                "UPDATE outbox SET event = ? WHERE id = ?",
                [(spoken(events, r), r["id"]) for r in waiting],
            )
            waited = {r["id"] for r in waiting}
            to_edit = [
                r for r in rows if item and r["id"] not in waited and await _card_shown(db, r, item)
            ]
            if to_edit:
                async with db.execute(
                    "INSERT INTO inbox (source, kind, delivery_key, payload, received_at, state,"
                    " note) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_key) DO NOTHING"
                    " RETURNING id",
                    (
                        delivery.source,
                        delivery.kind,
                        f"late:{delivery.id}",
                        delivery.payload,
                        now,
                        INBOX_ROUTED,
                        f"the card of #{delivery.id}, completed",
                    ),
                ) as cursor:
                    added = await cursor.fetchone()
                to_edit = to_edit if added else []
                await db.executemany(
                    "INSERT OR IGNORE INTO outbox (inbox_id, platform, channel_id,"
                    " subscription_id, item, event, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            added[0],
                            r["platform"],
                            r["channel_id"],
                            wanted[(r["platform"], r["channel_id"])].subscription_id,
                            item,
                            spoken(edits, r),
                            now,
                        )
                        for r in to_edit
                        if added
                    ],
                )
            if known is not None:
                key, about = known
                await db.execute(
                    "UPDATE items SET title = ?, url = ?, attributes = ?, updated_at = ?"
                    " WHERE item = ?",
                    (about.title, about.url, dump(about.attributes), now, key),
                )
        return len(waiting) + len(to_edit)


async def _card_shown(db: aiosqlite.Connection, row: aiosqlite.Row, item: str) -> bool:
    """Whether the outbox row `row` put (or is putting) `item`'s card in its channel."""
    if row["batch_kind"] != "card" or row["state"] not in ("pending", "done"):
        return False
    async with db.execute(
        "SELECT 1 FROM posts WHERE platform = ? AND channel_id = ? AND item = ?",
        (row["platform"], row["channel_id"], item),
    ) as cursor:
        return await cursor.fetchone() is not None
