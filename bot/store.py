"""Herald's storage: SQLite through aiosqlite, behind plain async methods.

All SQL lives here. The database runs in WAL mode with one connection (one
writer); every write is its own transaction. Migrations are numbered and
applied in order at start-up, each exactly once.

The announcement tables (migration 3): `subscriptions` (which channel wants
which service's events, through which filter), `inbox` (every accepted
webhook or poller delivery, unique per delivery key), `items` (what earlier
events said about an item), `outbox` (one row per event and channel, drained
by the delivery worker) and `posts` (every message Herald posted for a
delivery step, by key; the item's card in a channel is its latest post with
that item).

The poller tables (migration 4): `poll_cursors` (a feed read before, so its
first reading is told apart) and `poll_items` (the last known state of each
item a poller watches, so a restart neither repeats nor misses a change).

Delivery troubles (migration 5): `channel_access` (channels Herald lost access
to, since when, and whether the admin was told), and the database's random
`instance_id` (a setting), which salts idempotency keys sent to platforms so
two databases sharing a bot never mistake each other's messages for their own.

Migration 7: `followups`, the items Herald created for a user (service, kind,
id, link, reporter, where its confirmation card was posted, the last status
seen, whether a change still waits to be told, whether the user wants
updates), kept until `FOLLOWUP_RETENTION_DAYS` after the item closed.

Migration 6: each pending submission gets its `reference` (the marker that
finds its item again), `unsure` (an attempt may have created it) and
`refused_at` (the service first refused Herald's credentials); the cooldown
log becomes `submission_slots`, places reserved before the work, which a
draft holds and a refused request gives back.

Migration 9: each followed item remembers its reporter's `language`, so its
status messages speak it however long after they come.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from bot.events import KnownItem
from bot.i18n import SOURCE

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE settings (
            scope TEXT NOT NULL,
            key   TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (scope, key)
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE pending_submissions (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            service         TEXT NOT NULL,
            kind            TEXT NOT NULL,
            state           TEXT NOT NULL,
            payload         TEXT NOT NULL,
            summary         TEXT NOT NULL,
            user_text       TEXT NOT NULL,
            user            TEXT NOT NULL,
            channel_id      TEXT,
            guild_id        TEXT,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            last_error      TEXT,
            result_url      TEXT,
            created_at      REAL NOT NULL
        );
        CREATE INDEX pending_submissions_due
            ON pending_submissions (service, state, next_attempt_at);
        CREATE TABLE pending_files (
            submission_id INTEGER NOT NULL
                REFERENCES pending_submissions (id) ON DELETE CASCADE,
            position      INTEGER NOT NULL,
            filename      TEXT NOT NULL,
            content_type  TEXT,
            data          BLOB NOT NULL,
            PRIMARY KEY (submission_id, position)
        );
        CREATE TABLE submission_log (
            platform TEXT NOT NULL,
            user_id  TEXT NOT NULL,
            at       REAL NOT NULL
        );
        CREATE INDEX submission_log_user ON submission_log (platform, user_id, at);
        """,
    ),
    (
        3,
        """
        CREATE TABLE subscriptions (
            id          INTEGER PRIMARY KEY,
            platform    TEXT NOT NULL,
            scope       TEXT NOT NULL,
            channel_id  TEXT NOT NULL,
            service     TEXT NOT NULL,
            filter      TEXT NOT NULL,
            created_by  TEXT,
            created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
            paused      TEXT
        );
        CREATE INDEX subscriptions_by_service ON subscriptions (service);
        CREATE INDEX subscriptions_by_scope ON subscriptions (platform, scope);

        CREATE TABLE inbox (
            id           INTEGER PRIMARY KEY,
            source       TEXT NOT NULL,
            kind         TEXT NOT NULL,
            delivery_key TEXT NOT NULL UNIQUE,
            payload      TEXT NOT NULL,
            received_at  REAL NOT NULL,
            state        TEXT NOT NULL,
            note         TEXT
        );
        CREATE INDEX inbox_new ON inbox (id) WHERE state = 'new';

        CREATE TABLE items (
            item        TEXT PRIMARY KEY,
            title       TEXT,
            url         TEXT,
            attributes  TEXT NOT NULL,
            updated_at  REAL NOT NULL
        );

        CREATE TABLE outbox (
            id              INTEGER PRIMARY KEY,
            inbox_id        INTEGER NOT NULL,
            platform        TEXT NOT NULL,
            channel_id      TEXT NOT NULL,
            subscription_id INTEGER,
            item            TEXT,
            event           TEXT NOT NULL,
            state           TEXT NOT NULL DEFAULT 'pending',
            batch           INTEGER,
            batch_kind      TEXT,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt    REAL NOT NULL DEFAULT 0,
            error           TEXT,
            created_at      REAL NOT NULL,
            done_at         REAL,
            UNIQUE (inbox_id, platform, channel_id)
        );
        CREATE INDEX outbox_pending ON outbox (platform, channel_id, id) WHERE state = 'pending';
        CREATE INDEX outbox_dead ON outbox (subscription_id) WHERE state = 'dead';

        CREATE TABLE posts (
            key        TEXT PRIMARY KEY,
            platform   TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            item       TEXT,
            thread_id  TEXT,
            posted_at  REAL NOT NULL
        );
        CREATE INDEX posts_by_item ON posts (platform, channel_id, item) WHERE item IS NOT NULL;
        """,
    ),
    (
        4,
        """
        CREATE TABLE poll_cursors (
            source    TEXT NOT NULL,
            feed      TEXT NOT NULL,
            primed_at REAL NOT NULL,
            PRIMARY KEY (source, feed)
        );
        CREATE TABLE poll_items (
            source     TEXT NOT NULL,
            feed       TEXT NOT NULL,
            item_id    TEXT NOT NULL,
            state      TEXT NOT NULL,
            data       TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (source, feed, item_id)
        );
        CREATE INDEX poll_items_by_state ON poll_items (source, feed, state, updated_at);
        """,
    ),
    (
        5,
        """
        CREATE TABLE channel_access (
            platform   TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            lost_at    REAL NOT NULL,
            error      TEXT NOT NULL,
            told_at    REAL,
            PRIMARY KEY (platform, channel_id)
        );
        CREATE INDEX outbox_dead_by_channel ON outbox (platform, channel_id, done_at)
            WHERE state = 'dead';
        INSERT OR IGNORE INTO settings (scope, key, value)
            VALUES ('herald', 'instance_id', lower(hex(randomblob(8))));
        """,
    ),
    (
        6,
        """
        ALTER TABLE pending_submissions ADD COLUMN reference TEXT;
        ALTER TABLE pending_submissions ADD COLUMN unsure INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE pending_submissions ADD COLUMN refused_at REAL;
        CREATE TABLE submission_slots (
            id            INTEGER PRIMARY KEY,
            platform      TEXT NOT NULL,
            user_id       TEXT NOT NULL,
            at            REAL NOT NULL,
            submission_id INTEGER
        );
        INSERT INTO submission_slots (platform, user_id, at)
            SELECT platform, user_id, at FROM submission_log;
        DROP TABLE submission_log;
        CREATE INDEX submission_slots_user ON submission_slots (platform, user_id, at);
        CREATE INDEX submission_slots_by_submission
            ON submission_slots (submission_id) WHERE submission_id IS NOT NULL;
        """,
    ),
    (
        7,
        """
        CREATE TABLE followups (
            id              INTEGER PRIMARY KEY,
            service         TEXT NOT NULL,
            kind            TEXT NOT NULL,
            item_id         TEXT NOT NULL,
            url             TEXT,
            title           TEXT NOT NULL,
            platform        TEXT NOT NULL,
            user_id         TEXT NOT NULL,
            card_channel    TEXT,
            card_message    TEXT,
            card            TEXT,
            status          TEXT,
            previous_status TEXT,
            notice_due      INTEGER NOT NULL DEFAULT 0,
            wants_updates   INTEGER NOT NULL DEFAULT 1,
            created_at      REAL NOT NULL,
            checked_at      REAL NOT NULL DEFAULT 0,
            closed_at       REAL,
            UNIQUE (service, kind, item_id)
        );
        CREATE INDEX followups_by_user ON followups (platform, user_id, created_at);
        CREATE INDEX followups_by_check ON followups (service, kind, checked_at);
        CREATE INDEX followups_notices ON followups (notice_due) WHERE notice_due = 1;
        """,
    ),
    (
        8,
        """
        CREATE TABLE pending_uploads (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            service         TEXT NOT NULL,
            reference       TEXT NOT NULL,
            position        INTEGER NOT NULL,
            item_id         TEXT NOT NULL,
            item_url        TEXT,
            token           TEXT,
            step            TEXT NOT NULL,
            filename        TEXT NOT NULL,
            content_type    TEXT,
            data            BLOB,
            user            TEXT NOT NULL,
            state           TEXT NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            last_error      TEXT,
            created_at      REAL NOT NULL,
            UNIQUE (service, reference, position)
        );
        CREATE INDEX pending_uploads_due ON pending_uploads (service, state, next_attempt_at);
        CREATE INDEX pending_uploads_item ON pending_uploads (service, item_id);
        """,
    ),
    (9, "ALTER TABLE followups ADD COLUMN language TEXT NOT NULL DEFAULT 'en';"),
]

