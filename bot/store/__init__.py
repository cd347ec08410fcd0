"""Herald's storage: one typed interface per concern, an implementation per engine.

Callers type against the protocols of `bot.store.interfaces` (the narrowest
they use) and get rows from `bot.store.rows`; all SQL lives in the engine's
package (`bot.store.sqlite`, `bot.store.postgres`). `open_store` picks the engine from
`DATABASE_URL` and migrates the database before handing it over.
"""

from __future__ import annotations

from bot.store.interfaces import (
    FollowupStore,
    InboxStore,
    OutboxStore,
    PollingStore,
    SettingsStore,
    SlotStore,
    Store,
    SubmissionStore,
    SubscriptionStore,
    UploadStore,
)
from bot.store.postgres import PostgresStore
from bot.store.rows import (
    DONE,
    DRAFT,
    INBOX_FAILED,
    INBOX_IGNORED,
    INBOX_NEW,
    INBOX_ROUTED,
    PENDING,
    SENDING,
    DeadLetters,
    DeadRow,
    Delivery,
    Followup,
    LostAccess,
    NewFollowup,
    NewSubmission,
    NewUpload,
    OutboxRow,
    PendingSubmission,
    PolledItem,
    Post,
    Route,
    SubmissionChanges,
    Subscription,
    Upload,
    UploadChanges,
    Verdict,
)
from bot.store.sqlite import SqliteStore

__all__ = [
    "DONE",
    "DRAFT",
    "INBOX_FAILED",
    "INBOX_IGNORED",
    "INBOX_NEW",
    "INBOX_ROUTED",
    "PENDING",
    "SENDING",
    "DeadLetters",
    "DeadRow",
    "Delivery",
    "Followup",
    "FollowupStore",
    "InboxStore",
    "LostAccess",
    "NewFollowup",
    "NewSubmission",
    "NewUpload",
    "OutboxRow",
    "OutboxStore",
    "PendingSubmission",
    "PolledItem",
    "PollingStore",
    "Post",
    "Route",
    "SettingsStore",
    "SlotStore",
    "Store",
    "StoreUnavailable",
    "SubmissionChanges",
    "SubmissionStore",
    "Subscription",
    "SubscriptionStore",
    "Upload",
    "UploadChanges",
    "UploadStore",
    "Verdict",
    "open_store",
]

SQLITE = "sqlite:///"
POSTGRESQL = ("postgresql://", "postgres://")


class StoreUnavailable(Exception):
    """`DATABASE_URL` names an engine this build cannot open."""


async def open_store(database_url: str) -> Store:
    """Open the database `database_url` names (`sqlite:///relative/file.db`,
    `sqlite:////absolute/file.db`) and bring its schema up to date."""
    if database_url.startswith(SQLITE) and database_url != SQLITE:
        return await SqliteStore.open(database_url.removeprefix(SQLITE))
    if database_url.startswith(POSTGRESQL):
        return await PostgresStore.open(database_url)
    raise StoreUnavailable(
        "DATABASE_URL: written sqlite:///path/to/file.db or postgresql://user@host/database"
        f" (got {database_url.split(':', 1)[0]}:...)"
    )
