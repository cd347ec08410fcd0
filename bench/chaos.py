"""Benchmark: everything that goes wrong in a bad ten minutes, at once, compressed.

Herald (`python -m bot`, SQLite on disk) announces HacknPlan webhooks in
three Discord channels while:

- a burst of 300 work items arrives in one second for the first channel,
  and a trickle of one event a second (for the three channels in turn)
  runs through the whole scenario;
- the fake Discord answers 5 % of message creates and edits with a 500,
  half of them after the message was created (an ambiguous failure that
  discord.py retries with the same nonce);
- one event carries a "poison" title that Discord refuses in any form
  (50035 Invalid Form Body, embeds or plain text);
- the second channel loses Herald's access for a while (50013 Missing
  Permissions), then gets it back;
- Herald gets SIGTERM once during the burst and SIGKILL once later, and is
  started again on the same database each time.

The webhook sender retries whatever was not answered 2xx, as HacknPlan does.
At the end every accepted event must be visible exactly once in Discord, but
the poison one, which must be the only dead row.

    python3 tasks.py bench chaos
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bench.burst import Burst, send_burst
from bench.harness import (
    CHANNEL,
    Herald,
    Sender,
    body,
    discord_env,
    marker,
    shown,
    workdir,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.server import json_response

BURST = 300
TRICKLE = 90  # one a second, after the burst
ART_CHANNEL = CHANNEL + 1  # loses access for a while
QA_CHANNEL = CHANNEL + 2  # receives the poison event
BOARDS = {CHANNEL: "Sprint 4", ART_CHANNEL: "Art", QA_CHANNEL: "QA"}
FAILURE_RATE = 0.05
POISON = "POISON PILL"
POISON_AT = 30.0  # seconds into the scenario
NO_ACCESS = (15.0, 45.0)
SIGTERM_AT = 0.6
SIGKILL_AT = 60.0
DRAIN_WITHIN = 240.0


class ChaosDiscord(FakeDiscord):
    """The fake Discord, failing as a bad day's Discord does."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.injected = 0
        self.poison_refused = 0

    async def _create_message(self, request: web.Request) -> web.Response:
        return await self._chaos(request, super()._create_message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        return await self._chaos(request, super()._edit_message)

    async def _chaos(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.Response]]
    ) -> web.Response:
        if int(request.match_info["channel"]) in self.dm_channels:
            return await handler(request)
        if POISON in (await request.text()):
            self.poison_refused += 1
            return json_response({"message": "Invalid Form Body", "code": 50035, "errors": {}}, 400)
        roll = self.rng.random()
        if roll < FAILURE_RATE / 2:
            self.injected += 1
            return web.Response(status=500, text="upstream connect error")
        response = await handler(request)
        if roll < FAILURE_RATE and response.status < 300:
            self.injected += 1
            return web.Response(status=500, text="upstream reset after the write")
        return response


@dataclass
class Trickle:
    statuses: dict[int, int] = field(default_factory=dict)
    retried: int = 0


def trickle_number(index: int) -> int:
    return BURST + 1 + index


def trickle_board(index: int) -> str:
    return BOARDS[list(BOARDS)[index % len(BOARDS)]]


def poison_number() -> int:
    return trickle_number(int(POISON_AT) - 1)


async def send_trickle(url: str, started: float, trickle: Trickle) -> None:
    """One event a second; each is sent until it is answered 2xx."""
    sender = Sender(url)

    async def one(index: int) -> None:
        number = trickle_number(index)
        payload = json.loads(body(number, trickle_board(index)))
        if number == poison_number():
            payload["Title"] = f"{marker(number)} {POISON}"
            payload["Board"]["Name"] = "QA"
        data = json.dumps(payload).encode()
        while time.monotonic() - started < DRAIN_WITHIN:
            try:
                status, _ = await sender.send(data)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            if status in (200, 202):
                trickle.statuses[number] = status
                return
            trickle.retried += 1
            await asyncio.sleep(0.5)

    tasks = []
    try:
        for index in range(TRICKLE):
            await asyncio.sleep(max(0.0, started + 1.0 + index - time.monotonic()))
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    finally:
        await sender.close()


