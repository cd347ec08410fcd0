"""Brings a PostgreSQL database to the newest schema, one process at a time.

Every Herald process calls `migrate` at start. A session advisory lock serialises them:
the first applies what is pending, each migration in its own transaction together with
its row in `schema_migrations`; the others wait, then find nothing left to do.
"""

from __future__ import annotations

import logging

import asyncpg

from bot.store.postgres.schema import MIGRATIONS, VERSION_TABLE

log = logging.getLogger(__name__)

# The advisory lock key the migrating process holds: "Herald" then 1, as a 64-bit number.
MIGRATION_LOCK = 0x4865_7261_6C64_0001


async def migrate(conn: asyncpg.Connection[asyncpg.Record]) -> int:
    """Apply the pending migrations; return the database's schema version."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(VERSION_TABLE)
        version: int = await conn.fetchval(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
        )
        for number, sql in MIGRATIONS:
            if number <= version:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
            log.info("PostgreSQL database migrated to version %d", number)
            version = number
        return version
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
