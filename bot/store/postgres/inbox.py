"""The inbox: accepted deliveries, grouped into one write per process while one is
under way, and their routing into the outbox.

Each process has its own `inbox writer` task (`bot.store.groupcommit`): the
deliveries that arrived meanwhile are inserted by one statement, in arrival order,
and each caller answered once it is committed. So ids and the answer to a repeat
follow arrival order within a process as on SQLite; a delivery acknowledged before
another arrived always has the smaller id and is visible first. Processes side by
side interleave their ids; the unique key keeps each delivery once across them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from bot.events import KnownItem
from bot.store import columns
from bot.store.columns import INBOX_BATCH, NewDelivery, delivery_ids, dump, first_arrivals
from bot.store.groupcommit import GroupCommit
from bot.store.postgres.base import Connection, Pool, PostgresBase
from bot.store.postgres.leases import notify_outbox
from bot.store.rows import INBOX_NEW, INBOX_ROUTED, Delivery, Route, Verdict

# Insert deliveries, one per array element, in array order (the sorted subquery is
# not flattened, so its rows, and the ids they draw, come in order); a key stored
# before is skipped.
INSERT_DELIVERIES = (
    "INSERT INTO inbox (source, kind, delivery_key, payload, received_at, state)"
    " SELECT source, kind, delivery_key, payload, received_at, state FROM unnest($1::text[],"
    " $2::text[], $3::text[], $4::text[], $5::double precision[], $6::text[]) WITH ORDINALITY"
    " AS t(source, kind, delivery_key, payload, received_at, state, n) ORDER BY n"
    " ON CONFLICT (delivery_key) DO NOTHING RETURNING id, delivery_key"
)

# Queue outbox rows, one per array element; a row routed before is skipped.
QUEUE_ROWS = (
    "INSERT INTO outbox (inbox_id, platform, channel_id, subscription_id, item, event,"
    " created_at) SELECT *, $7::double precision FROM unnest($1::bigint[], $2::text[],"
    " $3::text[], $4::bigint[], $5::text[], $6::text[])"
    " ON CONFLICT (inbox_id, platform, channel_id) DO NOTHING RETURNING id"
)


class PostgresInbox(PostgresBase):
    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self._arrivals = GroupCommit(self._insert_deliveries, INBOX_BATCH, "inbox writer")

    async def close(self) -> None:
        await self._arrivals.drain()
        await super().close()

    async def add_delivery(
        self, source: str, kind: str, key: str, payload: str, state: str = INBOX_NEW
    ) -> int | None:
        """Store an accepted delivery, committed when this returns; None when `key` was
        stored before (a repeat)."""
        return await self._arrivals.submit(
            NewDelivery(source, kind, key, payload, time.time(), state)
        )

    async def _insert_deliveries(self, rows: list[NewDelivery]) -> list[int | None]:
        """Insert rows in one statement (its own transaction); each row's id, or None for
        a repeat."""
        unique = first_arrivals(rows)
        returned = await self._pool.fetch(
            INSERT_DELIVERIES, *(list(c) for c in zip(*unique, strict=True))
        )
        return delivery_ids(rows, returned)

    async def new_deliveries(self, limit: int = 100, source: str | None = None) -> list[Delivery]:
        """The oldest deliveries not routed yet, of one source or of all, by id."""
        rows = await self._pool.fetch(
            "SELECT id, source, kind, payload FROM inbox WHERE state = $1"
            " AND ($2::text IS NULL OR source = $2) ORDER BY id LIMIT $3",
            INBOX_NEW,
            source,
            limit,
        )
        return [Delivery(r["id"], r["source"], r["kind"], r["payload"]) for r in rows]

    async def unrouted_sources(self) -> list[str]:
        """Sources with deliveries not routed yet."""
        rows = await self._pool.fetch(
            "SELECT DISTINCT source FROM inbox WHERE state = $1", INBOX_NEW
        )
        return [r[0] for r in rows]

    async def unrouted_count(self) -> int:
        """Deliveries accepted and not routed to channels yet."""
        count = await self._pool.fetchval("SELECT COUNT(*) FROM inbox WHERE state = $1", INBOX_NEW)
        return int(count)

    async def known_item(self, item: str) -> KnownItem | None:
        row = await self._pool.fetchrow(
            "SELECT title, url, attributes FROM items WHERE item = $1", item
        )
        if row is None:
            return None
        return KnownItem(row["title"], row["url"], json.loads(row["attributes"]))

    async def record_routing(self, verdicts: Sequence[Verdict]) -> None:
        """Queue the outbox rows of routed deliveries and close them, in one transaction
        that also wakes the delivery workers when it queued anything.

        After a crash a delivery is either still new (and routed again) or
        fully queued; the outbox's unique key makes routing again harmless.
        """
        now = time.time()
        rows, items, closed = columns.routing(verdicts, now)
        queued = [list(column) for column in zip(*rows, strict=True)]
        async with self.transaction() as db:
            if queued and await db.fetch(QUEUE_ROWS, *queued, now):
                await notify_outbox(db)
            if items:
                await db.executemany(
                    "INSERT INTO items (item, title, url, attributes, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (item) DO UPDATE SET"
                    " title = excluded.title, url = excluded.url,"
                    " attributes = excluded.attributes, updated_at = excluded.updated_at",
                    items,
                )
            if closed:
                await db.executemany("UPDATE inbox SET state = $1, note = $2 WHERE id = $3", closed)

    async def amend_routing(
        self,
        delivery: Delivery,
        events: Mapping[str, dict[str, Any]],
        edits: Mapping[str, dict[str, Any]],
        routes: Sequence[Route],
        known: tuple[str, KnownItem] | None,
    ) -> int:
        """A routed delivery's card came out better late: give the channels the better one
        (see `bot.store.sqlite.inbox`). The delivery's outbox rows are locked while
        they are read and changed, so a second amendment waits for the first and
        sees its edits queued."""
        now = time.time()
        item = next(iter(events.values())).get("item")
        wanted = {(r.platform, r.channel_id): r for r in routes}

        def spoken(versions: Mapping[str, dict[str, Any]], row: asyncpg.Record) -> str:
            return dump(versions[wanted[(row["platform"], row["channel_id"])].language])

        async with self.transaction() as db:
            found = await db.fetch(
                "SELECT id, platform, channel_id, state, batch, batch_kind FROM outbox"
                " WHERE inbox_id = $1 ORDER BY id FOR UPDATE",
                delivery.id,
            )
            rows = [r for r in found if (r["platform"], r["channel_id"]) in wanted]
            waiting = [r for r in rows if r["state"] == "pending" and r["batch"] is None]
            if waiting:
                await db.executemany(
                    "UPDATE outbox SET event = $1 WHERE id = $2",
                    [(spoken(events, r), r["id"]) for r in waiting],
                )
            waited = {r["id"] for r in waiting}
            to_edit = [
                r for r in rows if item and r["id"] not in waited and await _card_shown(db, r, item)
            ]
            if to_edit:
                added = await db.fetchval(
                    "INSERT INTO inbox (source, kind, delivery_key, payload, received_at, state,"
                    " note) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    " ON CONFLICT (delivery_key) DO NOTHING RETURNING id",
                    delivery.source,
                    delivery.kind,
                    f"late:{delivery.id}",
                    delivery.payload,
                    now,
                    INBOX_ROUTED,
                    f"the card of #{delivery.id}, completed",
                )
                to_edit = to_edit if added is not None else []
                if to_edit:
                    await db.executemany(
                        "INSERT INTO outbox (inbox_id, platform, channel_id, subscription_id,"
                        " item, event, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                        " ON CONFLICT DO NOTHING",
                        [
                            (
                                added,
                                r["platform"],
                                r["channel_id"],
                                wanted[(r["platform"], r["channel_id"])].subscription_id,
                                item,
                                spoken(edits, r),
                                now,
                            )
                            for r in to_edit
                        ],
                    )
                    await notify_outbox(db)
            if known is not None:
                key, about = known
                await db.execute(
                    "UPDATE items SET title = $1, url = $2, attributes = $3, updated_at = $4"
                    " WHERE item = $5",
                    about.title,
                    about.url,
                    dump(about.attributes),
                    now,
                    key,
                )
        return len(waiting) + len(to_edit)


async def _card_shown(db: Connection, row: asyncpg.Record, item: str) -> bool:
    """Whether the outbox row `row` put (or is putting) `item`'s card in its channel."""
    if row["batch_kind"] != "card" or row["state"] not in ("pending", "done"):
        return False
    shown = await db.fetchval(
        "SELECT true FROM posts WHERE platform = $1 AND channel_id = $2 AND item = $3",
        row["platform"],
        row["channel_id"],
        item,
    )
    return bool(shown)
