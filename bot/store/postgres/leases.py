"""Work sharing between Herald processes on one PostgreSQL database, by leases.

A lease names its holder (a process's id) and expires at a time of the database's clock
(`clock_timestamp()`), so the processes' clocks need not agree. A holder renews its
lease well within `seconds` while it works; if it dies, another process takes the lease
over once it has expired. Acquiring, renewing and releasing are one statement each.

- Channel leases (`channel_leases`): which process delivers a channel's outbox lane.
  `claim_due_lanes` hands out the lanes with due announcements, never one lane to two
  callers at once (`FOR UPDATE SKIP LOCKED`), and a writer of outbox rows calls
  `notify_outbox` in its transaction to wake the delivery workers LISTENing on
  `OUTBOX_CHANNEL`.
- Job leases (`job_leases`): which process runs a named poller or retrier.

A released lease keeps its row, expired at once (`-infinity`), ready for the next taker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, TypeAlias

import asyncpg

Database: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
    " | asyncpg.Pool[asyncpg.Record]"
)

OUTBOX_CHANNEL = "herald_outbox"  # LISTEN/NOTIFY channel: outbox rows were queued


class LeaseSql(NamedTuple):
    """The statements over one lease table; the key columns are parameters $1.. in order,
    then the holder, then the lease's length in seconds."""

    acquire: str
    renew: str
    release: str


def lease_sql(table: str, keys: Sequence[str]) -> LeaseSql:
    """Build the statements for `table`, whose primary key is `keys`."""
    columns = ", ".join(keys)
    values = ", ".join(f"${n}" for n in range(1, len(keys) + 1))
    holder, seconds = f"${len(keys) + 1}", f"${len(keys) + 2}"
    match = " AND ".join(f"{key} = ${n}" for n, key in enumerate(keys, 1))
    expiry = f"clock_timestamp() + make_interval(secs => {seconds})"
    return LeaseSql(
        acquire=(
            f"INSERT INTO {table} AS lease ({columns}, holder, expires_at)"  # noqa: S608 - our own names
            f" VALUES ({values}, {holder}, {expiry})"
            f" ON CONFLICT ({columns}) DO UPDATE"
            " SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at"
            " WHERE lease.expires_at < clock_timestamp() OR lease.holder = EXCLUDED.holder"
            " RETURNING true"
        ),
        renew=(
            f"UPDATE {table} SET expires_at = {expiry}"  # noqa: S608 - our own names
            f" WHERE {match} AND holder = {holder} RETURNING true"
        ),
        release=(
            f"UPDATE {table} SET expires_at = '-infinity'"  # noqa: S608 - our own names
            f" WHERE {match} AND holder = {holder} RETURNING true"
        ),
    )


CHANNEL = lease_sql("channel_leases", ("platform", "channel_id"))
JOB = lease_sql("job_leases", ("name",))


async def acquire_channel_lease(
    db: Database, platform: str, channel_id: str, holder: str, seconds: float
) -> bool:
    """Take the channel's lane if free, expired or already ours, for `seconds` from now."""
    return await _run(db, CHANNEL.acquire, platform, channel_id, holder, float(seconds))


async def renew_channel_lease(
    db: Database, platform: str, channel_id: str, holder: str, seconds: float
) -> bool:
    """Extend our lease on the lane; False when it is no longer ours: stop delivering it."""
    return await _run(db, CHANNEL.renew, platform, channel_id, holder, float(seconds))


async def release_channel_lease(db: Database, platform: str, channel_id: str, holder: str) -> bool:
    """Give the lane up at once, if it was ours."""
    return await _run(db, CHANNEL.release, platform, channel_id, holder)


async def acquire_job(db: Database, name: str, holder: str, seconds: float) -> bool:
    """Become the one process running job `name`, if its lease is free, expired or ours."""
    return await _run(db, JOB.acquire, name, holder, float(seconds))


async def renew_job(db: Database, name: str, holder: str, seconds: float) -> bool:
    """Extend our lease on the job; False when another process has taken it over."""
    return await _run(db, JOB.renew, name, holder, float(seconds))


async def release_job(db: Database, name: str, holder: str) -> bool:
    """Give the job up at once, if it was ours."""
    return await _run(db, JOB.release, name, holder)


async def _run(db: Database, statement: str, *args: object) -> bool:
    return bool(await db.fetchval(statement, *args))


# Lanes with announcements due, on the given platforms: $1 now (epoch seconds, the clock
# that wrote `next_attempt`), $2 the platforms.
_DUE = (
    "SELECT 1 FROM outbox o WHERE o.platform = lane.platform"
    " AND o.channel_id = lane.channel_id AND o.state = 'pending' AND o.next_attempt <= $1"
)
# A lane seen for the first time gets its lease row, free, for the claim below to lock.
_NEW_LANES = (
    "INSERT INTO channel_leases (platform, channel_id, holder, expires_at)"  # noqa: S608 - our own text
    " SELECT DISTINCT platform, channel_id, '', '-infinity'::timestamptz FROM outbox lane"
    f" WHERE platform = ANY($2::text[]) AND EXISTS ({_DUE})"
    " AND NOT EXISTS (SELECT 1 FROM channel_leases l"
    " WHERE l.platform = lane.platform AND l.channel_id = lane.channel_id)"
    " ORDER BY platform, channel_id ON CONFLICT DO NOTHING"
)
# $3 holder, $4 seconds, $5 limit. Free lanes first (the longest expired), ours last.
_CLAIM = (
    "WITH free AS (SELECT platform, channel_id FROM channel_leases lane"  # noqa: S608 - our own text
    " WHERE (expires_at < clock_timestamp() OR holder = $3) AND platform = ANY($2::text[])"
    f" AND EXISTS ({_DUE})"
    " ORDER BY expires_at, platform, channel_id LIMIT $5 FOR UPDATE SKIP LOCKED)"
    " UPDATE channel_leases lease"
    " SET holder = $3, expires_at = clock_timestamp() + make_interval(secs => $4)"
    " FROM free WHERE lease.platform = free.platform AND lease.channel_id = free.channel_id"
    " RETURNING lease.platform, lease.channel_id"
)


async def claim_due_lanes(
    db: Database,
    holder: str,
    seconds: float,
    limit: int,
    *,
    platforms: Sequence[str],
    now: float,
) -> list[tuple[str, str]]:
    """Lease up to `limit` lanes (platform, channel_id) having outbox rows due by `now`.

    Only lanes whose lease is free, expired or already ours; concurrent callers never get
    the same lane. Call outside a transaction: the two statements commit on their own.
    """
    await db.execute(_NEW_LANES, now, list(platforms))
    rows = await db.fetch(_CLAIM, now, list(platforms), holder, float(seconds), limit)
    return sorted((row["platform"], row["channel_id"]) for row in rows)


async def notify_outbox(db: Database) -> None:
    """Wake the delivery workers; inside a transaction, sent when it commits."""
    await db.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
