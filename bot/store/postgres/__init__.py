"""Herald's storage on PostgreSQL (issue 13): the schema and its migrations, the leases
several processes share work by, and `PostgresStore`, every concern over one small
connection pool."""

from __future__ import annotations

from bot.store.postgres.coordination import PostgresCoordination
from bot.store.postgres.followups import PostgresFollowups
from bot.store.postgres.inbox import PostgresInbox
from bot.store.postgres.outbox import PostgresOutbox
from bot.store.postgres.polling import PostgresPolling
from bot.store.postgres.settings import PostgresSettings
from bot.store.postgres.submissions import PostgresSubmissions
from bot.store.postgres.subscriptions import PostgresSubscriptions
from bot.store.postgres.uploads import PostgresUploads

__all__ = ["PostgresStore"]


class PostgresStore(
    PostgresSettings,
    PostgresSubscriptions,
    PostgresInbox,
    PostgresOutbox,
    PostgresSubmissions,
    PostgresUploads,
    PostgresPolling,
    PostgresFollowups,
):
    """Every concern over one pool (see `PostgresBase`); opened by `PostgresStore.open`."""

    def coordination(self, holder: str, lease_seconds: float) -> PostgresCoordination:
        """Several processes share the database: lanes and jobs are leased in it."""
        return PostgresCoordination(self._pool, holder, lease_seconds)
