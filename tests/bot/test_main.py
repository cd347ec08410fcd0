"""`python -m bot` as a process: graceful shutdown on SIGTERM and SIGINT, and `check`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.conftest import run_bot, spawn_bot


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_shuts_herald_down_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    process = await spawn_bot(tmp_path)
    assert process.stderr is not None
    log = b""
    while b"Herald is ready" not in log:
        line = await asyncio.wait_for(process.stderr.readline(), 20)
        assert line, f"Herald exited early: {log.decode()}"
        log += line

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
