"""`python -m bot` as a process: graceful shutdown on SIGTERM and SIGINT, `check`, and
several processes on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.store import open_store
from bot.store.postgres.schema import MIGRATIONS
from tests.conftest import run_bot, spawn_bot


async def ready(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    """A `python -m bot` once it says it is ready."""
    process = await spawn_bot(tmp_path, **env)
    assert process.stderr is not None
    log = b""
    while b"Herald is ready" not in log:
        line = await asyncio.wait_for(process.stderr.readline(), 20)
        assert line, f"Herald exited early: {log.decode()}"
        log += line
    return process


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_shuts_herald_down_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    process = await ready(tmp_path)

    process.send_signal(sig)
    _, rest = await asyncio.wait_for(process.communicate(), 20)

    assert process.returncode == 0
    assert b"Traceback" not in rest
    assert (tmp_path / "herald.db").exists()


def test_check_lists_what_would_load(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "check")
    assert result.returncode == 0
    assert "cogs: subscriptions\n" in result.stdout
    assert "betahub: off (set BETAHUB_TOKEN, BETAHUB_PROJECT_ID)" in result.stdout

    result = run_bot(tmp_path, "check", BETAHUB_TOKEN="pat-x", BETAHUB_PROJECT_ID="pr-1")
    assert result.returncode == 0
    assert "cogs: betahub, followups, subscriptions\n" in result.stdout
    assert (
        "commands: /herald channels, /herald config language, /herald deliveries, /mine,"
        " /notifications, /report,"
        " /subscribe, /subscriptions,"
        " /suggest," in result.stdout
    )
    assert "pat-x" not in result.stdout + result.stderr


async def test_several_heralds_share_a_postgresql_database(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    first = await ready(tmp_path, DATABASE_URL=fresh_postgres_url)
    second = await ready(tmp_path, DATABASE_URL=fresh_postgres_url)
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, rest.decode()
        assert b"Traceback" not in rest

    store = await open_store(fresh_postgres_url)
    try:
        assert await store.schema_version() == MIGRATIONS[-1][0], "migrated once, by either"
    finally:
        await store.close()


def test_postgresql_is_backed_up_with_pg_dump_and_checked_without_its_password(
    tmp_path: Path,
) -> None:
    url = "postgresql://herald:s3cret@127.0.0.1:1/herald"
    result = run_bot(tmp_path, "backup", str(tmp_path / "copy.dump"), DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr == (
        "herald: cannot back up: `backup` copies an SQLite database; on PostgreSQL use"
        " pg_dump (pg_dump --format=custom --file=PATH DATABASE_URL)\n"
    )
    assert not (tmp_path / "copy.dump").exists()

    checked = run_bot(tmp_path, "check", DATABASE_URL=url)
    assert checked.returncode == 0, checked.stderr
    assert "settings ok; database postgresql://herald:***@127.0.0.1:1/herald\n" in checked.stdout
    assert "s3cret" not in checked.stdout + checked.stderr
