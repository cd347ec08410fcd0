"""The probes: /livez answers whatever happens, /readyz says 503 with the reasons while the
store or a platform is down, during start-up and while stopping, and 200 once all is back."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import health
from bot.config import Settings, load_settings
from bot.core import Core
from bot.platforms import discord as discord_platform
from bot.platforms import slack as slack_platform
from tests.conftest import StartHerald, database_file, discord_env
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack

READY = {"status": "ready"}
DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def not_ready(*reasons: str) -> dict[str, Any]:
    return {"status": "not ready", "reasons": list(reasons)}


async def probe(core: Core, path: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{core.server.port}{path}") as response,
    ):
        return response.status, await response.json()


async def until(core: Core, path: str, status: int, timeout: float = 10) -> dict[str, Any]:
    """The answer of `path` once it has `status`, asked every 50 ms."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await probe(core, path)
        if answer[0] == status:
            return answer[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} still answers {answer} after {timeout} s")
        await asyncio.sleep(0.05)


async def test_a_running_herald_is_alive_and_ready(herald: StartHerald) -> None:
    core = await herald()
    assert await probe(core, "/livez") == (200, {"status": "alive"})
    assert await probe(core, "/readyz") == (200, READY)


async def test_readyz_follows_the_discord_gateway(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await herald(**discord_env(discord))
    assert await probe(core, "/readyz") == (200, READY)

    await discord.drop_gateway()
    assert await until(core, "/readyz", 503) == not_ready("discord: disconnected")
    assert await probe(core, "/livez") == (200, {"status": "alive"})
    _, summary = await probe(core, "/healthz")
    assert summary["platforms"] == {"discord": "disconnected"}

    discord.reopen_gateway()
    assert await until(core, "/readyz", 200, timeout=15) == READY
    assert discord.resumes == 1, "the session was resumed, not identified again"
    assert len(discord.sockets) == 1


async def test_a_gateway_unreachable_at_start_up_is_waited_for(
    herald: StartHerald, discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord_platform, "READY_TIMEOUT", 0.5)
    monkeypatch.setattr(discord_platform, "CONNECT_RETRY_FIRST", 0.2)
    discord.gateway_open = False  # Discord's gateway is down as Herald boots
    core = await herald(**discord_env(discord))
    await asyncio.sleep(1.0)  # long enough for discord.py to give up on its first try
    assert await probe(core, "/readyz") == (503, not_ready("discord: connecting"))
    assert await probe(core, "/livez") == (200, {"status": "alive"})

    discord.reopen_gateway()
    assert await until(core, "/readyz", 200, timeout=15) == READY
    assert core.exit_code == 0, "Herald carried on rather than stopping"


async def test_readyz_follows_slack_socket_mode(
    herald: StartHerald, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_platform, "SOCKET_PING_SECONDS", 0.5)
    core = await herald(**slack.env("socket"))
    assert await probe(core, "/readyz") == (200, READY)

    await slack.drop_socket()
    assert await until(core, "/readyz", 503) == not_ready("slack: disconnected")
    assert await probe(core, "/livez") == (200, {"status": "alive"})

    slack.reopen_socket()
    assert await until(core, "/readyz", 200) == READY
    envelope = await slack.send_envelope("slash_commands", slack.slash_command("/subscriptions"))
    await slack.wait_for_ack(envelope)


async def test_slack_in_http_mode_is_ready_once_its_token_is_accepted(
    herald: StartHerald, slack: FakeSlack
) -> None:
    core = await herald(**slack.env("http"))
    assert await probe(core, "/readyz") == (200, READY)


async def test_readyz_says_starting_until_start_up_completes(
    herald_env: dict[str, str], discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**herald_env, **discord_env(discord)}.items():
        monkeypatch.setenv(name, value)
    core = Core(load_settings(Settings, env_file=None), env_file=None)
    discord.ready_sent.clear()  # Discord is slow to say READY: start-up waits for it
    starting = asyncio.create_task(core.start())
    try:
        await discord.wait_for("GET", "/gateway/bot")  # the HTTP server is up by then
        assert await until(core, "/readyz", 503) == not_ready("starting", "discord: connecting")
        assert await probe(core, "/livez") == (200, {"status": "alive"})
        discord.ready_sent.set()
        await asyncio.wait_for(starting, 15)
        assert await probe(core, "/readyz") == (200, READY)
    finally:
        starting.cancel()
        await core.close()


async def test_a_draining_herald_is_alive_but_not_ready(herald: StartHerald) -> None:
    core = await herald(SHUTDOWN_GRACE_SECONDS="1")
    await core.drain()
    assert await probe(core, "/readyz") == (503, not_ready("stopping"))
    assert await probe(core, "/livez") == (200, {"status": "alive"})
    refused, _ = await probe(core, "/metrics")
    assert refused == 503, "anything else is refused while draining"


async def test_a_closed_store_is_not_ready(herald: StartHerald) -> None:
    core = await herald()
    await core.store.close()
    assert await probe(core, "/readyz") == (503, not_ready("store: down"))
    assert await probe(core, "/livez") == (200, {"status": "alive"})


async def test_a_database_file_overwritten_underneath_is_not_ready(
    herald: StartHerald, tmp_path: Path
) -> None:
    core = await herald()
    assert await probe(core, "/readyz") == (200, READY)
    database = database_file(tmp_path)
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).write_bytes(bytes(32768))
    assert await until(core, "/readyz", 503, timeout=3) == not_ready("store: down")


async def test_livez_answers_at_once_while_the_store_is_slow(
    herald: StartHerald, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "STORE_ANSWER_SECONDS", 0.2)
    core = await herald()
    async with core.store.transaction() as db:
        await db.create_function("pause", 1, time.sleep)
        slow = asyncio.create_task(db.execute("SELECT pause(1.0)"))
        await asyncio.sleep(0.1)  # the store's one thread is busy from here on

        started = time.monotonic()
        assert await probe(core, "/livez") == (200, {"status": "alive"})
        assert time.monotonic() - started < 0.5
        assert await probe(core, "/readyz") == (503, not_ready("store: no answer within 0.2 s"))
        await slow
    assert await probe(core, "/readyz") == (200, READY)


def healthcheck_command() -> str:
    """The shell command of the Dockerfile's HEALTHCHECK, run by this test's Python."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("HEALTHCHECK")]
    command = line.split(" CMD ", 1)[1]
    return re.sub(r"^python\b", sys.executable, command.strip())


async def healthcheck(port: int) -> int:
    env = {"PATH": os.environ["PATH"], "HTTP_PORT": str(port)}
    process = await asyncio.create_subprocess_shell(healthcheck_command(), env=env)
    return await asyncio.wait_for(process.wait(), 10)


async def test_the_images_healthcheck_asks_livez(herald: StartHerald) -> None:
    assert "/livez" in healthcheck_command()
    core = await herald(SHUTDOWN_GRACE_SECONDS="1")
    port = core.server.port
    assert await healthcheck(port) == 0
    await core.drain()
    assert await healthcheck(port) == 0, "a Herald shutting down is not restarted"
    await core.close()
    assert await healthcheck(port) == 1
