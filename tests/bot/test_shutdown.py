"""SIGTERM while webhooks keep arriving: every acknowledged one is posted once after a restart."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.harness import SECRET, Herald, body, discord_env, shown
from tests.fakes.discord import FakeDiscord

SENDERS = 3
PAUSE_SECONDS = 0.02
SIGTERM_AFTER_SECONDS = 1.0
GRACE_SECONDS = "2"


@dataclass
class Sent:
    tried: set[int] = field(default_factory=set)
    acknowledged: set[int] = field(default_factory=set)
    refused: list[tuple[int, str | None]] = field(default_factory=list)


async def keep_sending(herald: Herald, first: int, sent: Sent) -> None:
    """Send HacknPlan webhooks one after another until Herald's process has ended."""
    headers = {"Authorization": f"Bearer {SECRET}", "X-HacknPlan-Event": "workitem.created"}
    number = first
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while herald.process is not None and herald.process.returncode is None:
            sent.tried.add(number)
            try:
                async with session.post(
                    f"{herald.url}/webhooks/hacknplan", data=body(number), headers=headers
                ) as response:
                    if 200 <= response.status < 300:
                        sent.acknowledged.add(number)
                    else:
                        sent.refused.append((response.status, response.headers.get("Retry-After")))
            except aiohttp.ClientError:
                pass  # Herald has closed its port: the loop ends with the process
            number += SENDERS
            await asyncio.sleep(PAUSE_SECONDS)


async def test_sigterm_while_webhooks_arrive_loses_and_doubles_nothing(tmp_path: Path):
    discord = FakeDiscord()
    discord.channel_limit = None  # Herald paces itself at 5 messages per 5 s per channel
    await discord.start()
    herald = Herald(
        env={**discord_env(discord), "SHUTDOWN_GRACE_SECONDS": GRACE_SECONDS}, workdir=tmp_path
    )
    try:
        await herald.subscribe("hacknplan")
        await herald.start()
        sent = Sent()
        senders = [asyncio.create_task(keep_sending(herald, n, sent)) for n in range(SENDERS)]
        await asyncio.sleep(SIGTERM_AFTER_SECONDS)
        assert herald.process is not None
        stopping = time.monotonic()
        herald.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(herald.process.wait(), 10) == 0
        stopped_in = time.monotonic() - stopping
        await asyncio.gather(*senders)

        await herald.start()
        await asyncio.wait_for(herald.drained(), 20)
    finally:
        await herald.stop()
        await discord.stop()

    assert sent.acknowledged
    assert (503, "5") in sent.refused, "while draining, webhooks get 503 with Retry-After"
    assert {status for status, _ in sent.refused} == {503}
    assert stopped_in < float(GRACE_SECONDS) + 3
    counts = shown(discord, sorted(sent.tried))
    assert {n: counts[n] for n in sent.acknowledged} == dict.fromkeys(sent.acknowledged, 1)
    assert max(counts.values()) == 1, "nothing is posted twice"
    log = (tmp_path / "herald.log").read_text()
    assert "Traceback" not in log
