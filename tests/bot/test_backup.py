"""`python -m bot backup PATH`: a consistent copy of the live database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.__main__ import main
from bot.backup import BackupError, backup
from bot.core import Core
from tests.announcing import sample
from tests.conftest import (
    HACKNPLAN_SECRET,
    StartHerald,
    bot_env,
    database_file,
    hacknplan_env,
    run_bot,
)

SENDERS = 8
BEFORE_BACKUP = 60


async def pour(
    core: Core, numbers: list[int], acked: dict[int, float], stop: asyncio.Event
) -> None:
    """Send HacknPlan webhooks (work items `numbers`) until `stop`; note when each was acked."""
    url = f"http://127.0.0.1:{core.server.port}/webhooks/hacknplan"
    headers = {
        "Authorization": f"Bearer {HACKNPLAN_SECRET}",
        "X-HacknPlan-Event": "workitem.created",
    }
    item = sample("hacknplan", "workitem.created")
    async with aiohttp.ClientSession() as session:
        for number in numbers:
            if stop.is_set():
                return
            body = {**item, "WorkItemId": number, "Title": f"Backup test {number}"}
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 200, await response.text()
            acked[number] = time.monotonic()


async def test_a_backup_taken_while_webhooks_pour_in_holds_every_row_committed_before(
    herald: StartHerald, tmp_path: Path
) -> None:
    core = await herald(**hacknplan_env())
    acked: dict[int, float] = {}
    stop = asyncio.Event()
    senders = [
        asyncio.create_task(pour(core, list(range(s, 100_000, SENDERS)), acked, stop))
        for s in range(SENDERS)
    ]
    try:
        while len(acked) < BEFORE_BACKUP:  # noqa: ASYNC110 - the senders fill it
            await asyncio.sleep(0.01)
        started = time.monotonic()
        backup = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "backup",
            str(tmp_path / "copies" / "herald-backup.db"),
            env=bot_env(tmp_path),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(backup.communicate(), 30)
        finished = time.monotonic()
    finally:
        stop.set()
        await asyncio.gather(*senders)

    assert backup.returncode == 0, stderr.decode()
    assert stdout.decode().startswith(f"backed up {database_file(tmp_path)} to ")
    during = [n for n, at in acked.items() if started < at < finished]
    assert during, "no webhook was stored while the backup ran"
    copy = sqlite3.connect(tmp_path / "copies" / "herald-backup.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        payloads = copy.execute("SELECT payload FROM inbox WHERE source = 'hacknplan'")
        saved = {json.loads(payload)["WorkItemId"] for (payload,) in payloads}
    finally:
        copy.close()
    assert {n for n, at in acked.items() if at <= started} <= saved
    assert saved <= set(acked)
    assert not list((tmp_path / "copies").glob(".*partial"))


def test_a_backup_never_makes_a_database(tmp_path: Path) -> None:
    missing = run_bot(tmp_path, "backup", str(tmp_path / "copy.db"))
    assert missing.returncode == 1
    assert missing.stderr == (
        f"herald: cannot back up: no database at {database_file(tmp_path)} to back up"
        " (check DATABASE_URL)\n"
    )
    assert not database_file(tmp_path).exists()
    with pytest.raises(SystemExit) as usage:
        main(["backup"])
    assert usage.value.code == 2


async def test_a_backup_never_writes_over_the_live_database(
    herald: StartHerald, tmp_path: Path
) -> None:
    await herald()
    database = database_file(tmp_path)
    for live in ("herald.db", "herald.db-wal", "herald.db.lock", "copies/../herald.db"):
        with pytest.raises(BackupError, match="is one of the live database's files"):
            backup(database, tmp_path / live)
