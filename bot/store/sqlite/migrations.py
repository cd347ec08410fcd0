"""SQLite's schema, as numbered migrations applied in order at start-up, each exactly once.

The numbers are shared history: a database at version N has run 1..N (in
whatever order branches merged them), so a migration is never edited once
released, only followed. PostgreSQL has its own numbered list.

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

Migration 6: each pending submission gets its `reference` (the marker that
finds its item again), `unsure` (an attempt may have created it) and
`refused_at` (the service first refused Herald's credentials); the cooldown
log becomes `submission_slots`, places reserved before the work, which a
draft holds and a refused request gives back.

Migration 7: `followups`, the items Herald created for a user (service, kind,
id, link, reporter, where its confirmation card was posted, the last status
seen, whether a change still waits to be told, whether the user wants
updates), kept until `FOLLOWUP_RETENTION_DAYS` after the item closed.

Migration 8: `pending_uploads`, the steps that follow a created item.

Migration 9: each followed item remembers its reporter's `language`, so its
status messages speak it however long after they come.
"""

from __future__ import annotations

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