# Submission states: a draft waits for the user's "Create anyway"; `sending`
# is in flight in this process; `pending` waits for its next attempt; `done`
# went through (or was refused) and the user is still to be told. A row is
# deleted once the user knows.
DRAFT, SENDING, PENDING, DONE = "draft", "sending", "pending", "done"
INBOX_BATCH = 200
INBOX_NEW = "new"
INBOX_ROUTED = "routed"
INBOX_IGNORED = "ignored"
INBOX_FAILED = "failed"
INSTANCE = ("herald", "instance_id")


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    platform: str
    scope: str
    channel_id: str
    service: str
    filter: dict[str, Any]
    created_by: str | None
    paused: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """An inbox row: a webhook body or poller payload waiting to be routed."""

    id: int
    source: str
    kind: str
    payload: str


@dataclass(frozen=True, slots=True)
class Route:
    """Where a routed event goes: a channel, and the subscription that chose it."""

    platform: str
    channel_id: str
    subscription_id: int
    language: str = SOURCE


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the router made of one delivery: routed to channels, ignored or failed.

    `event` is in the language of most of its channels; `translations` are
    the event in the other languages its routes speak, by language.
    """

    delivery_id: int
    state: str
    note: str | None = None
    event: dict[str, Any] | None = None
    routes: tuple[Route, ...] = ()
    known: tuple[str, KnownItem] | None = None
    translations: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    platform: str
    channel_id: str
    item: str | None
    event: str
    batch: int | None
    batch_kind: str | None
    attempts: int
    created_at: float = 0.0
    received_at: float = 0.0
    """When its webhook was received, or its poller noticed the change."""


@dataclass(frozen=True, slots=True)
class Post:
    """A message Herald posted; with `item` set it is that item's card in the channel."""

    key: str
    platform: str
    channel_id: str
    message_id: str
    item: str | None = None
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetters:
    """Undeliverable announcements for one channel, for /subscriptions."""

    channel_id: str
    count: int
    error: str | None
    last_at: float


