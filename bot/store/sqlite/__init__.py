"""Herald's storage on SQLite: one file in WAL mode, one aiosqlite connection (one
writer), every write its own transaction, the inbox's writes grouped (`inbox`)."""

from __future__ import annotations

from bot.coordination import LocalCoordination
from bot.store.sqlite.followups import SqliteFollowups
from bot.store.sqlite.inbox import SqliteInbox
from bot.store.sqlite.outbox import SqliteOutbox
from bot.store.sqlite.polling import SqlitePolling
from bot.store.sqlite.settings import SqliteSettings
from bot.store.sqlite.submissions import SqliteSubmissions
from bot.store.sqlite.subscriptions import SqliteSubscriptions
from bot.store.sqlite.uploads import SqliteUploads

__all__ = ["SqliteStore"]


class SqliteStore(
    SqliteSettings,
    SqliteSubscriptions,
    SqliteInbox,
    SqliteOutbox,
    SqliteSubmissions,
    SqliteUploads,
    SqlitePolling,
    SqliteFollowups,
):
    """Every concern over one connection (see `SqliteBase`); opened by `SqliteStore.open`."""

    def coordination(self, holder: str, lease_seconds: float) -> LocalCoordination:
        """One process per SQLite database: all the work is its own."""
        return LocalCoordination(self, holder, lease_seconds)
