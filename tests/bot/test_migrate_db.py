"""`python -m bot migrate-db --to postgresql://…`: an SQLite database, filled by the real
SQLite store, copied into PostgreSQL by the real command, row for row."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import asyncpg

from bot.events import KnownItem
from bot.files import FileData
from bot.store import (
    INBOX_ROUTED,
    PENDING,
    NewFollowup,
    PolledItem,
    Post,
    Route,
    Verdict,
)
from bot.store.postgres.schema import MIGRATIONS
from bot.store.sqlite import SqliteStore
from tests.bot.test_instance import finished, started
from tests.bot.test_store import submission, upload
from tests.conftest import database_file, run_bot

LATEST = MIGRATIONS[-1][0]
UNREACHABLE = "postgresql://h:s3cret@127.0.0.1:1/herald"  # nothing listens on port 1
COPIED = {
    "settings",
    "pending_submissions",
    "pending_files",
    "submission_slots",
    "subscriptions",
    "inbox",
    "items",
    "outbox",
    "posts",
    "poll_cursors",
    "poll_items",
    "channel_access",
    "followups",
    "pending_uploads",
}


async def fill(database: Path) -> None:
    """A database that has seen a little of everything, the newest subscription and
    submission removed."""
    store = await SqliteStore.open(database)
    try:
        await store.set_setting("channel:discord:c1", "language", "fr")
        first = await store.add_subscription("discord", "g1", "c1", "svc", {"kinds": ["b"]}, "7")
        second = await store.add_subscription("slack", "T1", "C1", "svc", {}, None)
        removed = await store.add_subscription("discord", "g1", "c2", "svc", {}, None)
        assert await store.remove_subscriptions("discord", "g1", [removed]) == 1

        delivery = await store.add_delivery("svc", "build", "d1", '{"n": 1}')
        assert delivery is not None
        routes = (Route("discord", "c1", first), Route("slack", "C1", second, language="de"))
        verdict = Verdict(
            delivery,
            INBOX_ROUTED,
            event={"item": "svc:1", "title": "Build"},
            routes=routes,
            known=("svc:1", KnownItem("Build", "https://x/1", {"n": 1})),
            translations={"de": {"item": "svc:1", "title": "Bau"}},
        )
        await store.record_routing([verdict])
        await store.add_delivery("svc", "build", "d2", "{}")  # not routed yet
        (row,) = await store.lane_rows("discord", "c1", time.time())
        await store.complete([row.id], Post("d1:card", "discord", "c1", "m1", item="svc:1"))
        await store.access_lost("slack", "C1", "channel_not_found")

        files = [FileData("crash.png", "image/png", b"\x89PNG\x00\xff\x01")]
        submission_id = await store.add_submission(submission(PENDING, time.time()), files)
        await store.update_submission(submission_id, unsure=True, attempts=2)
        await store.delete_submission(await store.add_submission(submission(PENDING)))
        assert await store.reserve_slot("discord", "42", time.time(), 60.0, 3, submission_id)

        followup = await store.add_followup(
            NewFollowup("betahub", "bug", "b-1", "https://x/b-1", "Crash", "discord", "42")
        )
        assert await store.record_followup_status(
            followup, None, "open", notice=True, closed_at=None
        )
        await store.add_followup(
            NewFollowup("betahub", "idea", "i-1", None, "Idea", "discord", "42", False, "fr")
        )
        await store.add_uploads([upload(0)])
        await store.record_polled("svc", "p/builds", [PolledItem("b1", "success", {"n": 1})])
    finally:
        await store.close()


def sqlite_rows(database: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A table's column names and rows, in a stable order."""
    source = sqlite3.connect(database)
    try:
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
        rows = source.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
    finally:
        source.close()
    return columns, sorted(rows, key=repr)


async def postgres_rows(
    conn: asyncpg.Connection, table: str, columns: list[str]
) -> list[tuple[Any, ...]]:
    """The same columns from PostgreSQL, booleans as SQLite's 0/1."""
    names = ", ".join(f'"{column}"' for column in columns)
    records = await conn.fetch(f"SELECT {names} FROM {table}")  # noqa: S608
    normal = [tuple(int(v) if isinstance(v, bool) else v for v in record) for record in records]
    return sorted(normal, key=repr)


async def next_id(conn: asyncpg.Connection, table: str) -> int:
    following: int = await conn.fetchval("SELECT nextval(pg_get_serial_sequence($1, 'id'))", table)
    return following


def migrate_db(tmp_path: Path, url: str) -> tuple[int, str, str]:
    result = run_bot(tmp_path, "migrate-db", "--to", url)
    return result.returncode, result.stdout, result.stderr