@dataclass(frozen=True, slots=True)
class DeadRow:
    """One undeliverable announcement, for /herald deliveries."""

    id: int
    channel_id: str
    event: str
    error: str | None
    dead_at: float


@dataclass(frozen=True, slots=True)
class LostAccess:
    """A channel Herald may not post to for now; its announcements wait."""

    channel_id: str
    error: str
    lost_at: float
    waiting: int


@dataclass(frozen=True, slots=True)
class PolledItem:
    """The last known state of one item a poller watches (a build, a release).

    `state` is what the poller compares (a status); `data` is the item as last
    seen, for cards and statistics.
    """

    item_id: str
    state: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewFollowup:
    """An item Herald just created for a user, to follow its status."""

    service: str
    kind: str
    item_id: str
    url: str | None
    title: str
    platform: str
    user_id: str
    wants_updates: bool = True
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Followup:
    """A followed item as stored: its card (where posted, as posted) and what was seen."""

    id: int
    service: str
    kind: str
    item_id: str
    url: str | None
    title: str
    platform: str
    user_id: str
    card_channel: str | None
    card_message: str | None
    card: dict[str, Any] | None
    status: str | None
    previous_status: str | None
    notice_due: bool
    wants_updates: bool
    created_at: float
    closed_at: float | None
    language: str = "en"


