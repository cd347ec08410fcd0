"""The SQLite engine's own behaviour: its migrations, WAL, and a connection always left
outside a transaction (the engine-neutral contract is in test_store.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store.sqlite import SqliteStore, migrations
from bot.store.sqlite.migrations import MIGRATIONS


async def test_migrations_apply_once_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "herald.db"
    store = await SqliteStore.open(path)
    await store.set_setting("guild:1", "channels", "a,b")
    assert await store.schema_version() == MIGRATIONS[-1][0]
    await store.close()

    reopened = await SqliteStore.open(path)
    assert await reopened.get_setting("guild:1", "channels") == "a,b"
    assert await reopened.schema_version() == MIGRATIONS[-1][0]
    assert await reopened.ping()
    await reopened.close()
    assert (tmp_path / "nested" / "herald.db-wal").exists() or path.exists()


async def test_a_migration_merged_later_with_a_lower_number_is_still_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Branches take numbers up front and merge in any order: 6 may run before 5 exists."""
    path = tmp_path / "h.db"
    store = await SqliteStore.open(path)
    await store.close()
    later = (0, "CREATE TABLE merged_later (x INTEGER)")
    monkeypatch.setattr(migrations, "MIGRATIONS", [later, *MIGRATIONS])

    reopened = await SqliteStore.open(path)
    async with reopened.transaction() as db:
        await db.execute("INSERT INTO merged_later (x) VALUES (1)")
        async with db.execute("SELECT version FROM schema_migrations") as cursor:
            versions = sorted([row[0] async for row in cursor])
    await reopened.close()
    assert versions == sorted([0, *(v for v, _ in MIGRATIONS)])


async def test_migration_6_keeps_the_cooldown_log_as_reserved_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", [m for m in MIGRATIONS if m[0] < 6])
    old = await SqliteStore.open(path)
    async with old.transaction() as db:
        await db.execute(
            "INSERT INTO submission_log (platform, user_id, at) VALUES ('discord', '1', 100.0)"
        )
    await old.close()
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)

    store = await SqliteStore.open(path)
    assert await store.slots_since("discord", "1", 0) == [100.0]
    assert await store.reserve_slot("discord", "1", 101.0, 60.0, 2) == (2, True)
    assert await store.reserve_slot("discord", "1", 102.0, 60.0, 2) is None
    await store.close()


async def test_wal_mode_and_overwrite(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "h.db")
    async with store.transaction() as db, db.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"
    await store.set_setting("s", "k", "1")
    await store.set_setting("s", "k", "2")
    assert await store.get_setting("s", "k") == "2"
    assert await store.get_setting("s", "missing") is None
    await store.close()
    assert not await store.ping()


async def _writes_still_work(store: SqliteStore, path: Path) -> None:
    """The connection is outside any transaction: a write commits and others can see it."""
    await store.set_setting("s", "after", "yes")
    other = sqlite3.connect(path)
    try:
        row = other.execute("SELECT value FROM settings WHERE key = 'after'").fetchone()
    finally:
        other.close()
    assert row == ("yes",)


async def test_a_failed_commit_leaves_the_connection_outside_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    store = await SqliteStore.open(path)

    async def orphan_file() -> None:
        async with store.transaction() as db:
            # A deferred foreign key is checked at COMMIT, which then fails.
            await db.execute("PRAGMA defer_foreign_keys = ON")
            await db.execute(
                "INSERT INTO pending_files (submission_id, position, filename, data)"
                " VALUES (999, 0, 'a.png', x'00')"
            )

    try:
        with pytest.raises(sqlite3.IntegrityError):
            await orphan_file()
        await _writes_still_work(store, path)
    finally:
        await store.close()


INSERT = "INSERT INTO settings (scope, key, value) VALUES ('s', 'cancelled', 'x')"


@pytest.mark.parametrize("at", ["begin", "work", "commit"])
async def test_a_cancelled_transaction_leaves_the_connection_outside_a_transaction(
    tmp_path: Path, at: str
) -> None:
    """Cancelled while BEGIN IMMEDIATE, the work inside, or COMMIT is under way."""
    path = tmp_path / "h.db"
    store = await SqliteStore.open(path)
    reached = asyncio.Event()

    async def write() -> None:
        async with store.transaction() as db:
            await db.execute(INSERT)
            reached.set()
            if at == "work":
                await asyncio.Event().wait()

    try:
        writing = asyncio.create_task(write())
        if at == "begin":
            await asyncio.sleep(0)  # the task now waits on BEGIN IMMEDIATE
        else:
            await reached.wait()  # the task now waits on COMMIT, or inside
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        await _writes_still_work(store, path)
        expected = "x" if at == "commit" else None  # a COMMIT already sent still lands
        assert await store.get_setting("s", "cancelled") in (expected, None)
    finally:
        await store.close()


async def test_a_submission_saved_before_languages_speaks_english(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "h.db")
    try:
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO pending_submissions (id, service, kind, state, payload, summary,"
                " user_text, user, created_at) VALUES (1, 'betahub', 'bug', 'pending', '{}',"
                ' \'a bug\', \'text\', \'{"platform": "discord", "id": "1", "name": "a"}\', 0)'
            )
        found = await store.get_submission(1)
        assert found is not None
        assert (found.user.name, found.language, found.reference) == ("a", "en", None)
    finally:
        await store.close()