def dead_events(herald: Herald, numbers: list[int]) -> set[int]:
    """The events whose outbox rows Herald gave up on."""
    with sqlite3.connect(herald.database) as db:
        rows = db.execute("SELECT event FROM outbox WHERE state = 'dead'").fetchall()
    texts = [row[0] for row in rows]
    return {n for n in numbers if any(marker(n) in t for t in texts)}


async def at(started: float, second: float) -> None:
    await asyncio.sleep(max(0.0, started + second - time.monotonic()))


async def access_outage(discord: ChaosDiscord, started: float) -> None:
    await at(started, NO_ACCESS[0])
    discord.forbidden_channels.add(ART_CHANNEL)
    await at(started, NO_ACCESS[1])
    discord.forbidden_channels.discard(ART_CHANNEL)


async def main() -> None:
    discord = ChaosDiscord(random.Random(9))
    discord.channel_limit = (5, 5.0)
    await discord.start()
    herald = Herald(env=discord_env(discord), workdir=workdir())
    for channel, board in BOARDS.items():
        await herald.subscribe("hacknplan", channel, where=f"board:{board.lower()}")
    await herald.start()
    url = f"{herald.url}/webhooks/hacknplan"
    burst, trickle = Burst(), Trickle()
    notes: list[str] = []
    started = time.monotonic()
    sending = [
        asyncio.create_task(send_burst(url, burst, deadline=DRAIN_WITHIN)),
        asyncio.create_task(send_trickle(url, started, trickle)),
        asyncio.create_task(access_outage(discord, started)),
    ]
    try:
        await at(started, SIGTERM_AT)
        stopping = time.monotonic()
        await herald.stop()
        notes.append(
            f"SIGTERM at {stopping - started:.1f} s: stopped in {time.monotonic() - stopping:.1f} s"
        )
        await herald.start()
        await at(started, SIGKILL_AT)
        await herald.kill()
        notes.append(f"SIGKILL at {time.monotonic() - started:.1f} s")
        await herald.start()
        await asyncio.gather(*sending)
        await asyncio.wait_for(herald.drained(), DRAIN_WITHIN)
        finished = time.monotonic() - started
    finally:
        for task in sending:
            task.cancel()
        await herald.stop()
        await discord.stop()
    numbers = [*range(1, BURST + 1), *(trickle_number(i) for i in range(TRICKLE))]
    accepted = {**burst.statuses, **trickle.statuses}
    counts = shown(discord, numbers)
    dead = dead_events(herald, numbers)
    once = sum(counts[n] == 1 for n in accepted)
    missing = sorted(n for n in accepted if counts[n] == 0 and n not in dead)
    doubled = sorted(n for n in accepted if counts[n] > 1)
    print(
        f"chaos: {BURST} webhooks in 1 s + {TRICKLE} over {TRICKLE} s, 3 channels,"
        f" {FAILURE_RATE:.0%} Discord 500s ({discord.injected} injected), one poison event,"
        f" access lost {NO_ACCESS[0]:.0f}-{NO_ACCESS[1]:.0f} s"
    )
    for note in notes:
        print(note)
    print(f"everything delivered or dead after {finished:.1f} s")
    print(
        f"sender retries: {burst.retried + trickle.retried}; poison refusals: "
        f"{discord.poison_refused}"
    )
    print(
        f"accepted: {len(accepted)}/{len(numbers)}   delivered once: {once}   missing: "
        f"{len(missing)}   doubled: {len(doubled)}   dead: {len(dead)}"
        f" (expected 1, the poison: {'yes' if dead == {poison_number()} else 'NO'})"
    )
    if missing or doubled:
        print(f"missing: {missing[:20]}  doubled: {doubled[:20]}")


if __name__ == "__main__":
    asyncio.run(main())