class Store:
    def __init__(self, db: aiosqlite.Connection) -> None:
        # One connection: a read during another coroutine's open transaction would
        # see its uncommitted rows, so reads that decide deliveries take the lock too.
        self._db = db
        self._lock = asyncio.Lock()
        self._inbox_queue: list[tuple[tuple[Any, ...], asyncio.Future[int | None]]] = []
        self._inbox_writer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database at `path` and migrate it."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            store = cls(db)
            await store._migrate()
        except BaseException:
            await db.close()  # its thread would keep the process alive after the error
            raise
        return store

    async def close(self) -> None:
        if self._inbox_writer is not None:
            await asyncio.gather(self._inbox_writer, return_exceptions=True)
        await self._db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; concurrent writers queue on the lock.

        Whatever fails or is cancelled, BEGIN and COMMIT included, the
        connection is left outside a transaction: a BEGIN whose caller was
        cancelled still runs on aiosqlite's thread, and a failed COMMIT keeps
        the transaction open, so anything not committed is rolled back.
        """
        async with self._lock:
            committed = False
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                await self._db.execute("COMMIT")
                committed = True
            finally:
                if not committed:
                    await self._rollback()

    async def _rollback(self) -> None:
        """ROLLBACK, queued behind whatever the thread is still running; none open is fine."""
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            if self._db.in_transaction:
                raise

    async def _migrate(self) -> None:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        async with self._db.execute("SELECT version FROM schema_migrations") as cursor:
            applied = {row[0] async for row in cursor}
        for version, sql in MIGRATIONS:
            if version in applied:
                continue
            script = (
                f"BEGIN IMMEDIATE; {sql};"  # noqa: S608 - our own migration text
                f" INSERT INTO schema_migrations (version) VALUES ({int(version)}); COMMIT;"
            )
            async with self._lock:
                try:
                    await self._db.executescript(script)
                except aiosqlite.Error:
                    if self._db.in_transaction:
                        await self._db.execute("ROLLBACK")
                    raise
            log.info("database migrated to version %d", version)

    async def schema_version(self) -> int:
        async with self._db.execute("SELECT MAX(version) FROM schema_migrations") as cursor:
            row = await cursor.fetchone()
        return int(row[0] or 0) if row else 0

    async def ping(self) -> bool:
        """Whether the database answers a read of its own file (`SELECT 1` reads
        nothing, so it would miss a file that was overwritten or truncated)."""
        try:
            async with self._db.execute("PRAGMA schema_version") as cursor:
                return (await cursor.fetchone()) is not None
        except (aiosqlite.Error, ValueError):
            return False

    async def instance_id(self) -> str:
        """This database's random id (made by migration 5)."""
        return await self.get_setting(*INSTANCE) or ""

    async def get_setting(self, scope: str, key: str) -> str | None:
        async with self._db.execute(
            "SELECT value FROM settings WHERE scope = ? AND key = ?", (scope, key)
        ) as cursor:
            row = await cursor.fetchone()
        return row["value"] if row else None

    async def set_setting(self, scope: str, key: str, value: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO settings (scope, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
                (scope, key, value),
            )

    async def delete_setting(self, scope: str, key: str) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM settings WHERE scope = ? AND key = ?", (scope, key))

    async def settings_named(self, key: str, scope_prefix: str) -> dict[str, str]:
        """Every `key` setting whose scope starts with `scope_prefix`, by scope."""
        async with self._db.execute(
            "SELECT scope, value FROM settings WHERE key = ? AND substr(scope, 1, ?) = ?",
            (key, len(scope_prefix), scope_prefix),
        ) as cursor:
            return {row["scope"]: row["value"] for row in await cursor.fetchall()}

    # --- follow-ups: items Herald created for a user -----------------------------

    async def add_followup(self, item: NewFollowup) -> int:
        """Remember a created item (once per service item); its row id."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO followups (service, kind, item_id, url, title, platform,"
                " user_id, wants_updates, created_at, language)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.service,
                    item.kind,
                    item.item_id,
                    item.url,
                    item.title,
                    item.platform,
                    item.user_id,
                    int(item.wants_updates),
                    time.time(),
                    item.language,
                ),
            )
            async with db.execute(
                "SELECT id FROM followups WHERE service = ? AND kind = ? AND item_id = ?",
                (item.service, item.kind, item.item_id),
            ) as cursor:
                row = await cursor.fetchone()
        return int(row["id"]) if row else 0

    async def set_followup_card(
        self, followup_id: int, channel_id: str, message_id: str, card: dict[str, Any]
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE followups SET card_channel = ?, card_message = ?, card = ? WHERE id = ?",
                (channel_id, message_id, _dump(card), followup_id),
            )

    async def followup(self, followup_id: int) -> Followup | None:
        found = await self._followups("WHERE id = ?", (followup_id,))
        return found[0] if found else None

    async def followup_of(self, service: str, kind: str, item_id: str) -> Followup | None:
        found = await self._followups(
            "WHERE service = ? AND kind = ? AND item_id = ?", (service, kind, item_id)
        )
        return found[0] if found else None

    async def followups_due(
        self, service: str, kinds: Sequence[str], created_after: float, limit: int
    ) -> list[Followup]:
        """Items to read next: those read longest ago first, none past the retention."""
        marks = ", ".join("?" for _ in kinds)
        return await self._followups(
            f"WHERE service = ? AND kind IN ({marks}) AND created_at >= ?"
            " ORDER BY checked_at, id LIMIT ?",
            (service, *kinds, created_after, limit),
        )

    async def followup_notices(self, service: str) -> list[Followup]:
        """Changes recorded but not yet told (a crash or an outage came between)."""
        return await self._followups("WHERE notice_due = 1 AND service = ? ORDER BY id", (service,))

    async def user_followups(self, platform: str, user_id: str, limit: int) -> list[Followup]:
        return await self._followups(
            "WHERE platform = ? AND user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (platform, user_id, limit),
        )

    async def record_followup_status(
        self,
        followup_id: int,
        seen: str | None,
        status: str,
        *,
        notice: bool,
        closed_at: float | None,
    ) -> bool:
        """Store a new status, only if the last one is still `seen` (a webhook and the
        poller may race); with `notice`, the change waits to be told. False when lost."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE followups SET status = ?, previous_status = ?, notice_due = ?,"
                " closed_at = ?, checked_at = ? WHERE id = ? AND status IS ?",
                (status, seen, int(notice), closed_at, time.time(), followup_id, seen),
            )
            return cursor.rowcount == 1

    async def followups_checked(self, ids: Sequence[int]) -> None:
        async with self.transaction() as db:
            await db.executemany(
                "UPDATE followups SET checked_at = ? WHERE id = ?",
                [(time.time(), i) for i in ids],
            )

    async def followup_told(self, followup_id: int, status: str) -> None:
        """The change to `status` was told (or cannot be): not again."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE followups SET notice_due = 0 WHERE id = ? AND status = ?",
                (followup_id, status),
            )

    async def set_followup_updates(
        self, platform: str, user_id: str, wanted: bool, followup_id: int | None = None
    ) -> int:
        """Turn updates on or off for one of the user's items, or all of them; how many."""
        query = "UPDATE followups SET wants_updates = ? WHERE platform = ? AND user_id = ?"
        args: tuple[Any, ...] = (int(wanted), platform, user_id)
        if followup_id is not None:
            query += " AND id = ?"
            args = (*args, followup_id)
        async with self.transaction() as db:
            cursor = await db.execute(query, args)
            return cursor.rowcount

    async def prune_followups(self, closed_before: float) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM followups WHERE closed_at IS NOT NULL AND closed_at < ?",
                (closed_before,),
            )
            return cursor.rowcount

    async def _followups(self, where: str, args: tuple[Any, ...]) -> list[Followup]:
        async with self._db.execute(f"SELECT * FROM followups {where}", args) as cursor:  # noqa: S608 - our own clauses
            return [_followup(row) async for row in cursor]

    # --- pending submissions ---------------------------------------------------

    async def add_submission(
        self,
        row: dict[str, Any],
        files: Sequence[tuple[str, str | None, bytes]] = (),
    ) -> int:
        """Insert a submission (columns as in `pending_submissions`) and its files."""
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        async with self.transaction() as db:
            cursor = await db.execute(
                f"INSERT INTO pending_submissions ({columns}) VALUES ({marks})",  # noqa: S608 - our own column names
                tuple(row.values()),
            )
            submission_id = int(cursor.lastrowid or 0)
            await db.executemany(
                "INSERT INTO pending_files (submission_id, position, filename, content_type, data)"
                " VALUES (?, ?, ?, ?, ?)",
                [(submission_id, index, *file) for index, file in enumerate(files)],
            )
        return submission_id

    async def get_submission(self, submission_id: int) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE id = ?", (submission_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return dict(row) if row else None

    async def submission_files(self, submission_id: int) -> list[tuple[str, str | None, bytes]]:
        async with self._db.execute(
            "SELECT filename, content_type, data FROM pending_files"
            " WHERE submission_id = ? ORDER BY position",
            (submission_id,),
        ) as cursor:
            return [(r["filename"], r["content_type"], bytes(r["data"])) async for r in cursor]

    async def claim_submission(self, submission_id: int, from_state: str) -> bool:
        """Move a submission from `from_state` to `sending`; False if another got it first."""
        return await self._claim("pending_submissions", submission_id, from_state)

    async def update_submission(self, submission_id: int, **changes: Any) -> None:
        await self._update("pending_submissions", submission_id, changes)

    async def _claim(self, table: str, row_id: int, from_state: str) -> bool:
        """A conditional move to `sending`: exactly one of several claimants wins."""
        async with self.transaction() as db:
            cursor = await db.execute(
                f"UPDATE {table} SET state = ? WHERE id = ? AND state = ?",  # noqa: S608 - our own table names
                (SENDING, row_id, from_state),
            )
        return cursor.rowcount == 1

    async def _update(self, table: str, row_id: int, changes: dict[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        async with self.transaction() as db:
            await db.execute(
                f"UPDATE {table} SET {assignments} WHERE id = ?",  # noqa: S608 - our own table and column names
                (*changes.values(), row_id),
            )

    async def delete_submission(self, submission_id: int) -> None:
        async with self.transaction() as db:
            await db.execute("DELETE FROM pending_submissions WHERE id = ?", (submission_id,))

    async def discard_draft(self, submission_id: int) -> bool:
        """Delete a submission only while it is a draft; False when it was claimed first."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM pending_submissions WHERE id = ? AND state = ?",
                (submission_id, DRAFT),
            )
        return cursor.rowcount == 1

    async def due_submissions(
        self, service: str, state: str, now: float, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Submissions of `service` in `state` whose next attempt is due, oldest first."""
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE service = ? AND state = ?"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            (service, state, now, limit),
        ) as cursor:
            return [dict(row) async for row in cursor]

    async def next_submission_at(self, service: str, states: Sequence[str]) -> float | None:
        """When the earliest submission of `service` in one of `states` is due."""
        marks = ", ".join("?" for _ in states)
        query = f"SELECT MIN(next_attempt_at) FROM pending_submissions WHERE service = ? AND state IN ({marks})"  # noqa: E501, S608 - placeholders only
        async with self._db.execute(query, (service, *states)) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def recover_submissions(self, service: str) -> int:
        """At start: sends that were in flight when the process stopped are pending
        again (nothing is lost) and unsure (the service may have taken them: look
        before sending), and every waiting submission is due now."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE pending_submissions SET state = ?, unsure = 1"
                " WHERE service = ? AND state = ?",
                (PENDING, service, SENDING),
            )
            await db.execute(
                "UPDATE pending_submissions SET next_attempt_at = 0"
                " WHERE service = ? AND state IN (?, ?)",
                (service, PENDING, DONE),
            )
        return cursor.rowcount

    async def delete_drafts(self, service: str, older_than: float) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM pending_submissions"
                " WHERE service = ? AND state = ? AND created_at < ?",
                (service, DRAFT, older_than),
            )
        return cursor.rowcount

    async def submissions_in_state(self, service: str, state: str) -> list[dict[str, Any]]:
        async with self._db.execute(
            "SELECT * FROM pending_submissions WHERE service = ? AND state = ? ORDER BY id",
            (service, state),
        ) as cursor:
            return [dict(row) async for row in cursor]

    # --- uploads that follow a created item ----------------------------------
    # One row per step (a file to upload, or the call that publishes a draft),
    # keyed by the submission's reference and the step's position so a second
    # queueing of the same item is ignored. Finished rows keep no bytes and are
    # purged after a while.

    async def add_uploads(self, rows: Sequence[dict[str, Any]]) -> None:
        async with self.transaction() as db:
            for row in rows:
                columns = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                await db.execute(
                    f"INSERT OR IGNORE INTO pending_uploads ({columns}) VALUES ({marks})",  # noqa: S608 - our own column names
                    tuple(row.values()),
                )

    async def uploads_of(self, service: str, item_id: str) -> list[dict[str, Any]]:
        async with self._db.execute(
            "SELECT * FROM pending_uploads WHERE service = ? AND item_id = ? ORDER BY position",
            (service, item_id),
        ) as cursor:
            return [dict(row) async for row in cursor]

    async def get_upload(self, upload_id: int) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT * FROM pending_uploads WHERE id = ?", (upload_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return dict(row) if row else None

    async def claim_upload(self, upload_id: int, from_state: str) -> bool:
        """Move an upload from `from_state` to `sending`; False if another got it first."""
        return await self._claim("pending_uploads", upload_id, from_state)

    async def update_upload(self, upload_id: int, **changes: Any) -> None:
        await self._update("pending_uploads", upload_id, changes)

    async def due_uploads(self, service: str, now: float, limit: int = 20) -> list[dict[str, Any]]:
        async with self._db.execute(
            "SELECT * FROM pending_uploads WHERE service = ? AND state = ?"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, position LIMIT ?",
            (service, PENDING, now, limit),
        ) as cursor:
            return [dict(row) async for row in cursor]

    async def next_upload_at(self, service: str) -> float | None:
        async with self._db.execute(
            "SELECT MIN(next_attempt_at) FROM pending_uploads WHERE service = ? AND state = ?",
            (service, PENDING),
        ) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def recover_uploads(self, service: str, older_than: float) -> int:
        """At start: every waiting upload (in flight when the process stopped, too) is
        due now, and finished rows older than `older_than` are dropped."""
        async with self.transaction() as db:
            await db.execute(
                "DELETE FROM pending_uploads WHERE service = ? AND state NOT IN (?, ?)"
                " AND created_at < ?",
                (service, PENDING, SENDING, older_than),
            )
            cursor = await db.execute(
                "UPDATE pending_uploads SET state = ?, next_attempt_at = 0"
                " WHERE service = ? AND state IN (?, ?)",
                (PENDING, service, PENDING, SENDING),
            )
        return cursor.rowcount

    # --- per-user submission slots (cooldowns) ---------------------------------

    async def reserve_slot(
        self,
        platform: str,
        user_id: str,
        now: float,
        window: float,
        limit: int,
        submission_id: int | None = None,
    ) -> tuple[int, bool] | None:
        """Take one of a user's `limit` places in the sliding `window`, in one transaction
        (so concurrent commands cannot all see a free place), or None when all are taken.

        With `submission_id`, a place that submission already holds in the window is
        reused. Returns the place's id and whether it is new.
        """
        since = now - window
        async with self.transaction() as db:
            await db.execute("DELETE FROM submission_slots WHERE at < ?", (since,))
            if submission_id is not None:
                async with db.execute(
                    "SELECT id FROM submission_slots WHERE submission_id = ?", (submission_id,)
                ) as cursor:
                    held = await cursor.fetchone()
                if held is not None:
                    return int(held[0]), False
            async with db.execute(
                "SELECT COUNT(*) FROM submission_slots WHERE platform = ? AND user_id = ?",
                (platform, user_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row[0] >= limit:
                return None
            cursor = await db.execute(
                "INSERT INTO submission_slots (platform, user_id, at, submission_id)"
                " VALUES (?, ?, ?, ?)",
                (platform, user_id, now, submission_id),
            )
            return int(cursor.lastrowid or 0), True

    async def hold_slot(self, slot_id: int, submission_id: int) -> None:
        """Tie a place to the submission (a draft) it was taken for."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE submission_slots SET submission_id = ? WHERE id = ?",
                (submission_id, slot_id),
            )

    async def release_slot(self, slot_id: int) -> None:
        """Give a place back (the service refused the request: nothing was created)."""
        async with self.transaction() as db:
            await db.execute("DELETE FROM submission_slots WHERE id = ?", (slot_id,))

    async def slots_since(self, platform: str, user_id: str, since: float) -> list[float]:
        """When a user took their places since `since`, oldest first."""
        async with self._db.execute(
            "SELECT at FROM submission_slots WHERE platform = ? AND user_id = ? AND at >= ?"
            " ORDER BY at",
            (platform, user_id, since),
        ) as cursor:
            return [float(row[0]) async for row in cursor]

    # --- subscriptions ------------------------------------------------------

    async def add_subscription(
        self,
        platform: str,
        scope: str,
        channel_id: str,
        service: str,
        filter_json: dict[str, Any],
        created_by: str | None,
    ) -> int:
        async with self.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO subscriptions (platform, scope, channel_id, service, filter,"
                " created_by) VALUES (?, ?, ?, ?, ?, ?)",
                (platform, scope, channel_id, service, _dump(filter_json), created_by),
            )
            return int(cursor.lastrowid or 0)

    async def find_subscription(
        self, platform: str, channel_id: str, service: str, filter_json: dict[str, Any]
    ) -> Subscription | None:
        rows = await self._subscriptions(
            "platform = ? AND channel_id = ? AND service = ? AND filter = ?",
            (platform, channel_id, service, _dump(filter_json)),
        )
        return rows[0] if rows else None

    async def resume_subscription(self, subscription_id: int) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET paused = NULL WHERE id = ?", (subscription_id,)
            )

    async def subscriptions(self, platform: str, scope: str) -> list[Subscription]:
        """Every subscription of one guild or workspace, oldest first."""
        return await self._subscriptions("platform = ? AND scope = ?", (platform, scope))

    async def channel_subscriptions(self, platform: str, channel_id: str) -> list[Subscription]:
        return await self._subscriptions("platform = ? AND channel_id = ?", (platform, channel_id))

    async def active_subscriptions(self, service: str) -> list[Subscription]:
        return await self._subscriptions("service = ? AND paused IS NULL", (service,))

    async def remove_subscriptions(self, platform: str, scope: str, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        async with self.transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM subscriptions WHERE platform = ? AND scope = ? AND id IN ({marks})",  # noqa: S608
                (platform, scope, *ids),
            )
            return cursor.rowcount

    async def _subscriptions(self, where: str, args: tuple[Any, ...]) -> list[Subscription]:
        async with self._db.execute(
            "SELECT id, platform, scope, channel_id, service, filter, created_by, paused"  # noqa: S608 - placeholders only
            f" FROM subscriptions WHERE {where} ORDER BY id",
            args,
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            Subscription(
                r["id"],
                r["platform"],
                r["scope"],
                r["channel_id"],
                r["service"],
                json.loads(r["filter"]),
                r["created_by"],
                r["paused"],
            )
            for r in rows
        ]

    # --- inbox and routing --------------------------------------------------

    async def add_delivery(
        self, source: str, kind: str, key: str, payload: str, state: str = INBOX_NEW
    ) -> int | None:
        """Store an accepted delivery; None when `key` was stored before (a repeat).

        Deliveries arriving while a write is under way are committed together
        with the next one (group commit): one statement for many webhooks,
        each caller still answered only once its row is committed.
        """
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._inbox_queue.append(((source, kind, key, payload, time.time(), state), future))
        if self._inbox_writer is None or self._inbox_writer.done():
            self._inbox_writer = asyncio.create_task(self._write_inbox(), name="inbox writer")
        return await future

    async def _write_inbox(self) -> None:
        while self._inbox_queue:
            batch = self._inbox_queue[:INBOX_BATCH]
            del self._inbox_queue[:INBOX_BATCH]
            try:
                ids = await self._insert_deliveries([row for row, _ in batch])
            except Exception as error:
                for _, future in batch:
                    if not future.done():  # a caller may have gone away meanwhile
                        future.set_exception(error)
                continue
            for (_, future), delivery_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(delivery_id)

    async def _insert_deliveries(self, rows: list[tuple[Any, ...]]) -> list[int | None]:
        """Insert rows in one statement; each row's id, or None for a key already stored."""
        first: dict[str, tuple[Any, ...]] = {}
        for row in rows:  # in arrival order, so ids (and routing) follow it
            first.setdefault(row[2], row)
        unique = list(first.values())
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
        inserted = {key: delivery_id for delivery_id, key in returned}
        return [inserted.pop(row[2], None) for row in rows]

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
        rows: list[tuple[object, ...]] = []
        items, closed = [], []
        for verdict in verdicts:
            event = _dump(verdict.event) if verdict.event is not None else None
            item = verdict.event.get("item") if verdict.event is not None else None
            spoken = {language: _dump(e) for language, e in verdict.translations.items()}
            rows.extend(
                (
                    verdict.delivery_id,
                    r.platform,
                    r.channel_id,
                    r.subscription_id,
                    item,
                    spoken.get(r.language, event),
                    now,
                )
                for r in verdict.routes
            )
            if verdict.known is not None:
                key, known = verdict.known
                items.append((key, known.title, known.url, _dump(known.attributes), now))
            closed.append((verdict.state, verdict.note, verdict.delivery_id))
        async with self.transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO outbox (inbox_id, platform, channel_id, subscription_id,"
                " item, event, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
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
            return _dump(versions[wanted[(row["platform"], row["channel_id"])].language])

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
                    (about.title, about.url, _dump(about.attributes), now, key),
                )
        return len(waiting) + len(to_edit)

    # --- outbox ---------------------------------------------------------------

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

    async def submissions_waiting(self) -> dict[str, int]:
        """Per service: submissions it did not take, saved for a retry (one being
        retried right now included, so the count does not blink during the retry)."""
        async with self._db.execute(
            "SELECT service, COUNT(*) FROM pending_submissions"
            " WHERE state = ? OR (state = ? AND attempts > 0) GROUP BY service",
            (PENDING, SENDING),
        ) as cursor:
            return {r[0]: int(r[1]) for r in await cursor.fetchall()}

    async def unrouted_count(self) -> int:
        """Deliveries accepted and not routed to channels yet."""
        async with self._db.execute(
            "SELECT COUNT(*) FROM inbox WHERE state = ?", (INBOX_NEW,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

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

    # --- posts ----------------------------------------------------------------

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

    # --- pollers: what each feed has seen ---------------------------------

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
                found.update({row["item_id"]: _polled(row) async for row in cursor})
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
            return [_polled(row) async for row in cursor]

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


async def _card_shown(db: aiosqlite.Connection, row: aiosqlite.Row, item: str) -> bool:
    """Whether the outbox row `row` put (or is putting) `item`'s card in its channel."""
    if row["batch_kind"] != "card" or row["state"] not in ("pending", "done"):
        return False
    async with db.execute(
        "SELECT 1 FROM posts WHERE platform = ? AND channel_id = ? AND item = ?",
        (row["platform"], row["channel_id"], item),
    ) as cursor:
        return await cursor.fetchone() is not None


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


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _polled(row: aiosqlite.Row) -> PolledItem:
    return PolledItem(row["item_id"], row["state"], json.loads(row["data"]))


def _followup(row: aiosqlite.Row) -> Followup:
    return Followup(
        id=row["id"],
        service=row["service"],
        kind=row["kind"],
        item_id=row["item_id"],
        url=row["url"],
        title=row["title"],
        platform=row["platform"],
        user_id=row["user_id"],
        card_channel=row["card_channel"],
        card_message=row["card_message"],
        card=json.loads(row["card"]) if row["card"] else None,
        status=row["status"],
        previous_status=row["previous_status"],
        notice_due=bool(row["notice_due"]),
        wants_updates=bool(row["wants_updates"]),
        created_at=row["created_at"],
        closed_at=row["closed_at"],
        language=row["language"],
    )
