"""One Herald per SQLite database: a second `python -m bot` refuses; a crash frees it."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.errors import StartError
from bot.instance import hold_instance_lock
from tests.conftest import spawn_bot

SECONDS = 20


async def started(tmp_path: Path) -> asyncio.subprocess.Process:
    """A `python -m bot` on tmp_path's database, once it says it is ready."""
    process = await spawn_bot(tmp_path)
    assert process.stderr is not None
    log = b""
    while b"Herald is ready" not in log:
        line = await asyncio.wait_for(process.stderr.readline(), SECONDS)
        assert line, f"Herald exited early: {log.decode()}"
        log += line
    return process


async def finished(process: asyncio.subprocess.Process) -> tuple[int | None, str]:
    """Its exit code and stderr; killed if it has not exited within SECONDS."""
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode, stderr.decode()


async def test_a_second_herald_on_the_same_database_exits_2_and_a_crash_frees_it(
    tmp_path: Path,
) -> None:
    first = await started(tmp_path)
    try:
        code, stderr = await finished(await spawn_bot(tmp_path))
        assert code == 2
        assert stderr == (
            f"herald: cannot start: another Herald (pid {first.pid}) is already running"
            f" on {tmp_path / 'herald.db'}; stop it first, or give this one its own"
            " DATABASE_URL\n"
        )
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()

    after_crash = await started(tmp_path)
    after_crash.send_signal(signal.SIGTERM)
    code, stderr = await finished(after_crash)
    assert code == 0, stderr


def test_a_lock_that_cannot_be_made_is_a_start_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the database's folder should be")
    with pytest.raises(StartError) as refused:
        hold_instance_lock(tmp_path / "taken" / "herald.db")
    assert str(refused.value) == (
        f"cannot create the lock file {tmp_path}/taken/herald.db.lock:"
        f" [Errno 17] File exists: '{tmp_path}/taken'"
    )


def test_the_lock_is_per_database(tmp_path: Path) -> None:
    first = hold_instance_lock(tmp_path / "one.db")
    second = hold_instance_lock(tmp_path / "two.db")
    assert first is not None
    assert second is not None
    first.close()
    second.close()