async def test_every_row_is_copied_and_ids_continue(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    database = database_file(tmp_path)
    await fill(database)

    code, out, err = await asyncio.to_thread(migrate_db, tmp_path, fresh_postgres_url)
    assert code == 0, err
    assert "subscriptions: 2 rows\n" in out
    assert "outbox: 2 rows\n" in out
    assert f"from {database} to postgresql://herald:***@" in out

    conn = await asyncpg.connect(fresh_postgres_url)
    try:
        source = sqlite3.connect(database)
        tables = {
            name
            for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        handed_out = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        stored = [key for (key,) in source.execute("SELECT key FROM posts ORDER BY rowid")]
        source.close()
        assert tables - {"schema_migrations", "sqlite_sequence"} == COPIED
        posts = await conn.fetch("SELECT key FROM posts ORDER BY rowid")
        assert [r["key"] for r in posts] == stored, "a channel's latest card stays the latest"
        for table in sorted(COPIED):
            columns, rows = sqlite_rows(database, table)
            assert rows, f"the test leaves {table} empty"
            assert await postgres_rows(conn, table, columns) == rows, table
        (flag,) = await conn.fetchrow("SELECT unsure FROM pending_submissions")
        assert flag is True
        (data,) = await conn.fetchrow("SELECT data FROM pending_files")
        assert data == b"\x89PNG\x00\xff\x01"
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == LATEST

        # Every identity continues after SQLite's highest id; where SQLite never gives an
        # id twice (AUTOINCREMENT), after the highest it gave, a removed row's included.
        assert handed_out == {"pending_submissions": 2, "pending_uploads": 1}
        assert await next_id(conn, "pending_submissions") == 3
        new_id = await conn.fetchval(
            "INSERT INTO subscriptions (platform, scope, channel_id, service, filter)"
            " VALUES ('discord', 'g1', 'c3', 'svc', '{}') RETURNING id"
        )
        assert new_id == 3, "after the 2 kept; SQLite would give 3 again too"
        for table in ("submission_slots", "inbox", "outbox", "followups", "pending_uploads"):
            columns, rows = sqlite_rows(database, table)
            highest = max(row[columns.index("id")] for row in rows)
            assert await next_id(conn, table) == highest + 1, table
    finally:
        await conn.close()

    code, out, err = await asyncio.to_thread(migrate_db, tmp_path, fresh_postgres_url)
    assert (code, out) == (3, "")
    assert "the PostgreSQL database already holds data (table settings)" in err


async def test_a_running_herald_keeps_its_database(tmp_path: Path, postgres_url: str) -> None:
    process = await started(tmp_path)
    try:
        code, out, err = await asyncio.to_thread(migrate_db, tmp_path, postgres_url)
    finally:
        process.send_signal(signal.SIGTERM)
        assert (await finished(process))[0] == 0
    assert (code, out) == (3, "")
    assert f"a Herald (pid {process.pid}) is running on {database_file(tmp_path)}" in err
    assert "stop it first" in err


def test_what_it_cannot_copy_is_said(tmp_path: Path) -> None:
    missing = run_bot(tmp_path, "migrate-db", "--to", UNREACHABLE)
    assert missing.returncode == 2
    assert "no SQLite database at" in missing.stderr

    database_file(tmp_path).write_bytes(b"not a database")
    garbage = run_bot(tmp_path, "migrate-db", "--to", UNREACHABLE)
    assert garbage.returncode == 1
    assert "cannot read the SQLite database" in garbage.stderr
    assert "Traceback" not in garbage.stderr

    database_file(tmp_path).unlink()
    asyncio.run(fill(database_file(tmp_path)))
    unreachable = run_bot(tmp_path, "migrate-db", "--to", UNREACHABLE)
    assert unreachable.returncode == 1
    assert "cannot connect to postgresql://h:***@127.0.0.1:1/herald" in unreachable.stderr
    assert "s3cret" not in unreachable.stderr

    wrong = run_bot(tmp_path, "migrate-db", "--to", "mysql://127.0.0.1/herald")
    assert wrong.returncode == 2
    assert "--to takes a postgresql:// URL" in wrong.stderr

    source = run_bot(
        tmp_path, "migrate-db", "--to", "postgresql://x", DATABASE_URL="postgresql://y"
    )
    assert source.returncode == 2
    assert "migrate-db reads SQLite" in source.stderr

    alone = run_bot(tmp_path, "migrate-db")
    assert alone.returncode == 2
    assert "--to URL goes with `migrate-db`" in alone.stderr
