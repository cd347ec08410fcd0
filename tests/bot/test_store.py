"""The store: migrations apply once, WAL is on, settings round-trip."""

from __future__ import annotations

from pathlib import Path

from bot.store import MIGRATIONS, Store


async def test_migrations_apply_once_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "herald.db"
    store = await Store.open(path)
    await store.set_setting("guild:1", "channels", "a,b")
    assert await store.schema_version() == MIGRATIONS[-1][0]
    await store.close()

    reopened = await Store.open(path)
    assert await reopened.get_setting("guild:1", "channels") == "a,b"
    assert await reopened.schema_version() == MIGRATIONS[-1][0]
    assert await reopened.ping()
    await reopened.close()
    assert (tmp_path / "nested" / "herald.db-wal").exists() or path.exists()


async def test_wal_mode_and_overwrite(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "h.db")
    async with store.transaction() as db, db.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"
    await store.set_setting("s", "k", "1")
    await store.set_setting("s", "k", "2")
    assert await store.get_setting("s", "k") == "2"
    assert await store.get_setting("s", "missing") is None
    await store.close()
    assert not await store.ping()
